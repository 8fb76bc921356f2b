/* SPDX-License-Identifier: MIT */
/*
 * optlog.c - option log entries and the slab that backs them; see optlog.h.
 */
#include "optlog.h"

#include "slab.h"

#include <string.h>

static struct shim_slab slab = {
	.block = sizeof(struct shim_optlog), .link_off = 0, .mine_bit = 1u << 0};

void shim_optlog_after_fork_child(void)
{
	shim_slab_after_fork_child(&slab);
}

static struct shim_optlog *alloc_log(void)
{
	struct shim_optlog *log = shim_slab_alloc(&slab);
	if (log)
		memset(log, 0, sizeof(*log));
	return log;
}

void shim_optlog_free(struct shim_optlog **logp)
{
	struct shim_optlog *log = *logp;
	if (!log)
		return;
	__atomic_store_n(logp, NULL, __ATOMIC_RELAXED); /* some hooks peek at it unlocked */
	shim_slab_free(&slab, log);
}

unsigned long shim_optlog_blocks_in_use(void)
{
	return shim_slab_in_use(&slab);
}

static size_t entry_size(size_t len)
{
	return sizeof(struct shim_optlog_entry) + ((len + 3) & ~(size_t)3);
}

const struct shim_optlog_entry *shim_optlog_next(const struct shim_optlog *log,
					   const struct shim_optlog_entry *prev)
{
	if (!log)
		return NULL;
	size_t off = prev ? (size_t)((const unsigned char *)prev - log->bytes) + entry_size(prev->len)
			  : 0;
	return off < log->used ? (const struct shim_optlog_entry *)(log->bytes + off) : NULL;
}

const struct shim_optlog_entry *shim_optlog_find(const struct shim_optlog *log, int level, int optname)
{
	for (const struct shim_optlog_entry *e = shim_optlog_next(log, NULL); e;
	     e = shim_optlog_next(log, e))
		if (e->level == level && e->optname == optname)
			return e;
	return NULL;
}

static void remove_entry(struct shim_optlog *log, const struct shim_optlog_entry *e)
{
	unsigned char *start = (unsigned char *)e;
	size_t size = entry_size(e->len);
	size_t tail = log->used - (size_t)(start - log->bytes) - size;
	memmove(start, start + size, tail);
	log->used -= (uint32_t)size;
}

void shim_optlog_drop(struct shim_optlog *log, int level, int optname)
{
	const struct shim_optlog_entry *e = shim_optlog_find(log, level, optname);
	if (e)
		remove_entry(log, e);
}

/* A NULL value with a length reads as zeros: the kernel's IPv6 options take NULL for 0, and
 * wherever TCP would fault on it instead the caller has TCP's EFAULT before logging. */
static void store(unsigned char *dst, const void *value, socklen_t len)
{
	if (value)
		memcpy(dst, value, len);
	else
		memset(dst, 0, len);
}

bool shim_optlog_put(struct shim_optlog **logp, unsigned int flags, int level, int optname,
		     const void *value, socklen_t len)
{
	if (len > SHIM_OPTLOG_VALUE_MAX)
		return false;
	if (!*logp) {
		struct shim_optlog *fresh = alloc_log();
		if (!fresh)
			return false;
		__atomic_store_n(logp, fresh, __ATOMIC_RELAXED); /* some hooks peek at it unlocked */
	}
	struct shim_optlog *log = *logp;
	struct shim_optlog_entry *old = (struct shim_optlog_entry *)shim_optlog_find(log, level, optname);
	if (old && entry_size(old->len) == entry_size(len)) {
		/* Same size: overwrite in place, keeping its position in the replay order. */
		old->len = (uint16_t)len;
		old->flags = (uint16_t)flags;
		store(old->value, value, len);
		return true;
	}
	size_t need = entry_size(len);
	size_t freed = old ? entry_size(old->len) : 0;
	if (log->used - freed + need > sizeof(log->bytes))
		return false;
	if (old)
		remove_entry(log, old);
	struct shim_optlog_entry *e = (struct shim_optlog_entry *)(log->bytes + log->used);
	e->level = level;
	e->optname = optname;
	e->len = (uint16_t)len;
	e->flags = (uint16_t)flags;
	store(e->value, value, len);
	log->used += (uint32_t)need;
	return true;
}
