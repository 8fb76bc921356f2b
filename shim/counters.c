/* SPDX-License-Identifier: MIT */
/*
 * counters.c - the counters block; see counters.h.
 */
#include "counters.h"

/* In .data, not .bss, with its magic set: status searches the library's file-backed writable
 * mapping. `self` is filled by the dynamic linker (a relative relocation), before any code runs. */
static struct shim_counters_block block = {
    .magic = SHIM_COUNTERS_MAGIC,
    .version = SHIM_COUNTERS_VERSION,
    .ncounters = SHIM_COUNTER_COUNT,
    .self = &block,
};

void shim_counters_after_fork_child(void)
{
	/* Read first: a process that counted nothing copies no page here. */
	for (int i = 0; i < SHIM_COUNTERS_SLOTS; i++)
		if (__atomic_load_n(&block.value[i], __ATOMIC_RELAXED))
			__atomic_store_n(&block.value[i], 0, __ATOMIC_RELAXED);
}

void shim_counters_add(enum shim_counter c)
{
	if ((unsigned int)c >= SHIM_COUNTERS_SLOTS)
		return;
	__atomic_fetch_add(&block.value[c], 1, __ATOMIC_RELAXED);
}
