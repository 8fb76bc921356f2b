/* SPDX-License-Identifier: MIT */
/*
 * fuzz_config.c - libFuzzer target for the config parser and the rule matcher: any input is
 * parsed as a config file; when it parses, every rule is matched against a few identities and
 * every destination/listener check runs on edge addresses and ports. Built and run by
 * scripts/fuzz.sh (clang -fsanitize=fuzzer,address), not by CI.
 */
#include "config.h"
#include "rules.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct shim_ruleset rs;

static void destinations(const struct shim_rule *rule)
{
	static const char *const v4[] = {"0.0.0.0", "127.0.0.1", "10.9.1.1", "255.255.255.255"};
	static const char *const v6[] = {"::", "::1", "::ffff:10.0.0.1", "fd00::7",
					 "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"};
	static const uint16_t ports[] = {0, 1, 53, 443, 8000, 65535};
	for (size_t p = 0; p < sizeof(ports) / sizeof(ports[0]); p++) {
		struct sockaddr_in s4 = {.sin_family = AF_INET, .sin_port = htons(ports[p])};
		for (size_t i = 0; i < sizeof(v4) / sizeof(v4[0]); i++) {
			inet_pton(AF_INET, v4[i], &s4.sin_addr);
			(void)shim_rules_destination(&rs, rule, (struct sockaddr *)&s4, sizeof(s4));
		}
		struct sockaddr_in6 s6 = {.sin6_family = AF_INET6, .sin6_port = htons(ports[p])};
		for (size_t i = 0; i < sizeof(v6) / sizeof(v6[0]); i++) {
			inet_pton(AF_INET6, v6[i], &s6.sin6_addr);
			(void)shim_rules_destination(&rs, rule, (struct sockaddr *)&s6, sizeof(s6));
		}
		(void)shim_rules_listener(&rs, rule, ports[p]);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	struct shim_config_report rep = {0};
	if (shim_config_parse(&rs, text, "fuzz", &rep) == SHIM_CONFIG_OK) {
		struct shim_identity ids[2] = {
			{.exe = "/usr/bin/curl", .comm = "curl", .argv0 = "curl",
			 .cgroups = "0::/system.slice/nginx.service\n1:pids:/x\n", .ngids = 2},
			{.exe = "", .comm = "", .argv0 = "/a/b/c", .cgroups = "garbage", .uids = {1000, 0},
			 .gids = {1000, 1000, 4242}, .ngids = 3},
		};
		for (int i = 0; i < 2; i++)
			(void)shim_rules_match(&rs, &ids[i]);
		for (unsigned int r = 0; r < rs.nrules; r++) {
			for (int k = 0; k < SHIM_MATCH_KEYS; k++) {
				(void)shim_rule_key_matches(&rs, &rs.rules[r], (enum shim_match_key)k, &ids[0]);
				(void)shim_rule_key_matches(&rs, &rs.rules[r], (enum shim_match_key)k, &ids[1]);
			}
			destinations(&rs.rules[r]);
		}
		destinations(NULL);
		/* Globs from the file against their own text and a long string. */
		for (unsigned int i = 0; i < rs.npatterns; i++)
			(void)shim_glob(rs.patterns[i].text, rs.patterns[i].text);
	} else if (rep.problems == 0 || rep.first[0] == '\0') {
		abort(); /* a failed parse must always say why */
	}
	free(text);
	return 0;
}
