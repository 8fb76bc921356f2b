/* SPDX-License-Identifier: MIT */
/*
 * sockopt_policy.c - the option table and its run-time overrides; see sockopt_policy.h.
 * The reasons here are the documentation: `mptcpize options` prints this table.
 */
#include "sockopt_policy.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>

#define FB SHIM_SOCKOPT_FALLBACK
#define EM SHIM_SOCKOPT_EMULATE
#define FE SHIM_SOCKOPT_FALLBACK_OR_EMULATE
#define PS SHIM_SOCKOPT_PASS
/* Flags are written without the SHIM_SOCKOPT_F_ prefix in the .def file. */
#define EINVAL_REFUSAL SHIM_SOCKOPT_F_EINVAL_REFUSAL
#define FORGETS SHIM_SOCKOPT_F_FORGETS
#define GET_ONLY SHIM_SOCKOPT_F_GET_ONLY
#define TCP_UNCONNECTED_ONLY SHIM_SOCKOPT_F_TCP_UNCONNECTED_ONLY
#define READS_LIVE SHIM_SOCKOPT_F_READS_LIVE
#define INERT SHIM_SOCKOPT_F_INERT
#define VALIDATE SHIM_SOCKOPT_F_VALIDATE
#define WHOLE_CONNECTION SHIM_SOCKOPT_F_WHOLE_CONNECTION
#define TCP_REFUSES SHIM_SOCKOPT_F_TCP_REFUSES
#define NO_SCRATCH SHIM_SOCKOPT_F_NO_SCRATCH
#define TCP_EPERM_LISTENING SHIM_SOCKOPT_F_TCP_EPERM_LISTENING
#define TCP_EPERM_CONNECTED SHIM_SOCKOPT_F_TCP_EPERM_CONNECTED
#define GLOBAL SHIM_SOCKOPT_F_GLOBAL
#define TCP_ZERO_CLOSED_ONLY SHIM_SOCKOPT_F_TCP_ZERO_CLOSED_ONLY

#include "sockopt_table.def"

/* Entry ids, in table order: the four levels one after the other. */
#define OPT_ID(name, num, policy, flags, meaning, reason) OPTID_##name,
enum {
	SHIM_SOCKOPTS_SOCKET(OPT_ID) SHIM_SOCKOPTS_IP(OPT_ID) SHIM_SOCKOPTS_IPV6(OPT_ID)
		SHIM_SOCKOPTS_TCP(OPT_ID) NOPTS
};

/* The texts, laid out as one struct of char arrays so that each text's place is a constant
 * (offsetof), not a pointer the dynamic linker would have to fix up. */
#define OPT_TEXT_FIELDS(name, num, policy, flags, meaning, reason)                                 \
	char meaning_##name[sizeof(meaning)];                                                      \
	char reason_##name[sizeof(reason)];
struct sockopt_texts {
	SHIM_SOCKOPTS_SOCKET(OPT_TEXT_FIELDS) SHIM_SOCKOPTS_IP(OPT_TEXT_FIELDS)
		SHIM_SOCKOPTS_IPV6(OPT_TEXT_FIELDS) SHIM_SOCKOPTS_TCP(OPT_TEXT_FIELDS)
};
/* Never instantiated: a name that does not fit, with its NUL, makes an array of negative size. */
#define OPT_NAME_FITS(name, num, policy, flags, meaning, reason)                                   \
	char fits_##name[SHIM_SOCKOPT_NAME_SIZE - sizeof(#name)];
struct sockopt_names_fit {
	SHIM_SOCKOPTS_SOCKET(OPT_NAME_FITS) SHIM_SOCKOPTS_IP(OPT_NAME_FITS)
		SHIM_SOCKOPTS_IPV6(OPT_NAME_FITS) SHIM_SOCKOPTS_TCP(OPT_NAME_FITS)
};
#define OPT_TEXT_INIT(name, num, policy, flags, meaning, reason) meaning, reason,
static const struct sockopt_texts texts = {
	SHIM_SOCKOPTS_SOCKET(OPT_TEXT_INIT) SHIM_SOCKOPTS_IP(OPT_TEXT_INIT)
		SHIM_SOCKOPTS_IPV6(OPT_TEXT_INIT) SHIM_SOCKOPTS_TCP(OPT_TEXT_INIT)};

/* Stringised and pasted at the first expansion: SO_DEBUG & co. are macros too. */
#define OPT_ENTRY(level, name_text, num, policy, flags, meaning_at, reason_at)                     \
	{level, num, name_text, policy, flags, meaning_at, reason_at},
#define OPT_AT(field) offsetof(struct sockopt_texts, field)
#define OPT_SOCKET(name, num, policy, flags, meaning, reason)                                      \
	OPT_ENTRY(SOL_SOCKET, #name, num, policy, flags, OPT_AT(meaning_##name), OPT_AT(reason_##name))
#define OPT_IP(name, num, policy, flags, meaning, reason)                                          \
	OPT_ENTRY(IPPROTO_IP, #name, num, policy, flags, OPT_AT(meaning_##name), OPT_AT(reason_##name))
#define OPT_IPV6(name, num, policy, flags, meaning, reason)                                        \
	OPT_ENTRY(IPPROTO_IPV6, #name, num, policy, flags, OPT_AT(meaning_##name),                 \
		  OPT_AT(reason_##name))
#define OPT_TCP(name, num, policy, flags, meaning, reason)                                         \
	OPT_ENTRY(IPPROTO_TCP, #name, num, policy, flags, OPT_AT(meaning_##name), OPT_AT(reason_##name))

const struct shim_sockopt_info shim_sockopt_table[] = {
	SHIM_SOCKOPTS_SOCKET(OPT_SOCKET) SHIM_SOCKOPTS_IP(OPT_IP) SHIM_SOCKOPTS_IPV6(OPT_IPV6)
		SHIM_SOCKOPTS_TCP(OPT_TCP){0, 0, "", 0, 0, 0, 0},
};
const unsigned int shim_sockopt_count = NOPTS;

const char *shim_sockopt_meaning(const struct shim_sockopt_info *info)
{
	return (const char *)&texts + info->meaning_at;
}

const char *shim_sockopt_reason(const struct shim_sockopt_info *info)
{
	return (const char *)&texts + info->reason_at;
}

/* Per level: number -> entry id + 1 (0: not in the table). A number defined twice at one level
 * is a compile error (-Woverride-init). */
#define OPT_INDEX(name, num, policy, flags, meaning, reason) [num] = OPTID_##name + 1,
static const unsigned short index_socket[] = {SHIM_SOCKOPTS_SOCKET(OPT_INDEX)};
static const unsigned short index_ip[] = {SHIM_SOCKOPTS_IP(OPT_INDEX)};
static const unsigned short index_ipv6[] = {SHIM_SOCKOPTS_IPV6(OPT_INDEX)};
static const unsigned short index_tcp[] = {SHIM_SOCKOPTS_TCP(OPT_INDEX)};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const unsigned short *level_index(int level, size_t *n)
{
	switch (level) {
	case SOL_SOCKET:
		*n = COUNT(index_socket);
		return index_socket;
	case IPPROTO_IP:
		*n = COUNT(index_ip);
		return index_ip;
	case IPPROTO_IPV6:
		*n = COUNT(index_ipv6);
		return index_ipv6;
	case IPPROTO_TCP:
		*n = COUNT(index_tcp);
		return index_tcp;
	default:
		*n = 0;
		return NULL;
	}
}

int shim_sockopt_max_number(int level)
{
	size_t n;
	return level_index(level, &n) ? (int)n - 1 : -1;
}

/* Overrides: 0 = none, else policy + 1. Written while the config loads, read lock-free. */
static unsigned char overrides[NOPTS];
static unsigned char unknown_override; /* for options not in the table */

const struct shim_sockopt_info *shim_sockopt_lookup(int level, int optname)
{
	size_t n;
	const unsigned short *index = level_index(level, &n);
	if (!index || (unsigned int)optname >= n || !index[optname])
		return NULL;
	return &shim_sockopt_table[index[optname] - 1];
}

const struct shim_sockopt_info *shim_sockopt_lookup_name(const char *name)
{
	for (size_t i = 0; i < NOPTS; i++)
		if (strcmp(shim_sockopt_table[i].name, name) == 0)
			return &shim_sockopt_table[i];
	return NULL;
}

enum shim_sockopt_policy shim_sockopt_policy(int level, int optname)
{
	const struct shim_sockopt_info *info = shim_sockopt_lookup(level, optname);
	unsigned char o = info ? __atomic_load_n(&overrides[info - shim_sockopt_table], __ATOMIC_RELAXED)
			       : __atomic_load_n(&unknown_override, __ATOMIC_RELAXED);
	if (o)
		return (enum shim_sockopt_policy)(o - 1);
	return info ? info->policy : SHIM_SOCKOPT_FALLBACK_OR_EMULATE;
}

static const char *const policy_names[] = {
	[SHIM_SOCKOPT_FALLBACK] = "fallback",
	[SHIM_SOCKOPT_EMULATE] = "emulate",
	[SHIM_SOCKOPT_FALLBACK_OR_EMULATE] = "fallback-or-emulate",
	[SHIM_SOCKOPT_PASS] = "pass",
};

const char *shim_sockopt_policy_name(enum shim_sockopt_policy policy)
{
	return (unsigned int)policy < 4 ? policy_names[policy] : "?";
}

bool shim_sockopt_policy_parse(const char *text, enum shim_sockopt_policy *out)
{
	for (unsigned int i = 0; i < 4; i++)
		if (strcmp(text, policy_names[i]) == 0) {
			*out = (enum shim_sockopt_policy)i;
			return true;
		}
	return false;
}

bool shim_sockopt_set_override(const char *name, const char *policy)
{
	enum shim_sockopt_policy p;
	if (!shim_sockopt_policy_parse(policy, &p))
		return false;
	if (strcmp(name, "default") == 0) {
		__atomic_store_n(&unknown_override, (unsigned char)(p + 1), __ATOMIC_RELAXED);
		return true;
	}
	const struct shim_sockopt_info *info = shim_sockopt_lookup_name(name);
	if (!info)
		return false;
	__atomic_store_n(&overrides[info - shim_sockopt_table], (unsigned char)(p + 1),
			 __ATOMIC_RELAXED);
	return true;
}

void shim_sockopt_reset_overrides(void)
{
	memset(overrides, 0, sizeof(overrides));
	unknown_override = 0;
}

int shim_sockopt_apply_overrides(const char *spec, const char **bad)
{
	/* Validate everything first so a bad spec changes nothing. */
	for (int pass = 0; pass < 2; pass++) {
		int applied = 0;
		const char *p = spec;
		while (*p) {
			const char *end = strchr(p, ',');
			size_t n = end ? (size_t)(end - p) : strlen(p);
			char item[96];
			if (n == 0 || n >= sizeof(item)) {
				*bad = p;
				return -1;
			}
			memcpy(item, p, n);
			item[n] = '\0';
			char *eq = strchr(item, '=');
			enum shim_sockopt_policy pol;
			if (!eq || !shim_sockopt_policy_parse(eq + 1, &pol)) {
				*bad = p;
				return -1;
			}
			*eq = '\0';
			if (strcmp(item, "default") != 0 && !shim_sockopt_lookup_name(item)) {
				*bad = p;
				return -1;
			}
			if (pass == 1 && shim_sockopt_set_override(item, eq + 1))
				applied++;
			p = end ? end + 1 : p + n;
		}
		if (pass == 1)
			return applied;
	}
	return 0;
}
