/* SPDX-License-Identifier: MIT */
/*
 * identity.c - the process facts rules match on, read from /proc; see identity.h. Only what the
 * rules need is read; for this process the ids come from syscalls, not from /proc/self/status.
 * No stdio, no allocation: it may run inside a signal handler's first socket().
 */
#include "identity.h"

#include "sys.h"

#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* dir + "/" + name into out (64 bytes is plenty for "/proc/PID/cmdline"). */
static void join(char out[64], const char *dir, const char *name)
{
	size_t d = strnlen(dir, 40), n = strnlen(name, 16);
	memcpy(out, dir, d);
	out[d] = '/';
	memcpy(out + d + 1, name, n);
	out[d + 1 + n] = '\0';
}

/* Reads a /proc file into buf (NUL-terminated, truncated to fit); returns the length or -1. */
static ssize_t slurp(const char *dir, const char *name, char *buf, size_t size, bool one_line)
{
	char path[64];
	join(path, dir, name);
	int fd = shim_sys_open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		buf[0] = '\0';
		return -1;
	}
	size_t got = 0;
	while (got < size - 1) {
		ssize_t n = shim_sys_read(fd, buf + got, size - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
		/* comm is one line, read whole at once: no second read() to see the end. */
		if (one_line && buf[got - 1] == '\n')
			break;
	}
	shim_sys_close(fd);
	buf[got] = '\0';
	return (ssize_t)got;
}

/* "Uid:\t1000\t1000\t1000\t1000" -> up to max numbers after the tag. */
static unsigned int numbers_after(const char *status, const char *tag, uint32_t *out,
				  unsigned int max)
{
	const char *p = strstr(status, tag);
	unsigned int n = 0;
	if (!p)
		return 0;
	p += strlen(tag);
	while (n < max) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p < '0' || *p > '9')
			break;
		char *end;
		unsigned long v = strtoul(p, &end, 10);
		out[n++] = (uint32_t)v;
		p = end;
	}
	return n;
}

/* "/proc/" + decimal pid. */
static void proc_dir(char out[32], pid_t pid)
{
	if (pid <= 0) {
		memcpy(out, "/proc/self", sizeof("/proc/self"));
		return;
	}
	char digits[16];
	int n = 0;
	for (unsigned long v = (unsigned long)pid; v && n < 15; v /= 10)
		digits[n++] = (char)('0' + v % 10);
	memcpy(out, "/proc/", 6);
	for (int i = 0; i < n; i++)
		out[6 + i] = digits[n - 1 - i];
	out[6 + n] = '\0';
}

static bool ids_from_status(struct shim_identity *id, const char *dir)
{
	char status[4096];
	if (slurp(dir, "status", status, sizeof(status), false) <= 0)
		return false;
	uint32_t four[4];
	if (numbers_after(status, "\nUid:", four, 4) >= 2) {
		id->uids[0] = four[0];
		id->uids[1] = four[1];
	}
	if (numbers_after(status, "\nGid:", four, 4) >= 2) {
		id->gids[0] = four[0];
		id->gids[1] = four[1];
		id->ngids = 2;
	}
	id->ngids += numbers_after(status, "\nGroups:", id->gids + id->ngids,
				   SHIM_IDENTITY_GIDS - id->ngids);
	return true;
}

/* This process: getuid() and friends cost one syscall each, /proc/self/status three and a
 * 1.5 KiB text. Supplementary groups only if a rule matches on group. */
static void ids_of_self(struct shim_identity *id, unsigned int needs)
{
	id->uids[0] = (uint32_t)syscall(SYS_getuid);
	id->uids[1] = (uint32_t)syscall(SYS_geteuid);
	if (!(needs & (1u << SHIM_MATCH_GROUP)))
		return;
	id->gids[0] = (uint32_t)syscall(SYS_getgid);
	id->gids[1] = (uint32_t)syscall(SYS_getegid);
	id->ngids = 2;
	gid_t groups[SHIM_IDENTITY_GIDS - 2];
	long n = syscall(SYS_getgroups, (int)(SHIM_IDENTITY_GIDS - 2), groups);
	for (long i = 0; i < n; i++)
		id->gids[id->ngids++] = (uint32_t)groups[i];
}

/* The in-memory ELF header of the main program: the PT_LOAD that maps file offset 0. */
static const void *main_program_header(void)
{
	const ElfW(Phdr) *ph = (const ElfW(Phdr) *)getauxval(AT_PHDR);
	size_t n = getauxval(AT_PHNUM);
	uintptr_t bias = 0;
	bool have_bias = false;
	for (size_t i = 0; ph && i < n; i++)
		if (ph[i].p_type == PT_PHDR) {
			bias = (uintptr_t)ph - ph[i].p_vaddr;
			have_bias = true;
		}
	for (size_t i = 0; have_bias && i < n; i++)
		if (ph[i].p_type == PT_LOAD && ph[i].p_offset == 0 && ph[i].p_filesz >= sizeof(ElfW(Ehdr)))
			return (const void *)(bias + ph[i].p_vaddr);
	return NULL;
}

/* The basename rules match on, without /proc: the first look at /proc/self in a process costs
 * 15-25 us (its /proc dentries are made then), more than the rest of the first socket(). The
 * kernel's AT_EXECFN is the path execve() was given. Its last component is the executable's
 * own name if it is not a symlink and the file there is the running program: an ELF file whose
 * header is the one mapped in memory (a script, or a binfmt_misc program, runs an interpreter
 * whose header differs). Otherwise NULL, and /proc/self/exe decides. A binary replaced after
 * exec is matched by its name here, where /proc would add " (deleted)". The string is the
 * kernel's, on the initial stack: nothing is copied (no page of ours is touched). */
static bool starts_with(const char *s, const char *prefix)
{
	while (*prefix && *s == *prefix)
		s++, prefix++;
	return !*prefix;
}

static const char *name_from_execfn(void)
{
	const char *fn = (const char *)getauxval(AT_EXECFN);
	const void *mem = main_program_header();
	if (!mem || !fn || !*fn || starts_with(fn, "/proc/") || starts_with(fn, "/dev/fd/"))
		return NULL;
	/* O_NOFOLLOW: a symlink's name is not the executable's (ELOOP). Anything but the regular
	 * file exec ran fails the header comparison: a FIFO (O_NONBLOCK: no wait) or a directory
	 * cannot be read, a device or another file reads different bytes. */
	int fd = shim_sys_open(fn, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW);
	if (fd < 0)
		return NULL;
	ElfW(Ehdr) file;
	bool same = shim_sys_pread(fd, &file, sizeof(file), 0) == (ssize_t)sizeof(file) &&
		    memcmp(&file, mem, sizeof(file)) == 0;
	shim_sys_close(fd);
	return same ? fn : NULL;
}

/* pid 0: this process, whose pid is self_pid. */
static bool read_identity(struct shim_identity *id, struct shim_identity_buf *buf, pid_t pid,
			  pid_t self_pid, unsigned int needs)
{
	char dir[32];
	proc_dir(dir, pid);
	memset(id, 0, sizeof(*id));
	/* A fact not needed points at "" and its buffer is never touched: each buffer is a page of
	 * its own, and each first write to a page is a fault. */
	static const char none[1] = "";
	id->exe = id->comm = id->argv0 = id->cgroups = none;
	if (needs & (1u << SHIM_MATCH_ARGV0))
		id->argv0 = buf->argv0, buf->argv0[0] = '\0';
	if (needs & (1u << SHIM_MATCH_CGROUP))
		id->cgroups = buf->cgroups, buf->cgroups[0] = '\0';

	char path[64];
	bool name_only = (needs & (1u << SHIM_MATCH_NAME)) && !(needs & (1u << SHIM_MATCH_EXE));
	const char *execfn = name_only && pid <= 0 ? name_from_execfn() : NULL;
	if (execfn) {
		id->exe = execfn; /* its last component is the executable's name */
	} else if (needs & ((1u << SHIM_MATCH_EXE) | (1u << SHIM_MATCH_NAME))) {
		join(path, dir, "exe");
		ssize_t n = shim_sys_readlink(path, buf->exe, sizeof(buf->exe) - 1);
		buf->exe[n > 0 ? n : 0] = '\0';
		id->exe = buf->exe;
	}
	/* The main thread's own name is the process's comm: PR_GET_NAME costs a tenth of opening
	 * /proc/self/comm. Another thread's name may be its own (a renamed worker): /proc then. */
	static char self_comm[16]; /* with the small variables: buf's pages stay untouched */
	if ((needs & (1u << SHIM_MATCH_NAME)) && pid <= 0 &&
	    syscall(SYS_gettid) == self_pid &&
	    syscall(SYS_prctl, PR_GET_NAME, self_comm, 0, 0, 0) == 0) {
		self_comm[sizeof(self_comm) - 1] = '\0';
		id->comm = self_comm;
	} else if (needs & (1u << SHIM_MATCH_NAME)) {
		ssize_t n = slurp(dir, "comm", buf->comm, sizeof(buf->comm), true);
		if (n > 0 && buf->comm[n - 1] == '\n')
			buf->comm[n - 1] = '\0';
		id->comm = buf->comm;
	}
	if (needs & (1u << SHIM_MATCH_ARGV0))
		slurp(dir, "cmdline", buf->argv0, sizeof(buf->argv0), false); /* stops at the first NUL */
	if (needs & (1u << SHIM_MATCH_CGROUP))
		slurp(dir, "cgroup", buf->cgroups, sizeof(buf->cgroups), false);
	if (pid > 0)
		return ids_from_status(id, dir);
	if (needs & ((1u << SHIM_MATCH_USER) | (1u << SHIM_MATCH_GROUP)))
		ids_of_self(id, needs);
	return true;
}

bool shim_identity_read(struct shim_identity *id, struct shim_identity_buf *buf, pid_t pid,
			unsigned int needs)
{
	return read_identity(id, buf, pid > 0 ? pid : 0, pid > 0 ? 0 : (pid_t)syscall(SYS_getpid),
			     needs);
}

bool shim_identity_read_self(struct shim_identity *id, struct shim_identity_buf *buf,
			     pid_t self_pid, unsigned int needs)
{
	return read_identity(id, buf, 0, self_pid, needs);
}
