/* SPDX-License-Identifier: MIT */
/*
 * cmd_run.c - `mptcpize run [-d] [--respect-config] [--] CMD [ARGS...]`.
 *
 * Adds libmptcpize.so to LD_PRELOAD (appended to what is there, never replacing it), checks the
 * library really loads (a preload the loader cannot open is otherwise only a one-line warning
 * in the child), warns about targets the preload cannot reach, and execs CMD so that the exit
 * status is CMD's own: 127 if CMD is not found, 126 if it cannot be executed.
 */
#include "cli.h"
#include "ruleimg_write.h"
#include "commands.h"
#include "elfinfo.h"
#include "execpath.h"
#include "run_bpf.h"

#include <dlfcn.h>
#include <stdbool.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
	struct elfinfo_facts facts;
	if (!elfinfo_inspect(path, &facts))
		return;
	if (facts.secure)
		fprintf(stderr,
			"mptcpize: warning: %s is setuid/setgid or has file capabilities: the loader "
			"ignores LD_PRELOAD for it (use a config rule with system-wide mode)\n",
			cmd);
	if (!facts.is_elf)
		return; /* a script: its interpreter will load the preload */
	/* Go makes its own socket calls: the preload never sees them, whatever the linking. */
	int go_minor = facts.is_go ? elfinfo_go_minor(facts.go_version) : -1;
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

static const struct cli_opt run_opts[] = {
	{"debug", 'd', NULL, "log the shim's decisions to stderr (-dd, -ddd: more detail)", false},
	{"respect-config", 0x100, NULL, "follow the config file's rules instead of forcing MPTCP",
	 false},
	{"bpf", 0x101, NULL,
	 "use the BPF engine instead of the preload: reaches static and Go programs (root, Linux "
	 ">= 6.6 with BTF, cgroup v2)", false},
	{"bpf-options", 0x102, NULL,
	 "BPF option emulation only, for programs that create MPTCP sockets themselves (no "
	 "upgrade; any kernel with cgroup v2)", false},
	{0},
};

struct run_args {
	int debug;
	bool respect_config;
	int bpf; /* 1 --bpf, 2 --bpf-options */
};

static int run_opt(void *ctx, int key, const char *arg)
{
	struct run_args *a = ctx;
	(void)arg;
	if (key == 'd')
		a->debug++;
	else if (key == 0x100)
		a->respect_config = true;
	else
		a->bpf = key == 0x101 ? 1 : 2;
	return 0;
}

const struct cli_cmd cli_cmd_run = {
	.name = "run",
	.operands = "[--] CMD [ARGS...]",
	.summary = "Runs CMD with libmptcpize.so preloaded (or under the BPF engine), forced to "
		   "MPTCP; exits with CMD's status.",
	.opts = run_opts,
	.flags = CLI_IN_ORDER,
	.min_operands = 1,
	.max_operands = -1,
	.run = cmd_run,
};

int cmd_run(int argc, char **argv)
{
	struct run_args opt = {0};
	struct cli_args args;
	int rc = cli_parse(&cli_cmd_run, argc, argv, run_opt, &opt, &args);
	if (rc >= 0)
		return rc;
	int debug = opt.debug;
	bool respect_config = opt.respect_config;
	if (opt.bpf) {
		struct run_bpf_opts o = {.debug = debug, .options_only = opt.bpf == 2};
		return run_bpf(&o, args.ops);
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

	const char *cmd = args.ops[0];
	char path[PATH_MAX];
	if (execpath_find(cmd, path, sizeof(path)))
		warn_about_target(cmd, path);
	/* The library reads compiled images only: compile MPTCPIZE_CONFIG's file here, where
	 * libconfig is ours (ruleimg_write.h). */
	char img[PATH_MAX];
	const char *conf = getenv("MPTCPIZE_CONFIG");
	if (respect_config && conf && *conf && ruleimg_write_for_run(conf, img, sizeof(img)))
		setenv("MPTCPIZE_CONFIG", img, 1);
	if (set_preload(lib) != 0 || (!respect_config && setenv("MPTCPIZE", "1", 1) != 0)) {
		perror("mptcpize: setenv");
		return 127;
	}
	if (debug > 0) {
		char level[2] = {(char)('0' + (debug > 3 ? 3 : debug)), '\0'};
		setenv("MPTCPIZE_DEBUG", level, 1);
	}
	execvp(cmd, args.ops);
	int err = errno;
	fprintf(stderr, "mptcpize: %s: %s\n", cmd, strerror(err));
	return err == ENOENT ? 127 : 126;
}
