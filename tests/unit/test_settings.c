/* SPDX-License-Identifier: MIT */
/* Unit tests: the settings parser (settings.c): the MPTCPIZE* variables, read once, ignored in
 * secure-exec processes. */
#include <criterion/criterion.h>
#include <string.h>

#include "settings.h"

static const char *env_force_1(const char *name)
{
	if (strcmp(name, "MPTCPIZE") == 0)
		return "1";
	if (strcmp(name, "MPTCPIZE_CONFIG") == 0)
		return "/tmp/x.conf";
	return NULL;
}

Test(settings, environment_is_ignored_in_secure_exec)
{
	struct shim_settings s;
	shim_settings_parse(&s, false, env_force_1);
	cr_expect_eq(s.force, SHIM_FORCE_MPTCP);
	cr_expect_str_eq(s.config_path, "/tmp/x.conf");
	shim_settings_parse(&s, true, env_force_1);
	cr_expect_eq(s.force, SHIM_FORCE_NONE);
	cr_expect_null(s.config_path);
	cr_expect(s.secure_exec);
}

static const char *env_values(const char *name)
{
	if (strcmp(name, "MPTCPIZE") == 0)
		return "0";
	if (strcmp(name, "MPTCPIZE_SOCKOPT") == 0)
		return "TCP_USER_TIMEOUT=fallback";
	if (strcmp(name, "MPTCPIZE_CONFIG") == 0)
		return ""; /* empty: as if unset */
	return NULL;
}

Test(settings, values_and_empty_variables)
{
	struct shim_settings s;
	shim_settings_parse(&s, false, env_values);
	cr_expect_eq(s.force, SHIM_FORCE_TCP);
	cr_expect_str_eq(s.sockopt_rules, "TCP_USER_TIMEOUT=fallback");
	cr_expect_null(s.config_path);
}
