/* SPDX-License-Identifier: MIT */
/*
 * cmd_run.c - `mptcpize run [-d] [--respect-config] [--] CMD [ARGS...]`.
 *
 * Adds libmptcpize.so to LD_PRELOAD (appended to what is there, never replacing it), checks the
 * library really loads (a preload the loader cannot open is otherwise only a one-line warning
 * in the child), warns about targets the preload cannot reach, and execs CMD so that the exit
 * status is CMD's own: 127 if CMD is not found, 126 if it cannot be executed.
 */
#include "commands.h"
#include "elfinfo.h"
#include "run_bpf.h"

#include <dlfcn.h>
#include <stdbool.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void run_usage(FILE *out)
{
	fprintf(out, "usage: mptcpize run [-d|-dd|-ddd] [--respect-config] [--] CMD [ARGS...]\n"
		     "       mptcpize run --bpf|--bpf-options [-d|-dd|-ddd] [--] CMD [ARGS...]\n"
		     "  -d               log the shim's decisions to stderr (more d, more detail)\n"
		     "  --respect-config follow the config file's rules instead of forcing MPTCP\n"
		     "  --bpf            use the BPF engine instead of the preload: reaches static and\n"
		     "                   Go programs (root, Linux >= 6.6 with BTF, cgroup v2)\n"
		     "  --bpf-options    BPF option emulation only, for programs that create MPTCP\n"
		     "                   sockets themselves (no upgrade; any kernel with cgroup v2)\n");
}

/* Finds CMD the way execvp will, so that we inspect the file that will run. */
static bool resolve_command(const char *cmd, char *out, size_t size)
{
	if (strchr(cmd, '/')) {
		snprintf(out, size, "%s", cmd);
		return access(out, F_OK) == 0;
	}
	const char *path = getenv("PATH");
	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path) {
		const char *end = strchr(path, ':');
		size_t n = end ? (size_t)(end - path) : strlen(path);
		snprintf(out, size, "%.*s/%s", (int)n, n ? path : ".", cmd);
		if (access(out, X_OK) == 0)
			return true;
		path = end ? end + 1 : path + n;
	}
	return false;
}

/* The loader splits LD_PRELOAD on ' ' and ':', so a library path holding one becomes two
 * entries: neither loads, the loader prints one line in the child, and the program silently
 * stays on TCP. The dlopen() check below cannot see that: refuse such a path up front. */
static bool library_path_is_preloadable(const char *lib)
{
	const char *bad = strpbrk(lib, " :\t\n");
	if (!bad)
		return true;
	fprintf(stderr,
		"mptcpize: cannot preload %s: the path holds a %s, and the loader splits "
		"LD_PRELOAD there; move or link the library to a path without one (MPTCPIZE_LIB)\n",
		lib, *bad == ':' ? "colon" : *bad == ' ' ? "space" : "tab or newline");
	return false;
}

static bool already_listed(const char *list, const char *lib)
{
	size_t n = strlen(lib);
	for (const char *p = list; (p = strstr(p, lib)) != NULL; p += n) {
		bool starts = p == list || p[-1] == ':' || p[-1] == ' ';
		bool ends = p[n] == '\0' || p[n] == ':' || p[n] == ' ';
		if (starts && ends)
			return true;
	}
	return false;
}

static int set_preload(const char *lib)
{
	const char *old = getenv("LD_PRELOAD");
	if (old && already_listed(old, lib))
		return 0;
	if (!old || !*old)
		return setenv("LD_PRELOAD", lib, 1);
	size_t len = strlen(old) + strlen(lib) + 2;
	char *joined = malloc(len);
	if (!joined)
		return -1;
	snprintf(joined, len, "%s:%s", old, lib);
	int rc = setenv("LD_PRELOAD", joined, 1);
	free(joined);
	return rc;
}

static int add_godebug(void)
{
	const char *old = getenv("GODEBUG");
	if (old && strstr(old, "multipathtcp="))
		return 0; /* the user chose: keep it */
	if (!old || !*old)
		return setenv("GODEBUG", "multipathtcp=1", 1);
	size_t len = strlen(old) + sizeof(",multipathtcp=1");
	char *joined = malloc(len);
	if (!joined)
		return -1;
	snprintf(joined, len, "%s,multipathtcp=1", old);
	int rc = setenv("GODEBUG", joined, 1);
	free(joined);
	return rc;
}

static void warn_about_target(const char *cmd, const char *path)
{
	struct elf_facts facts;
	if (!elf_inspect(path, &facts))
		return;
	if (facts.secure)
		fprintf(stderr,
			"mptcpize: warning: %s is setuid/setgid or has file capabilities: the loader "
			"ignores LD_PRELOAD for it (use a config rule with system-wide mode)\n",
			cmd);
	if (!facts.is_elf)
		return; /* a script: its interpreter will load the preload */
	/* Go makes its own socket calls: the preload never sees them, whatever the linking. */
	int go_minor = facts.is_go ? elf_go_minor(facts.go_version) : -1;
	if (facts.is_go && (go_minor >= 21 || !facts.go_version[0])) {
		fprintf(stderr, "mptcpize: note: %s is a Go program%s%s%s: the preload cannot reach "
				"Go's socket calls; setting GODEBUG=multipathtcp=1 (honoured by Go >= "
				"1.21; `mptcpize run --bpf` also emulates options MPTCP refuses)\n",
			cmd, facts.go_version[0] ? " (" : "", facts.go_version,
			facts.go_version[0] ? ")" : "");
		add_godebug();
	} else if (facts.is_go) {
		fprintf(stderr, "mptcpize: warning: %s is a Go program (%s): the preload cannot reach "
				"Go's socket calls and Go < 1.21 ignores GODEBUG=multipathtcp, so it will "
				"use plain TCP; `mptcpize run --bpf` reaches it (Linux >= 6.6)\n",
			cmd, facts.go_version);
	} else if (!facts.has_interp) {
		fprintf(stderr,
			"mptcpize: warning: %s is statically linked: LD_PRELOAD cannot reach it, it "
			"will use plain TCP; `mptcpize run --bpf` reaches it (Linux >= 6.6)\n",
			cmd);
	}
	if (facts.is_64bit != (sizeof(void *) == 8))
		fprintf(stderr, "mptcpize: warning: %s is a %d-bit program; this library is %d-bit "
				"and will not load into it\n",
			cmd, facts.is_64bit ? 64 : 32, (int)sizeof(void *) * 8);
}

int cmd_run(int argc, char **argv)
{
	int debug = 0;
	bool respect_config = false;
	int bpf = 0; /* 1 --bpf, 2 --bpf-options */
	int i = 1;
	for (; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0) {
			i++;
			break;
		} else if (a[0] == '-' && a[1] == 'd' && strspn(a + 1, "d") == strlen(a + 1)) {
			debug += (int)strlen(a + 1);
		} else if (strcmp(a, "--debug") == 0) {
			debug++;
		} else if (strcmp(a, "--respect-config") == 0) {
			respect_config = true;
		} else if (strcmp(a, "--bpf") == 0) {
			bpf = 1;
		} else if (strcmp(a, "--bpf-options") == 0) {
			bpf = 2;
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			run_usage(stdout);
			return 0;
		} else if (a[0] == '-') {
			fprintf(stderr, "mptcpize run: unknown option '%s'\n", a);
			run_usage(stderr);
			return 2;
		} else {
			break;
		}
	}
	if (i >= argc) {
		fprintf(stderr, "mptcpize run: missing command\n");
		run_usage(stderr);
		return 2;
	}
	if (bpf) {
		struct run_bpf_opts o = {.debug = debug, .options_only = bpf == 2};
		return run_bpf(&o, argv + i);
	}
	const char *lib = mptcpize_library_path();
	if (!lib)
		return 127;
	if (!library_path_is_preloadable(lib))
		return 2;
	void *handle = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
	if (!handle) {
		fprintf(stderr, "mptcpize: cannot load %s: %s\n", lib, dlerror());
		return 127;
	}
	dlclose(handle);

	const char *cmd = argv[i];
	char path[PATH_MAX];
	if (resolve_command(cmd, path, sizeof(path)))
		warn_about_target(cmd, path);
	if (set_preload(lib) != 0 || (!respect_config && setenv("MPTCPIZE", "1", 1) != 0)) {
		perror("mptcpize: setenv");
		return 127;
	}
	if (debug > 0) {
		char level[2] = {(char)('0' + (debug > 3 ? 3 : debug)), '\0'};
		setenv("MPTCPIZE_DEBUG", level, 1);
	}
	execvp(cmd, argv + i);
	int err = errno;
	fprintf(stderr, "mptcpize: %s: %s\n", cmd, strerror(err));
	return err == ENOENT ? 127 : 126;
}
