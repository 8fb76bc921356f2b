/* SPDX-License-Identifier: MIT */
/*
 * slab.h - fixed-size blocks without malloc, for the records hooks keep (hooks may run in
 * signal handlers, between fork and exec, or inside an allocator).
 *
 * A slab hands out blocks of one size from 64 KiB anonymous pages that are never unmapped, so
 * a stale pointer to a freed block still points at mapped memory. The first page can be static
 * (`first_page`, `first_bytes` long, in .bss), so a process's first blocks cost no mmap. A page
 * is handed out from its start, block by block, as needed: only the 4 KiB pages that hold
 * blocks ever handed out are touched (a short-lived process with one socket faults one page,
 * not sixteen). Freed blocks go on a free list, threaded through a link word at `link_off`
 * inside each free block: a user can keep a lock word elsewhere in the block that stays valid
 * while the block is free (fdstate.c does). The
 * allocator's lock is a try-lock: a signal handler that interrupted the holder on the same
 * thread fails at once instead of spinning (the holder cannot run until the handler returns),
 * and the caller falls back as for any allocation failure; a holder on another thread is waited
 * for (up to SLAB_WAIT_NS, slab.c: it is only off CPU).
 */
#ifndef SHIM_SLAB_H
#define SHIM_SLAB_H

#include <stddef.h>
#include <stdint.h>

#define SHIM_SLAB_PAGE_BYTES (64 * 1024)
/* Pages a slab remembers for shim_slab_walk(); a walkable slab stops growing there. */
#define SHIM_SLAB_PAGES 1024

struct shim_slab {
	uint32_t block;     /* bytes per block, a multiple of 8 */
	uint32_t link_off;  /* where the free-list link lives in a free block */
	uint32_t mine_bit;  /* this slab's bit in the per-thread "taking the lock" mask */
	int walkable;       /* every page is recorded (and growth stops at SHIM_SLAB_PAGES) */
	int lock;
	int stuck;          /* a wait for the lock timed out: later callers fail at once */
	void *first_page;   /* optional static memory used before any mmap, first_bytes long */
	uint32_t first_bytes;
	void *free_list;
	unsigned char *fresh, *fresh_end; /* the newest page's blocks never handed out yet */
	unsigned long in_use;
	unsigned int npages;
	void **pages;       /* SHIM_SLAB_PAGES entries (SHIM_BIG_BSS), NULL if not walkable */
};

/* A block, not zeroed; NULL if no memory or the allocator is busy. */
void *shim_slab_alloc(struct shim_slab *s);
void shim_slab_free(struct shim_slab *s, void *block);
unsigned long shim_slab_in_use(const struct shim_slab *s);
/* Calls fn on every block of a walkable slab ever handed out, free or not. After fork only
 * (fdstate.c): no lock. */
void shim_slab_walk(struct shim_slab *s, void (*fn)(void *block));
/* In a fork child: release the allocator's lock (the thread that held it is gone), and if it
 * was held, give up the rest of the newest page (its holder may have been growing it). */
void shim_slab_after_fork_child(struct shim_slab *s);

#endif
