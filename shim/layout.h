/* SPDX-License-Identifier: MIT */
/*
 * layout.h - where the library's big zero-filled arrays go.
 *
 * Every first write to a page of the library's data costs the process a page fault (about 2 us
 * on the VMs measured here, more than the rest of a first socket()). The small variables the
 * hooks write (verdict, settings, counters, slab heads) should share as few pages as possible,
 * so the big arrays (the first fd-table chunk, the fd table's top level, the record slab's page
 * list, the identity buffers) go to .lbss, which the linker places after .bss: only the pages
 * of them a process really uses are ever touched.
 */
#ifndef SHIM_LAYOUT_H
#define SHIM_LAYOUT_H

#define SHIM_BIG_BSS __attribute__((section(".lbss.mptcpize")))

#endif
