/* SPDX-License-Identifier: MIT */
/*
 * fuzz_rules.h - what both fuzzers (config text, rule image) do with a rule set that loaded:
 * every matcher entry point on a few identities, edge addresses and ports, and every glob
 * against its own text. Returns a digest of the verdicts so two views can be compared.
 */
#ifndef FUZZ_RULES_H
#define FUZZ_RULES_H

#include "rules.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

static uint64_t fuzz_fold(uint64_t h, uint64_t v)
{
	return (h ^ v) * UINT64_C(0x100000001b3);
}

static uint64_t fuzz_decision(uint64_t h, struct shim_decision d)
{
	return fuzz_fold(fuzz_fold(h, d.mptcp), (uint64_t)d.why);
}

static uint64_t fuzz_destinations(const struct shim_ruleset *rs, const struct shim_rule *rule,
				  uint64_t h)
{
	static const char *const v4[] = {"0.0.0.0", "127.0.0.1", "10.9.1.1", "255.255.255.255"};
	static const char *const v6[] = {"::", "::1", "::ffff:10.0.0.1", "fd00::7",
					 "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"};
	static const uint16_t ports[] = {0, 1, 53, 443, 8000, 65535};
	enum { N4 = sizeof(v4) / sizeof(v4[0]), N6 = sizeof(v6) / sizeof(v6[0]) };
	/* Parsed once: a config of 2048 rules asks these for every rule. */
	static struct sockaddr_in s4[N4];
	static struct sockaddr_in6 s6[N6];
	static bool ready;
	if (!ready) {
		for (size_t i = 0; i < N4; i++) {
			s4[i].sin_family = AF_INET;
			inet_pton(AF_INET, v4[i], &s4[i].sin_addr);
		}
		for (size_t i = 0; i < N6; i++) {
			s6[i].sin6_family = AF_INET6;
			inet_pton(AF_INET6, v6[i], &s6[i].sin6_addr);
		}
		ready = true;
	}
	for (size_t p = 0; p < sizeof(ports) / sizeof(ports[0]); p++) {
		for (size_t i = 0; i < N4; i++) {
			s4[i].sin_port = htons(ports[p]);
			h = fuzz_decision(h, shim_rules_destination(rs, rule, (struct sockaddr *)&s4[i],
								    sizeof(s4[i])));
		}
		for (size_t i = 0; i < N6; i++) {
			s6[i].sin6_port = htons(ports[p]);
			h = fuzz_decision(h, shim_rules_destination(rs, rule, (struct sockaddr *)&s6[i],
								    sizeof(s6[i])));
		}
		h = fuzz_decision(h, shim_rules_listener(rs, rule, ports[p]));
	}
	return h;
}

static uint64_t fuzz_exercise(const struct shim_ruleset *rs)
{
	struct shim_identity ids[2] = {
		{.exe = "/usr/bin/curl", .comm = "curl", .argv0 = "curl",
		 .cgroups = "0::/system.slice/nginx.service\n1:pids:/x\n", .ngids = 2},
		{.exe = "", .comm = "", .argv0 = "/a/b/c", .cgroups = "garbage", .uids = {1000, 0},
		 .gids = {1000, 1000, 4242}, .ngids = 3},
	};
	uint64_t h = fuzz_fold(rs->default_mode, rs->needs);
	for (int i = 0; i < 2; i++) {
		const struct shim_rule *r = shim_rules_match(rs, &ids[i]);
		h = fuzz_fold(h, r ? (uint64_t)(r - rs->rules) : UINT64_MAX);
	}
	/* Every rule is matched above; the per-rule probes stop at 64 rules, or a 2048-rule input
	 * would take a second. */
	for (unsigned int r = 0; r < rs->nrules && r < 64; r++) {
		for (int k = 0; k < SHIM_MATCH_KEYS; k++) {
			h = fuzz_fold(h, shim_rules_key_matches(rs, &rs->rules[r], (enum shim_match_key)k,
							       &ids[0]));
			h = fuzz_fold(h, shim_rules_key_matches(rs, &rs->rules[r], (enum shim_match_key)k,
							       &ids[1]));
		}
		h = fuzz_destinations(rs, &rs->rules[r], h);
	}
	h = fuzz_destinations(rs, NULL, h);
	/* Globs from the file against their own text. */
	for (unsigned int i = 0; i < rs->npatterns; i++) {
		const char *t = shim_rules_str(rs, rs->patterns[i].text);
		h = fuzz_fold(h, shim_rules_glob(t, t));
	}
	return h;
}

#endif
