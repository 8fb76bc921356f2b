/* SPDX-License-Identifier: MIT */
/*
 * counters.c - the counters block; see counters.h.
 */
#include "counters.h"

#include <pthread.h>

/* In .data, not .bss, with its magic set: status searches the library's file-backed writable
 * mapping. `self` is filled by the dynamic linker (a relative relocation), before any code runs. */
static struct shim_counters_block block = {
    .magic = SHIM_COUNTERS_MAGIC,
    .version = SHIM_COUNTERS_VERSION,
    .ncounters = SHIM_COUNTER_COUNT,
    .self = &block,
};

static void atfork_child(void)
{
	for (int i = 0; i < SHIM_COUNTERS_SLOTS; i++)
		__atomic_store_n(&block.value[i], 0, __ATOMIC_RELAXED);
}

/* The handler is registered with the first event: before it there is nothing to reset. Not
 * pthread_once (whose completion is a futex syscall): a thread losing the exchange counts at
 * once, and a fork racing that very first event may inherit one count. */
static int atfork_registered;

void shim_counters_add(enum shim_counter c)
{
	if ((unsigned int)c >= SHIM_COUNTERS_SLOTS)
		return;
	if (__builtin_expect(!__atomic_load_n(&atfork_registered, __ATOMIC_ACQUIRE), 0) &&
	    !__atomic_exchange_n(&atfork_registered, 1, __ATOMIC_ACQ_REL))
		pthread_atfork(NULL, NULL, atfork_child);
	__atomic_fetch_add(&block.value[c], 1, __ATOMIC_RELAXED);
}
