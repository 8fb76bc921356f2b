/* SPDX-License-Identifier: MIT */
/* Unit tests: the option table and its overrides. */
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>

#include "sockopt_policy.h"

Test(policy, defaults_of_key_options)
{
	shim_sockopt_reset_overrides();
	cr_expect_eq(shim_sockopt_policy(IPPROTO_TCP, TCP_MD5SIG), SHIM_SOCKOPT_FALLBACK);
	cr_expect_eq(shim_sockopt_policy(IPPROTO_TCP, TCP_USER_TIMEOUT), SHIM_SOCKOPT_EMULATE);
	cr_expect_eq(shim_sockopt_policy(SOL_SOCKET, SO_ZEROCOPY), SHIM_SOCKOPT_FALLBACK);
	cr_expect_eq(shim_sockopt_policy(IPPROTO_IP, IP_RECVTTL), SHIM_SOCKOPT_EMULATE);
	/* a newer kernel's number: swap while possible, else emulate */
	cr_expect_eq(shim_sockopt_policy(IPPROTO_TCP, 9999), SHIM_SOCKOPT_FALLBACK_OR_EMULATE);
}

Test(policy, every_entry_has_a_reason_and_unique_name)
{
	for (const struct shim_sockopt_info *o = shim_sockopt_table; o->name[0]; o++) {
		cr_expect(strlen(shim_sockopt_reason(o)) > 5 && strlen(shim_sockopt_meaning(o)) > 5, "%s", o->name);
		cr_expect_eq(shim_sockopt_lookup_name(o->name), o, "%s", o->name);
		cr_expect_eq(shim_sockopt_lookup(o->level, o->optname), o, "%s", o->name);
	}
}

Test(policy, overrides)
{
	shim_sockopt_reset_overrides();
	const char *bad = NULL;
	cr_expect_eq(shim_sockopt_apply_overrides("TCP_USER_TIMEOUT=fallback,default=pass", &bad), 2);
	cr_expect_eq(shim_sockopt_policy(IPPROTO_TCP, TCP_USER_TIMEOUT), SHIM_SOCKOPT_FALLBACK);
	cr_expect_eq(shim_sockopt_policy(IPPROTO_TCP, 9999), SHIM_SOCKOPT_PASS);
	shim_sockopt_reset_overrides();
	cr_expect_eq(shim_sockopt_apply_overrides("IP_TTL=emulate,NOPE=pass", &bad), -1);
	cr_expect_str_eq(bad, "NOPE=pass");
	cr_expect_eq(shim_sockopt_policy(IPPROTO_IP, IP_TTL), SHIM_SOCKOPT_EMULATE);
	cr_expect_eq(shim_sockopt_apply_overrides("IP_TTL=sometimes", &bad), -1);
	cr_expect_eq(shim_sockopt_apply_overrides("IP_TTL=pass,,", &bad), -1);
	cr_expect_eq(shim_sockopt_policy(IPPROTO_IP, IP_TTL), SHIM_SOCKOPT_EMULATE, "nothing applied");
	shim_sockopt_reset_overrides();
}
