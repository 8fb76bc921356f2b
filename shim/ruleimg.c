/* SPDX-License-Identifier: MIT */
/*
 * ruleimg.c - the reader of the compiled rule image; see ruleimg.h. It trusts nothing in the
 * file: every count, offset, enum, slice and string offset is checked against the mapping,
 * and every byte against its block's checksum, before the matcher may read it. Only
 * open/fstat/mmap/munmap/close: no allocation, no stdio stream, so it may run inside a signal
 * handler's first socket(). The checks themselves are in ruleimg_check.c.
 */
#include "ruleimg.h"

#include "str.h"
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
	size_t n = shim_str_len(source), s = sizeof(SHIM_RULEIMG_SUFFIX);
	if (n + s > size)
		return false;
	shim_str_copy(out, source, n);
	shim_str_copy(out + n, SHIM_RULEIMG_SUFFIX, s);
	return true;
}

/* xxHash64-style rounds in eight independent lanes of 64-bit words: a round's multiplies are
 * a chain of about eight cycles, so eight lanes (64 bytes a round) keep them busy. Not
 * cryptographic: it finds corruption, not forgery (the structural checks below keep a forged
 * image from being read out of bounds). */
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
	const unsigned char *p = data;
	uint64_t v[LANES];
	for (int l = 0; l < LANES; l++)
		v[l] = P1 * (uint64_t)(l + 1) + P2;
	size_t done = blocks(v, p, len);
	unsigned char tail[BLOCK] = {0}; /* the last partial block, zero-padded (len is mixed in) */
	shim_str_copy(tail, p + done, len - done);
	blocks(v, tail, sizeof(tail));
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
					  bool trusted_only, enum shim_ruleimg_check check,
					  char *why, size_t whylen)
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
	} else if (shim_ruleimg_view(img, base, (size_t)st.st_size, check, why, whylen)) {
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
					 const char *path, bool trusted_only,
					 enum shim_ruleimg_check check, char *why, size_t whylen);

/* A path longer than the common case's buffer: a page of stack, which the common case does not
 * touch (each new stack page is a fault in a process's first socket()). */
static __attribute__((noinline)) enum shim_ruleimg_state
load_long(struct shim_ruleimg *img, const char *source, bool trusted_only,
	  enum shim_ruleimg_check check, char *why, size_t whylen)
{
	char path[4096];
	if (!shim_ruleimg_path(source, path, sizeof(path))) {
		snprintf(why, whylen, "path too long");
		return SHIM_RULEIMG_BAD;
	}
	return load_from(img, source, path, trusted_only, check, why, whylen);
}

enum shim_ruleimg_state shim_ruleimg_load(struct shim_ruleimg *img, const char *source,
					  bool trusted_only, enum shim_ruleimg_check check,
					  char *why, size_t whylen)
{
	char path[256];
	memset(img, 0, sizeof(*img));
	if (!shim_ruleimg_path(source, path, sizeof(path)))
		return load_long(img, source, trusted_only, check, why, whylen);
	return load_from(img, source, path, trusted_only, check, why, whylen);
}

static enum shim_ruleimg_state load_from(struct shim_ruleimg *img, const char *source,
					 const char *path, bool trusted_only,
					 enum shim_ruleimg_check check, char *why, size_t whylen)
{
	struct stat st;
	bool have_source = shim_sys_stat(source, &st) == 0;
	switch (shim_ruleimg_map(img, path, trusted_only, check, why, whylen)) {
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
