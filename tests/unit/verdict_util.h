/* SPDX-License-Identifier: MIT */
/*
 * verdict_util.h - helpers of the verdict unit tests (test_verdict*.c): a scenario (environment,
 * secure-exec, a chroot root for the system file) decided in a forked child, which reports the
 * verdict, the rules state, two option policies and every destination/listener check for a
 * fixed list of addresses and ports; and rule files compiled to images as `mptcpize check
 * --compile` does.
 */
#ifndef TESTS_UNIT_VERDICT_UTIL_H
#define TESTS_UNIT_VERDICT_UTIL_H

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "capture.h"
#include "config.h"
#include "log.h"
#include "ruleimg.h"
#include "ruleimg_build.h"
#include "settings.h"
#include "sockopt_policy.h"
#include "verdict.h"

static const char *const *test_env; /* "NAME=value" entries, NULL-terminated */
static inline const char *get_env(const char *name)
{
	size_t n = strlen(name);
	for (const char *const *e = test_env; e && *e; e++)
		if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
			return *e + n + 1;
	return NULL;
}

static const struct {
	const char *addr;
	uint16_t port;
} dests[] = {
	{"127.0.0.1", 80}, {"127.0.0.1", 9}, {"127.9.9.9", 80}, {"::1", 80},
	{"::ffff:127.0.0.1", 80}, {"198.18.0.1", 80}, {"198.18.0.9", 80}, {"10.0.0.1", 80},
	{"fd00::1", 80}, {"2001:db8::1", 80},
};
#define NDESTS (sizeof(dests) / sizeof(dests[0]))
enum { D_LO, D_LO_9, D_LO_OTHER, D_LO6, D_LO_MAPPED, D_NET, D_NET_9, D_TEN, D_FD00, D_DOC };
static const uint16_t lports[] = {0, 22, 80, 8050, 8100};
#define NLPORTS (sizeof(lports) / sizeof(lports[0]))

struct outcome {
	int wants, again, state;
	int uto, ttl; /* policies of TCP_USER_TIMEOUT and IP_TTL after the verdict */
	struct {
		int mptcp, why, has_entry;
	} dest[NDESTS];
	int listen[NLPORTS];
	int unix_dest;
};

struct scenario {
	const char *const *env;
	bool secure;      /* a secure-exec process: the environment is ignored */
	const char *root; /* chroot here first (the system file is ROOT/etc/mptcpize.conf) */
	bool debugging;   /* MPTCPIZE_DEBUG set: system warnings to stderr */
};

static inline int decide_in_child(void *arg, int out)
{
	const struct scenario *s = arg;
	if (s->root && !enter_root(s->root))
		return 10;
	test_env = s->env;
	shim_settings_parse(&shim_settings, s->secure, get_env);
	shim_log_threshold = SHIM_LOG_WARN;
	shim_log_debugging = s->debugging;
	struct outcome o;
	memset(&o, 0, sizeof(o));
	o.wants = shim_verdict_process_wants_mptcp();
	shim_settings.force = o.wants ? SHIM_FORCE_TCP : SHIM_FORCE_MPTCP; /* too late to matter */
	o.again = shim_verdict_process_wants_mptcp();
	o.state = shim_verdict_rules_state_code();
	o.uto = shim_sockopt_policy(IPPROTO_TCP, TCP_USER_TIMEOUT);
	o.ttl = shim_sockopt_policy(IPPROTO_IP, IP_TTL);
	for (size_t i = 0; i < NDESTS; i++) {
		struct sockaddr_storage ss;
		memset(&ss, 0, sizeof(ss));
		socklen_t len;
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		if (inet_pton(AF_INET, dests[i].addr, &s4->sin_addr) == 1) {
			s4->sin_family = AF_INET;
			s4->sin_port = htons(dests[i].port);
			len = sizeof(*s4);
		} else if (inet_pton(AF_INET6, dests[i].addr, &s6->sin6_addr) == 1) {
			s6->sin6_family = AF_INET6;
			s6->sin6_port = htons(dests[i].port);
			len = sizeof(*s6);
		} else {
			return 12;
		}
		struct shim_decision d = shim_verdict_destination((struct sockaddr *)&ss, len);
		o.dest[i].mptcp = d.mptcp;
		o.dest[i].why = d.why;
		o.dest[i].has_entry = d.entry != NULL;
	}
	for (size_t i = 0; i < NLPORTS; i++)
		o.listen[i] = shim_verdict_listener_wants_mptcp(lports[i]);
	struct sockaddr_un sun = {.sun_family = AF_UNIX, .sun_path = "/x"};
	o.unix_dest = shim_verdict_destination((struct sockaddr *)&sun, sizeof(sun)).mptcp;
	return write(out, &o, sizeof(o)) == sizeof(o) ? 0 : 11;
}

/* Runs the scenario in a child; err gets its stderr. */
static inline void decide(const struct scenario *s, struct outcome *o, char *err, size_t errsize)
{
	char buf[sizeof(*o) + 1];
	memset(buf, 0, sizeof(buf));
	int rc = run_child(decide_in_child, (void *)s, buf, sizeof(buf), err, errsize);
	cr_assert_eq(rc, 0, "child exited %d; stderr: %s", rc, err);
	memcpy(o, buf, sizeof(*o));
	cr_expect_eq(o->again, o->wants, "the verdict changed after it was decided");
}

/* A rule file compiled to DIR/NAME.img as `mptcpize check --compile` does. */
static struct shim_config cfg;
static inline void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f, "%s", path);
	cr_assert_eq(fputs(text, f) >= 0, 1);
	cr_assert_eq(fclose(f), 0);
}

static inline void compile(const char *src)
{
	struct shim_config_report rep = {0};
	struct stat st;
	cr_assert_eq(shim_config_load(&cfg, src, false, &rep, &st), SHIM_CONFIG_OK, "%s", rep.first);
	size_t len;
	void *bytes = ruleimg_build(&cfg.rs, &st, &len);
	cr_assert_not_null(bytes);
	char img[200];
	snprintf(img, sizeof(img), "%s%s", src, SHIM_RULEIMG_SUFFIX);
	FILE *f = fopen(img, "w");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(bytes, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
	free(bytes);
}

#endif
