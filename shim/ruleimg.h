/* SPDX-License-Identifier: MIT */
/*
 * ruleimg.h - the compiled rule image: the one format shared by its writer (the tool,
 * tools/ruleimg_write.c, which links libconfig) and its reader (the shim, ruleimg.c, which
 * does not).
 *
 * `mptcpize check --compile FILE` turns FILE into FILE.img (shim_ruleimg_path). The library
 * mmap()s the image read-only and the matcher (rules.h) reads the records in place: no
 * allocation, no libconfig, no parse, nothing but open/fstat/mmap/close, so the first decision
 * is async-signal-safe. No byte is used before it is checked: every offset, length, enum and
 * slice against the file's size, and the checksum of each 512-byte block it lies in.
 *
 * Two depths of checking. SHIM_RULEIMG_CHECK_ALL (the tool, the tests) checks every block and
 * every record when the image is opened: any corruption anywhere rejects it. The library uses
 * SHIM_RULEIMG_CHECK_USED: at open, the header, the block checksums, the string table's end and
 * the name index; then each rule when the matcher first looks at it (rules.h `admit`), with
 * everything that rule points to. A process so reads the few blocks its own decision needs,
 * whatever the number of rules, and a corrupt or hostile part it reads still rejects the whole
 * image (the program stays on TCP, one line); a corrupt part it never reads is found by
 * `mptcpize check`, not by it.
 *
 * Layout (native byte order and record sizes: an image is built on and for its host; a
 * foreign one is rejected by the byte-order mark and the record sizes in the header):
 *   header | blocksums[] | names[] | scan[] | rules[] | patterns[] | strings (NUL-terminated)
 *          | nets[] | ports[] | sockopts[]
 * each section 8-byte aligned and located by (offset, count, record size) in the header. What
 * every process reads (header, block checksums, index) comes first, on the first page; the
 * blocks cover everything after the block checksums. The
 * header records the identity of the source file (dev, ino, size, mtime, ctime) when it was
 * compiled: an image whose source has changed since is stale (shim_ruleimg_current).
 */
#ifndef SHIM_RULEIMG_H
#define SHIM_RULEIMG_H

#include "rules.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#define SHIM_RULEIMG_MAGIC "MPTCPRI\n"
#define SHIM_RULEIMG_VERSION 3
#define SHIM_RULEIMG_BOM 0x01020304u
#define SHIM_RULEIMG_SUFFIX ".img"
#define SHIM_RULEIMG_MAX_BYTES (16u << 20)
#define SHIM_RULEIMG_BLOCK 512u /* bytes per block checksum */
/* Blocks whose checking the library remembers (128 bytes of flags: images up to 512 KiB, about
 * 3000 rules); a larger image is checked whole when opened. */
#define SHIM_RULEIMG_MEMO_BLOCKS 1024u

/* In file order. */
enum shim_ruleimg_section {
	SHIM_RULEIMG_BLOCKSUMS = 0, /* uint64_t checksum of each block of the bytes after it */
	SHIM_RULEIMG_NAMES,         /* the name index (rules.h), sorted by (hash, rule) */
	SHIM_RULEIMG_SCAN,          /* uint32_t rule indices outside the index, ascending */
	SHIM_RULEIMG_RULES,
	SHIM_RULEIMG_PATTERNS,
	SHIM_RULEIMG_STRINGS, /* record size 1: count is the table's length in bytes */
	SHIM_RULEIMG_NETS,
	SHIM_RULEIMG_PORTS,
	SHIM_RULEIMG_SOCKOPTS,
	SHIM_RULEIMG_SECTIONS
};

/* What the source file was when compiled: any difference makes the image stale. */
struct shim_ruleimg_source {
	uint64_t dev, ino, size;
	int64_t mtime_sec, mtime_nsec, ctime_sec, ctime_nsec;
};

struct shim_ruleimg_header {
	char magic[8];
	uint32_t version;
	uint32_t header_size;
	uint32_t bom;
	uint32_t needs; /* the match keys the rules use (rules.h shim_rules_needs) */
	uint64_t total_size;
	uint64_t checksum; /* of this header (this field 0) and the block checksums */
	struct shim_ruleimg_source source;
	uint32_t file; /* string: the source's path as compiled */
	uint32_t default_mode;
	uint32_t block_size; /* SHIM_RULEIMG_BLOCK */
	uint32_t pad;
	struct {
		uint32_t offset, count, record_size, pad;
	} section[SHIM_RULEIMG_SECTIONS];
};

enum shim_ruleimg_status {
	SHIM_RULEIMG_OK = 0,
	SHIM_RULEIMG_MISSING,   /* ENOENT */
	SHIM_RULEIMG_UNTRUSTED, /* not root-owned, or group/other writable (trusted_only) */
	SHIM_RULEIMG_INVALID,   /* not a regular file, truncated, corrupt, wrong version... */
};

enum shim_ruleimg_check {
	SHIM_RULEIMG_CHECK_ALL = 0, /* every block and record at open */
	SHIM_RULEIMG_CHECK_USED,    /* the index at open, each rule when first looked at */
};

/* A mapped image: the view the matcher reads, and the mapping behind it. rs comes first: the
 * admit callback finds the image from its rule set. */
struct shim_ruleimg {
	struct shim_ruleset rs;
	const struct shim_ruleimg_header *header;
	size_t map_len; /* 0 if the bytes are not a mapping of ours (shim_ruleimg_view) */
	uint32_t data_start, data_end, nblocks; /* the checksummed bytes, in blocks */
	const uint64_t *sums;
	uint64_t checked[SHIM_RULEIMG_MEMO_BLOCKS / 64]; /* blocks found intact */
	bool all_checked; /* every block: CHECK_ALL, or too many blocks to remember */
	bool failed;  /* a rule looked at was corrupt or hostile: the image must not be used */
	char why[96]; /* ...and why */
};

/* "PATH.img" into out; false if it does not fit. */
bool shim_ruleimg_path(const char *source, char *out, size_t size);

/* Checks bytes [base, base + len) and points img at them. On failure a reason in why. */
bool shim_ruleimg_view(struct shim_ruleimg *img, const void *base, size_t len,
		       enum shim_ruleimg_check check, char *why, size_t whylen);
/* After matching on a CHECK_USED view: NULL if every rule looked at was intact, else why not
 * (then the match result must not be used). */
const char *shim_ruleimg_failure(const struct shim_ruleimg *img);
/* How many blocks have been checked so far (for the tests). */
unsigned int shim_ruleimg_blocks_checked(const struct shim_ruleimg *img);
/* Writes the block checksums and the header checksum of an image laid out by its header (the
 * writer's last step; the tests' too, after forging a record). False if the header's layout is
 * unusable. */
bool shim_ruleimg_seal(void *bytes, size_t len);

/* Opens path without blocking (O_NONBLOCK: a FIFO cannot hang us), requires a regular file
 * (owned by root and not group/other writable if trusted_only), maps and checks it. */
enum shim_ruleimg_status shim_ruleimg_map(struct shim_ruleimg *img, const char *path,
					  bool trusted_only, enum shim_ruleimg_check check,
					  char *why, size_t whylen);
void shim_ruleimg_unmap(struct shim_ruleimg *img);

/* True if st (the source as it is now) is the file the image was compiled from. */
bool shim_ruleimg_current(const struct shim_ruleimg *img, const struct stat *st);
void shim_ruleimg_source_of(struct shim_ruleimg_source *out, const struct stat *st);

/* What a config path amounts to for the library: the image beside source, checked against it. */
enum shim_ruleimg_state {
	SHIM_RULEIMG_CURRENT = 0, /* img mapped, compiled from source as it is now */
	SHIM_RULEIMG_STALE,       /* source changed since the image was compiled */
	SHIM_RULEIMG_NO_IMAGE,    /* source exists, no image */
	SHIM_RULEIMG_NO_SOURCE,   /* neither exists: the built-in default */
	SHIM_RULEIMG_ORPHAN,      /* an image whose source is gone */
	SHIM_RULEIMG_BAD,         /* image untrusted or invalid: why says so */
};
/* Maps source.img (trust rule if trusted_only) and compares it with source. Only CURRENT leaves
 * img mapped. why gets a reason for BAD. */
enum shim_ruleimg_state shim_ruleimg_load(struct shim_ruleimg *img, const char *source,
					  bool trusted_only, enum shim_ruleimg_check check,
					  char *why, size_t whylen);
/* "current", "stale", ... for messages. */
const char *shim_ruleimg_state_name(enum shim_ruleimg_state s);

/* The trust rule of system files, on a stat of the open descriptor: regular, owned by root,
 * not writable by group or others. False with the reason in why. */
bool shim_ruleimg_trusted(const struct stat *st, char *why, size_t whylen);

/* 64-bit checksum of len bytes (eight lanes of words). */
uint64_t shim_ruleimg_checksum(const void *data, size_t len);

#endif
