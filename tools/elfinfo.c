/* SPDX-License-Identifier: MIT */
/*
 * elfinfo.c - reads just the ELF headers it needs; see elfinfo.h.
 */
#include "elfinfo.h"

#include <elf.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

static bool read_at(int fd, void *buf, size_t len, off_t off)
{
	return pread(fd, buf, len, off) == (ssize_t)len;
}

static bool go_section_name(const char *name)
{
	return strcmp(name, ".go.buildinfo") == 0 || strcmp(name, ".note.go.buildid") == 0;
}

/* .go.buildinfo since Go 1.18: "\xff Go buildinf:", pointer size, flags (bit 1: inline
 * strings), padding to 32 bytes, then the version as a varint length and its bytes. */
static void read_go_version(int fd, off_t off, struct elfinfo_facts *out)
{
	unsigned char b[32 + 1 + sizeof(out->go_version)];
	if (pread(fd, b, sizeof(b), off) != (ssize_t)sizeof(b) ||
	    memcmp(b, "\xff Go buildinf:", 14) != 0 || !(b[15] & 2))
		return;
	size_t len = b[32]; /* a one-byte varint: versions are short */
	if (len & 0x80 || len >= sizeof(out->go_version))
		return;
	memcpy(out->go_version, b + 33, len);
	out->go_version[len] = '\0';
}

int elfinfo_go_minor(const char *version)
{
	if (strncmp(version, "go1.", 4) != 0 || version[4] < '0' || version[4] > '9')
		return -1;
	return atoi(version + 4);
}

#define INSPECT(Ehdr, Phdr, Shdr)                                                                  \
	do {                                                                                       \
		Ehdr eh;                                                                           \
		if (!read_at(fd, &eh, sizeof(eh), 0))                                              \
			return;                                                                    \
		for (unsigned i = 0; i < eh.e_phnum && i < 256; i++) {                             \
			Phdr ph;                                                                   \
			if (read_at(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + i * eh.e_phentsize)) && \
			    ph.p_type == PT_INTERP)                                                \
				out->has_interp = true;                                            \
		}                                                                                  \
		Shdr strtab;                                                                       \
		if (eh.e_shnum == 0 || eh.e_shstrndx >= eh.e_shnum ||                              \
		    !read_at(fd, &strtab, sizeof(strtab),                                          \
			     (off_t)(eh.e_shoff + eh.e_shstrndx * eh.e_shentsize)))                \
			return;                                                                    \
		for (unsigned i = 0; i < eh.e_shnum && i < 4096; i++) {                            \
			Shdr sh;                                                                   \
			char name[32] = {0};                                                       \
			if (!read_at(fd, &sh, sizeof(sh), (off_t)(eh.e_shoff + i * eh.e_shentsize)))  \
				continue;                                                          \
			if (pread(fd, name, sizeof(name) - 1, (off_t)(strtab.sh_offset + sh.sh_name)) > 0 && \
			    go_section_name(name)) {                                               \
				out->is_go = true;                                                 \
				if (strcmp(name, ".go.buildinfo") == 0)                            \
					read_go_version(fd, (off_t)sh.sh_offset, out);             \
			}                                                                          \
		}                                                                                  \
	} while (0)

static void inspect_fd(int fd, struct elfinfo_facts *out)
{
	unsigned char ident[EI_NIDENT];
	if (!read_at(fd, ident, sizeof(ident), 0) || memcmp(ident, ELFMAG, SELFMAG) != 0)
		return;
	out->is_elf = true;
	out->is_64bit = ident[EI_CLASS] == ELFCLASS64;
	if (out->is_64bit)
		INSPECT(Elf64_Ehdr, Elf64_Phdr, Elf64_Shdr);
	else
		INSPECT(Elf32_Ehdr, Elf32_Phdr, Elf32_Shdr);
}

bool elfinfo_inspect(const char *path, struct elfinfo_facts *out)
{
	memset(out, 0, sizeof(*out));
	struct stat st;
	if (stat(path, &st) != 0)
		return false;
	out->secure = (st.st_mode & (S_ISUID | S_ISGID)) != 0 ||
		      getxattr(path, "security.capability", NULL, 0) > 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return !out->secure ? false : true;
	inspect_fd(fd, out);
	close(fd);
	return true;
}
