/* SPDX-License-Identifier: MIT */
/*
 * str.h - the few string operations of the library's first decision, without libc.
 *
 * Each libc function our library calls for the first time in a process is a lazy binding (a
 * symbol lookup, about 0.4 us here), whatever the program has called itself: strlen, memcpy
 * and strnlen were three of them in every first socket() that reads the rules. The strings are
 * paths and rule names, tens of bytes. The loops must stay loops: GCC would otherwise turn
 * them back into the libc calls (-ftree-loop-distribute-patterns).
 */
#ifndef SHIM_STR_H
#define SHIM_STR_H

#include <stddef.h>

#define SHIM_STR_NO_LIBC __attribute__((optimize("no-tree-loop-distribute-patterns")))

static inline SHIM_STR_NO_LIBC size_t shim_str_nlen(const char *s, size_t max)
{
	size_t n = 0;
	while (n < max && s[n])
		n++;
	return n;
}

static inline SHIM_STR_NO_LIBC size_t shim_str_len(const char *s)
{
	return shim_str_nlen(s, (size_t)-1);
}

static inline SHIM_STR_NO_LIBC void shim_str_copy(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;
	for (size_t i = 0; i < n; i++)
		d[i] = s[i];
}

#endif
