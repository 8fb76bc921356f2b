/* SPDX-License-Identifier: MIT */
/*
 * libconfig_lazy.c - libconfig, loaded only when a config file is actually parsed.
 *
 * Linking libconfig.so into the preload made every process on the machine load one more
 * library at start (about 40 µs here), although most never open a socket and so never read
 * the config. Instead this module defines the handful of libconfig functions config.c calls,
 * with libconfig's own names and hidden visibility (the version script keeps them local, so a
 * program's own libconfig is untouched), and binds them with dlopen() on first use. If
 * libconfig cannot be loaded, config_read_string() fails and the config is reported as
 * unusable: one warning, plain TCP.
 */
#include <dlfcn.h>
#include <libconfig.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "mptcpize-config.h"

#define LIBCONFIG_FUNCTIONS(X)                                                                     \
	X(void, config_init, (config_t * c), (c))                                                  \
	X(void, config_destroy, (config_t * c), (c))                                               \
	X(int, config_read_string, (config_t * c, const char *s), (c, s))                          \
	X(int, config_setting_length, (const config_setting_t *s), (s))                            \
	X(config_setting_t *, config_setting_get_elem, (const config_setting_t *s, unsigned int i),  \
	  (s, i))                                                                                  \
	X(const char *, config_setting_get_string, (const config_setting_t *s), (s))               \
	X(int, config_setting_get_int, (const config_setting_t *s), (s))                           \
	X(int, config_setting_get_bool, (const config_setting_t *s), (s))

#define DECLARE_POINTER(ret, name, params, args) static ret(*lc_##name) params;
LIBCONFIG_FUNCTIONS(DECLARE_POINTER)
#undef DECLARE_POINTER

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static bool loaded;

static void load(void)
{
	void *h = dlopen(MPTCPIZE_LIBCONFIG_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!h)
		return;
#define BIND(ret, name, params, args)                                                              \
	if (!(lc_##name = (ret(*) params)dlsym(h, #name)))                                         \
		return;
	LIBCONFIG_FUNCTIONS(BIND)
#undef BIND
	loaded = true;
}

static bool ready(void)
{
	pthread_once(&load_once, load);
	return loaded;
}

/* config_init() comes first in every use: when libconfig is missing it leaves the struct
 * zeroed, config_read_string() then fails and the other calls are never reached. */
void config_init(config_t *c)
{
	if (ready())
		lc_config_init(c);
	else
		*c = (config_t){0};
}

void config_destroy(config_t *c)
{
	if (ready())
		lc_config_destroy(c);
}

int config_read_string(config_t *c, const char *s)
{
	if (!ready()) {
		c->error_text = "libconfig (" MPTCPIZE_LIBCONFIG_SONAME ") could not be loaded";
		c->error_line = 0;
		return CONFIG_FALSE;
	}
	return lc_config_read_string(c, s);
}

#define FORWARD(ret, name, params, args)                                                           \
	ret name params                                                                            \
	{                                                                                          \
		return lc_##name args;                                                             \
	}
FORWARD(int, config_setting_length, (const config_setting_t *s), (s))
FORWARD(config_setting_t *, config_setting_get_elem, (const config_setting_t *s, unsigned int i),
	(s, i))
FORWARD(const char *, config_setting_get_string, (const config_setting_t *s), (s))
FORWARD(int, config_setting_get_int, (const config_setting_t *s), (s))
FORWARD(int, config_setting_get_bool, (const config_setting_t *s), (s))
#undef FORWARD
