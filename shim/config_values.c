/* SPDX-License-Identifier: MIT */
/*
 * config_values.c - the config file's scalar syntaxes: destination entries (CIDR with an
 * optional port range), port ranges, and user/group names looked up in the files databases.
 * Declared in config.h; split from config.c to keep each file short.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A decimal number of at most 6 digits in [lo, hi], the whole of [s, end). */
static bool parse_num(const char *s, const char *end, unsigned long lo, unsigned long hi,
		      unsigned long *out)
{
	if (s >= end || end - s > 6)
		return false;
	unsigned long v = 0;
	for (const char *p = s; p < end; p++) {
		if (*p < '0' || *p > '9')
			return false;
		v = v * 10 + (unsigned long)(*p - '0');
	}
	if (v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

bool shim_config_parse_ports(const char *text, struct shim_port_range *out, const char **err)
{
	const char *end = text + strlen(text);
	const char *dash = strchr(text, '-');
	unsigned long lo, hi;
	if (!parse_num(text, dash ? dash : end, 1, 65535, &lo) ||
	    (dash && !parse_num(dash + 1, end, 1, 65535, &hi))) {
		*err = "port must be 1..65535 or a range N-M";
		return false;
	}
	if (!dash)
		hi = lo;
	if (lo > hi) {
		*err = "port range N-M needs N <= M";
		return false;
	}
	out->lo = (uint16_t)lo;
	out->hi = (uint16_t)hi;
	return true;
}

bool shim_config_parse_net(const char *text, struct shim_net *out, const char **err)
{
	memset(out, 0, sizeof(*out));
	out->port_lo = 0;
	out->port_hi = 65535;
	char buf[128];
	size_t len = strlen(text);
	if (len == 0 || len >= sizeof(buf)) {
		*err = "empty or too long destination";
		return false;
	}
	memcpy(buf, text, len + 1);
	char *addr = buf, *plen = NULL, *ports = NULL;
	if (buf[0] == ':' && buf[1] != ':') {
		addr = NULL; /* ":PORTS": any address */
		ports = buf + 1;
	} else if (buf[0] == '[') {
		char *close = strchr(buf, ']');
		if (!close) {
			*err = "missing ']'";
			return false;
		}
		*close = '\0';
		addr = buf + 1;
		char *rest = close + 1;
		if (*rest == '/') {
			plen = rest + 1;
			rest = strchr(plen, ':');
		}
		if (rest && *rest == ':') {
			*rest = '\0';
			ports = rest + 1;
		} else if (rest && *rest) {
			*err = "unexpected text after ']'";
			return false;
		}
	} else {
		char *slash = strchr(buf, '/');
		if (slash) {
			*slash = '\0';
			plen = slash + 1;
			char *colon = strchr(plen, ':');
			if (colon) {
				*colon = '\0';
				ports = colon + 1;
			}
		} else {
			char *colon = strchr(buf, ':');
			if (colon && strchr(colon + 1, ':') == NULL) { /* IPv4:PORTS */
				*colon = '\0';
				ports = colon + 1;
			}
		}
	}
	if (ports) {
		struct shim_port_range r;
		if (!shim_config_parse_ports(ports, &r, err))
			return false;
		out->port_lo = r.lo;
		out->port_hi = r.hi;
	}
	if (!addr)
		return true;
	struct in_addr a4;
	unsigned long bits;
	if (inet_pton(AF_INET, addr, &a4) == 1) {
		out->family = AF_INET;
		out->addr[10] = out->addr[11] = 0xff;
		memcpy(out->addr + 12, &a4, 4);
		if (plen && !parse_num(plen, plen + strlen(plen), 0, 32, &bits)) {
			*err = "IPv4 prefix length must be 0..32";
			return false;
		}
		out->prefix = (uint8_t)(96 + (plen ? bits : 32));
	} else if (inet_pton(AF_INET6, addr, out->addr) == 1) {
		out->family = AF_INET6;
		if (plen && !parse_num(plen, plen + strlen(plen), 0, 128, &bits)) {
			*err = "IPv6 prefix length must be 0..128";
			return false;
		}
		out->prefix = (uint8_t)(plen ? bits : 128);
		/* ::ffff:a.b.c.d/96+ names IPv4 destinations: match it as the IPv4 entry it is. */
		if (out->prefix >= 96 && IN6_IS_ADDR_V4MAPPED((struct in6_addr *)out->addr))
			out->family = AF_INET;
	} else {
		*err = "not an IPv4 or IPv6 address";
		return false;
	}
	/* Host bits beyond the prefix are ignored, as ip(8) does. */
	for (unsigned int i = 0; i < 16; i++) {
		unsigned int keep = out->prefix > i * 8 ? out->prefix - i * 8 : 0;
		if (keep < 8)
			out->addr[i] &= (uint8_t)(0xff00u >> keep);
	}
	return true;
}

uint32_t shim_config_lookup_id(const char *dbfile, const char *name)
{
	FILE *f = fopen(dbfile, "re");
	if (!f)
		return SHIM_ID_NONE;
	char line[1024];
	size_t n = strlen(name);
	uint32_t id = SHIM_ID_NONE;
	while (fgets(line, sizeof(line), f)) {
		/* name:password:ID:... */
		if (strncmp(line, name, n) != 0 || line[n] != ':')
			continue;
		char *field = strchr(line + n + 1, ':');
		if (!field)
			continue;
		char *end;
		unsigned long v = strtoul(field + 1, &end, 10);
		if (end != field + 1 && *end == ':' && v < SHIM_ID_NONE) {
			id = (uint32_t)v;
			break;
		}
	}
	fclose(f);
	return id;
}
