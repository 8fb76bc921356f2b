/* SPDX-License-Identifier: MIT */
/*
 * ruleimg.c - the reader of the compiled rule image; see ruleimg.h. It trusts nothing in the
 * file: every count, offset, enum, slice and string offset is checked against the mapping
 * before the matcher may read it. Only open/fstat/mmap/munmap/close: no allocation, no stdio
 * stream, so it may run inside a signal handler's first socket().
 */
#include "ruleimg.h"

#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

_Static_assert(offsetof(struct shim_ruleimg_header, checksum) == 32, "checksum at byte 32");
_Static_assert(sizeof(struct shim_ruleimg_header) % 8 == 0, "header keeps sections aligned");

bool shim_ruleimg_path(const char *source, char *out, size_t size)
{
	size_t n = strlen(source), s = sizeof(SHIM_RULEIMG_SUFFIX);
	if (n + s > size)
		return false;
	memcpy(out, source, n);
	memcpy(out + n, SHIM_RULEIMG_SUFFIX, s);
	return true;
}

/* xxHash64-style rounds in eight independent lanes of 64-bit words: a round's multiplies are
 * a chain of about eight cycles, so eight lanes (64 bytes a round) checksum a 500-rule image in
 * about 3 us. Not cryptographic: it finds corruption, not forgery (the structural checks below
 * keep a forged image from being read out of bounds). */
#define P1 UINT64_C(0x9e3779b185ebca87)
#define P2 UINT64_C(0xc2b2ae3d27d4eb4f)
#define LANES 8
#define BLOCK (LANES * 8)

static inline uint64_t lane(uint64_t h, const unsigned char *p)
{
	uint64_t w;
	memcpy(&w, p, 8);
	h += w * P2;
	return ((h << 31) | (h >> 33)) * P1;
}

/* Full BLOCK-byte blocks of p[0, n); returns how many bytes that was. The lanes are spelled
 * out: as an array indexed in a loop they stayed in memory, one store per word. */
static size_t blocks(uint64_t v[LANES], const unsigned char *p, size_t n)
{
	uint64_t a0 = v[0], a1 = v[1], a2 = v[2], a3 = v[3], a4 = v[4], a5 = v[5], a6 = v[6],
		 a7 = v[7];
	for (size_t i = 0; i + BLOCK <= n; i += BLOCK) {
		a0 = lane(a0, p + i);
		a1 = lane(a1, p + i + 8);
		a2 = lane(a2, p + i + 16);
		a3 = lane(a3, p + i + 24);
		a4 = lane(a4, p + i + 32);
		a5 = lane(a5, p + i + 40);
		a6 = lane(a6, p + i + 48);
		a7 = lane(a7, p + i + 56);
	}
	v[0] = a0, v[1] = a1, v[2] = a2, v[3] = a3, v[4] = a4, v[5] = a5, v[6] = a6, v[7] = a7;
	return n - n % BLOCK;
}

uint64_t shim_ruleimg_checksum(const void *data, size_t len)
{
	/* The whole file, the checksum field (bytes 32..39) counted as zero; the first 64 bytes
	 * and the last partial block are hashed from zero-padded copies (len is mixed in last). */
	const unsigned char *p = data;
	const size_t at = offsetof(struct shim_ruleimg_header, checksum);
	uint64_t v[LANES];
	for (int l = 0; l < LANES; l++)
		v[l] = P1 * (uint64_t)(l + 1) + P2;
	unsigned char head[BLOCK] = {0}, tail[BLOCK] = {0};
	size_t first = len < sizeof(head) ? len : sizeof(head);
	memcpy(head, p, first);
	if (first > at)
		memset(head + at, 0, first - at < 8 ? first - at : 8);
	blocks(v, head, sizeof(head));
	if (len > sizeof(head)) {
		size_t done = sizeof(head) + blocks(v, p + sizeof(head), len - sizeof(head));
		memcpy(tail, p + done, len - done);
		blocks(v, tail, sizeof(tail));
	}
	uint64_t h = (uint64_t)len * P1;
	for (int l = 0; l < LANES; l++)
		h += (v[l] << (l * 7 + 1)) | (v[l] >> (63 - l * 7));
	h ^= h >> 33;
	h *= P2;
	h ^= h >> 29;
	return h;
}

/* "EACCES": strerror() may translate, and so allocate, which a signal handler must not. */
static const char *err_name(int e)
{
	const char *n = strerrorname_np(e);
	return n ? n : "unknown error";
}

#define FAIL(...)                                                                                  \
	do {                                                                                       \
		snprintf(why, whylen, __VA_ARGS__);                                                \
		return false;                                                                      \
	} while (0)

static bool slice_ok(struct shim_slice s, uint32_t n)
{
	return (uint32_t)s.first + s.count <= n;
}

static bool records_ok(const struct shim_ruleset *rs, char *why, size_t whylen)
{
	for (uint32_t i = 0; i < rs->nrules; i++) {
		const struct shim_rule *r = &rs->rules[i];
		if (r->id >= rs->nstrings || r->mode > SHIM_MODE_MPTCP || r->side > SHIM_SIDE_SERVER ||
		    r->loopback > 1 || r->has_listen_ports > 1)
			FAIL("rule %u: bad field", i);
		for (int k = 0; k < SHIM_MATCH_KEYS; k++)
			if (!slice_ok(r->match[k], rs->npatterns))
				FAIL("rule %u: pattern slice out of bounds", i);
		if (!slice_ok(r->include, rs->nnets) || !slice_ok(r->exclude, rs->nnets) ||
		    !slice_ok(r->listen_ports, rs->nports) || !slice_ok(r->sockopts, rs->nsockopts))
			FAIL("rule %u: slice out of bounds", i);
	}
	for (uint32_t i = 0; i < rs->npatterns; i++)
		if (rs->patterns[i].text >= rs->nstrings)
			FAIL("pattern %u: string out of bounds", i);
	for (uint32_t i = 0; i < rs->nnets; i++) {
		const struct shim_net *n = &rs->nets[i];
		if (n->text >= rs->nstrings || n->prefix > 128 || n->port_lo > n->port_hi ||
		    (n->family != 0 && n->family != AF_INET && n->family != AF_INET6))
			FAIL("destination %u: bad field", i);
	}
	for (uint32_t i = 0; i < rs->nports; i++)
		if (rs->ports[i].lo > rs->ports[i].hi)
			FAIL("port range %u: reversed", i);
	for (uint32_t i = 0; i < rs->nsockopts; i++)
		if (rs->sockopts[i].name >= rs->nstrings || rs->sockopts[i].policy >= rs->nstrings)
			FAIL("sockopt %u: string out of bounds", i);
	return true;
}

/* Every index entry names a rule, in (hash, rule) order (a binary search relies on it), and
 * the scan list is strictly ascending. */
static bool index_ok(const struct shim_ruleset *rs, char *why, size_t whylen)
{
	for (uint32_t i = 0; i < rs->nnames; i++) {
		const struct shim_rules_name *e = &rs->names[i];
		if (e->rule >= rs->nrules ||
		    (i && (e->hash < e[-1].hash || (e->hash == e[-1].hash && e->rule < e[-1].rule))))
			FAIL("name index entry %u: out of order or out of bounds", i);
	}
	for (uint32_t i = 0; i < rs->nscan; i++)
		if (rs->scan[i] >= rs->nrules || (i && rs->scan[i] <= rs->scan[i - 1]))
			FAIL("scan list entry %u: out of order or out of bounds", i);
	return true;
}

bool shim_ruleimg_view(struct shim_ruleimg *img, const void *base, size_t len, char *why,
		       size_t whylen)
{
	static const uint32_t record_size[SHIM_RULEIMG_SECTIONS] = {
		sizeof(struct shim_rule),       sizeof(struct shim_pattern),
		sizeof(struct shim_net),        sizeof(struct shim_port_range),
		sizeof(struct shim_sockopt_rule), 1,
		sizeof(struct shim_rules_name),  sizeof(uint32_t),
	};
	const struct shim_ruleimg_header *h = base;
	memset(img, 0, sizeof(*img));
	if (len < sizeof(*h))
		FAIL("truncated (%zu bytes)", len);
	if (memcmp(h->magic, SHIM_RULEIMG_MAGIC, sizeof(h->magic)) != 0)
		FAIL("not a compiled rule image");
	if (h->version != SHIM_RULEIMG_VERSION || h->bom != SHIM_RULEIMG_BOM ||
	    h->header_size != sizeof(*h))
		FAIL("image version %u, this library reads version %u", h->version,
		     SHIM_RULEIMG_VERSION);
	if (h->total_size != len)
		FAIL("truncated or padded (%zu bytes, header says %llu)", len,
		     (unsigned long long)h->total_size);
	if (shim_ruleimg_checksum(base, len) != h->checksum)
		FAIL("checksum mismatch (corrupt)");
	const void *at[SHIM_RULEIMG_SECTIONS];
	for (int s = 0; s < SHIM_RULEIMG_SECTIONS; s++) {
		uint64_t off = h->section[s].offset, n = h->section[s].count;
		if (h->section[s].record_size != record_size[s] || off % 8 || off < sizeof(*h) ||
		    off > len || n * record_size[s] > len - off)
			FAIL("section %d out of bounds", s);
		at[s] = (const char *)base + off;
	}
	struct shim_ruleset *rs = &img->rs;
	rs->strings = at[SHIM_RULEIMG_STRINGS];
	rs->nstrings = h->section[SHIM_RULEIMG_STRINGS].count;
	if (rs->nstrings == 0 || rs->strings[rs->nstrings - 1] != '\0')
		FAIL("string table not terminated");
	rs->rules = at[SHIM_RULEIMG_RULES];
	rs->nrules = h->section[SHIM_RULEIMG_RULES].count;
	rs->patterns = at[SHIM_RULEIMG_PATTERNS];
	rs->npatterns = h->section[SHIM_RULEIMG_PATTERNS].count;
	rs->nets = at[SHIM_RULEIMG_NETS];
	rs->nnets = h->section[SHIM_RULEIMG_NETS].count;
	rs->ports = at[SHIM_RULEIMG_PORTS];
	rs->nports = h->section[SHIM_RULEIMG_PORTS].count;
	rs->sockopts = at[SHIM_RULEIMG_SOCKOPTS];
	rs->nsockopts = h->section[SHIM_RULEIMG_SOCKOPTS].count;
	if (h->file >= rs->nstrings || h->default_mode > SHIM_MODE_MPTCP)
		FAIL("bad header field");
	rs->file = h->file;
	rs->default_mode = (uint8_t)h->default_mode;
	rs->names = at[SHIM_RULEIMG_NAMES];
	rs->nnames = h->section[SHIM_RULEIMG_NAMES].count;
	rs->scan = at[SHIM_RULEIMG_SCAN];
	rs->nscan = h->section[SHIM_RULEIMG_SCAN].count;
	if (!records_ok(rs, why, whylen) || !index_ok(rs, why, whylen)) {
		memset(img, 0, sizeof(*img));
		return false;
	}
	rs->needs = (uint16_t)h->needs;
	rs->origin = SHIM_RULES_IMAGE;
	img->header = h;
	return true;
}

bool shim_ruleimg_trusted(const struct stat *st, char *why, size_t whylen)
{
	if (!S_ISREG(st->st_mode))
		FAIL("not a regular file");
	if (st->st_uid != 0)
		FAIL("not owned by root (uid %u)", (unsigned int)st->st_uid);
	if (st->st_mode & (S_IWGRP | S_IWOTH))
		FAIL("writable by group or others (mode %03o)", (unsigned int)(st->st_mode & 0777));
	return true;
}

enum shim_ruleimg_status shim_ruleimg_map(struct shim_ruleimg *img, const char *path,
					  bool trusted_only, char *why, size_t whylen)
{
	memset(img, 0, sizeof(*img));
	int fd = shim_sys_open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		if (errno == ENOENT)
			return SHIM_RULEIMG_MISSING;
		snprintf(why, whylen, "cannot open: %s", err_name(errno));
		return SHIM_RULEIMG_INVALID;
	}
	struct stat st;
	enum shim_ruleimg_status status = SHIM_RULEIMG_INVALID;
	void *base = MAP_FAILED;
	if (shim_sys_fstat(fd, &st) != 0) {
		snprintf(why, whylen, "cannot stat: %s", err_name(errno));
	} else if (!S_ISREG(st.st_mode)) {
		snprintf(why, whylen, "not a regular file");
	} else if (trusted_only && !shim_ruleimg_trusted(&st, why, whylen)) {
		status = SHIM_RULEIMG_UNTRUSTED;
	} else if (st.st_size < (off_t)sizeof(struct shim_ruleimg_header) ||
		   st.st_size > (off_t)SHIM_RULEIMG_MAX_BYTES) {
		snprintf(why, whylen, "truncated or too large (%lld bytes)", (long long)st.st_size);
	} else if ((base = shim_sys_mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0)) ==
		   MAP_FAILED) {
		snprintf(why, whylen, "cannot map: %s", err_name(errno));
	} else if (shim_ruleimg_view(img, base, (size_t)st.st_size, why, whylen)) {
		img->map_len = (size_t)st.st_size;
		status = SHIM_RULEIMG_OK;
	} else {
		shim_sys_munmap(base, (size_t)st.st_size);
	}
	shim_sys_close(fd);
	return status;
}

void shim_ruleimg_unmap(struct shim_ruleimg *img)
{
	if (img->map_len)
		shim_sys_munmap((void *)img->header, img->map_len);
	memset(img, 0, sizeof(*img));
}

void shim_ruleimg_source_of(struct shim_ruleimg_source *out, const struct stat *st)
{
	memset(out, 0, sizeof(*out));
	out->dev = st->st_dev;
	out->ino = st->st_ino;
	out->size = (uint64_t)st->st_size;
	out->mtime_sec = st->st_mtim.tv_sec;
	out->mtime_nsec = st->st_mtim.tv_nsec;
	out->ctime_sec = st->st_ctim.tv_sec;
	out->ctime_nsec = st->st_ctim.tv_nsec;
}

bool shim_ruleimg_current(const struct shim_ruleimg *img, const struct stat *st)
{
	struct shim_ruleimg_source now;
	shim_ruleimg_source_of(&now, st);
	return img->header && memcmp(&now, &img->header->source, sizeof(now)) == 0;
}

static enum shim_ruleimg_state load_from(struct shim_ruleimg *img, const char *source,
					 const char *path, bool trusted_only, char *why,
					 size_t whylen);

/* A path longer than the common case's buffer: a page of stack, which the common case does not
 * touch (each new stack page is a fault in a process's first socket()). */
static __attribute__((noinline)) enum shim_ruleimg_state
load_long(struct shim_ruleimg *img, const char *source, bool trusted_only, char *why,
	  size_t whylen)
{
	char path[4096];
	if (!shim_ruleimg_path(source, path, sizeof(path))) {
		snprintf(why, whylen, "path too long");
		return SHIM_RULEIMG_BAD;
	}
	return load_from(img, source, path, trusted_only, why, whylen);
}

enum shim_ruleimg_state shim_ruleimg_load(struct shim_ruleimg *img, const char *source,
					  bool trusted_only, char *why, size_t whylen)
{
	char path[256];
	memset(img, 0, sizeof(*img));
	if (!shim_ruleimg_path(source, path, sizeof(path)))
		return load_long(img, source, trusted_only, why, whylen);
	return load_from(img, source, path, trusted_only, why, whylen);
}

static enum shim_ruleimg_state load_from(struct shim_ruleimg *img, const char *source,
					 const char *path, bool trusted_only, char *why,
					 size_t whylen)
{
	struct stat st;
	bool have_source = shim_sys_stat(source, &st) == 0;
	switch (shim_ruleimg_map(img, path, trusted_only, why, whylen)) {
	case SHIM_RULEIMG_OK:
		break;
	case SHIM_RULEIMG_MISSING:
		return have_source ? SHIM_RULEIMG_NO_IMAGE : SHIM_RULEIMG_NO_SOURCE;
	case SHIM_RULEIMG_UNTRUSTED:
	case SHIM_RULEIMG_INVALID:
		return SHIM_RULEIMG_BAD;
	}
	enum shim_ruleimg_state state = !have_source		     ? SHIM_RULEIMG_ORPHAN
					: shim_ruleimg_current(img, &st) ? SHIM_RULEIMG_CURRENT
									 : SHIM_RULEIMG_STALE;
	if (state != SHIM_RULEIMG_CURRENT)
		shim_ruleimg_unmap(img);
	return state;
}

const char *shim_ruleimg_state_name(enum shim_ruleimg_state s)
{
	switch (s) {
	case SHIM_RULEIMG_CURRENT: return "current";
	case SHIM_RULEIMG_STALE: return "stale (the source changed after it was compiled)";
	case SHIM_RULEIMG_NO_IMAGE: return "missing (the source was never compiled)";
	case SHIM_RULEIMG_NO_SOURCE: return "absent, and so is the source";
	case SHIM_RULEIMG_ORPHAN: return "left over (its source is gone)";
	case SHIM_RULEIMG_BAD: return "unusable";
	}
	return "?";
}
