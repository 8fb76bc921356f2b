/* SPDX-License-Identifier: MIT */
/*
 * elfinfo.h - what the launcher needs to know about a program before it runs it under the
 * preload: is it dynamically linked (a static binary never loads LD_PRELOAD), is it a Go binary
 * (Go makes its own syscalls; GODEBUG=multipathtcp=1 asks Go's runtime for MPTCP instead), and
 * is it setuid/setgid/file-capable (the loader strips LD_PRELOAD from those). For Go, the
 * version from the binary's build info: GODEBUG=multipathtcp=1 means something only to Go >= 1.21.
 */
#ifndef MPTCPIZE_ELFINFO_H
#define MPTCPIZE_ELFINFO_H

#include <stdbool.h>

struct elfinfo_facts {
	bool is_elf;
	bool is_64bit;
	bool has_interp; /* PT_INTERP: dynamically linked */
	bool is_go;      /* .go.buildinfo or .note.go.buildid section */
	bool secure;     /* setuid, setgid, or security.capability xattr */
	/* "go1.19.8" from .go.buildinfo (Go >= 1.18 layout); "" if unknown or older */
	char go_version[32];
};

/* The minor version of a "go1.N[.x]" string: 19 for "go1.19.8"; -1 if it is not one. */
int elfinfo_go_minor(const char *version);

/* Fills *out for the file at path. Returns false (errno set) if it cannot be read at all. */
bool elfinfo_inspect(const char *path, struct elfinfo_facts *out);

#endif
