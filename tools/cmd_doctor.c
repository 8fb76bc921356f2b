/* SPDX-License-Identifier: MIT */
/*
 * cmd_doctor.c - `mptcpize doctor [--root DIR]`: is this machine (this network namespace) set
 * up so that MPTCP connections really use several paths? One OK/WARN/FAIL line per check,
 * with the fix. Exit status: 0 all OK, 1 warnings, 2 failures.
 *
 * Network checks read /proc/sys and `ip` of the namespace the command runs in (use
 * `ip netns exec NS mptcpize doctor` for another one); file checks look under DIR.
 */
#include "cli.h"
#include "commands.h"
#include "mptcpize-config.h"
#include "ruleimg.h"
#include "syscheck.h"

#include <ctype.h>
#include <dirent.h>
#include <glob.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum verdict { V_OK, V_WARN, V_FAIL };

/* Paths under --root: "/" adds nothing, so messages read /etc/..., not //etc/... */
static int worst;

__attribute__((format(printf, 3, 4))) static void report(enum verdict v, const char *fix,
                                                         const char *fmt, ...)
{
	static const char *const tags[] = {"OK  ", "WARN", "FAIL"};
	va_list ap;
	va_start(ap, fmt);
	printf("%s  ", tags[v]);
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	if (fix && v != V_OK)
		printf("      fix: %s\n", fix);
	if ((int)v > worst)
		worst = (int)v;
}

static bool read_sysctl(const char *name, char *out, size_t size)
{
	char path[256];
	snprintf(path, sizeof(path), "/proc/sys/%s", name);
	for (char *p = path + 10; *p; p++)
		if (*p == '.')
			*p = '/';
	FILE *f = fopen(path, "re");
	if (!f)
		return false;
	bool ok = fgets(out, (int)size, f) != NULL;
	fclose(f);
	if (ok)
		out[strcspn(out, "\n")] = '\0';
	return ok;
}

static bool process_running(const char *name)
{
	DIR *d = opendir("/proc");
	bool found = false;
	struct dirent *de;
	while (d && !found && (de = readdir(d)) != NULL) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		char path[300], comm[64] = "";
		snprintf(path, sizeof(path), "/proc/%s/comm", de->d_name);
		FILE *f = fopen(path, "re");
		if (f && fgets(comm, sizeof(comm), f))
			found =
			    strncmp(comm, name, strlen(name)) == 0 && comm[strlen(name)] == '\n';
		if (f)
			fclose(f);
	}
	if (d)
		closedir(d);
	return found;
}

struct endpoints {
	int total, subflow, signal;
	char subflow_addrs[8][64];
	int limit_subflows, limit_accepted;
};

static void read_endpoints(struct endpoints *e)
{
	memset(e, 0, sizeof(*e));
	e->limit_subflows = e->limit_accepted = -1;
	char line[512];
	FILE *p = popen("ip mptcp endpoint show 2>/dev/null", "re");
	while (p && fgets(line, sizeof(line), p)) {
		char addr[64];
		if (sscanf(line, "%63s", addr) != 1)
			continue;
		e->total++;
		if (strstr(line, " signal"))
			e->signal++;
		if (strstr(line, " subflow")) {
			if (e->subflow < 8)
				snprintf(e->subflow_addrs[e->subflow], 64, "%s", addr);
			e->subflow++;
		}
	}
	if (p)
		pclose(p);
	p = popen("ip mptcp limits show 2>/dev/null", "re");
	if (p && fgets(line, sizeof(line), p)) {
		char *s = strstr(line, "subflows ");
		char *a = strstr(line, "add_addr_accepted ");
		if (s)
			e->limit_subflows = atoi(s + 9);
		if (a)
			e->limit_accepted = atoi(a + 18);
	}
	if (p)
		pclose(p);
}

static bool has_source_rule(const char *addr)
{
	char cmd[128], line[512], want[80];
	snprintf(cmd, sizeof(cmd), "ip %s rule show 2>/dev/null", strchr(addr, ':') ? "-6" : "-4");
	snprintf(want, sizeof(want), "from %s ", addr);
	FILE *p = popen(cmd, "re");
	bool found = false;
	while (p && fgets(line, sizeof(line), p))
		found |= strstr(line, want) != NULL;
	if (p)
		pclose(p);
	return found;
}

static void check_kernel(bool *mptcp_on, bool *userspace_pm)
{
	char v[64];
	*mptcp_on = *userspace_pm = false;
	if (!read_sysctl("net.mptcp.enabled", v, sizeof(v))) {
		report(V_FAIL, "a kernel >= 5.6 built with CONFIG_MPTCP=y",
		       "kernel: no MPTCP support (/proc/sys/net/mptcp missing)");
		return;
	}
	*mptcp_on = strcmp(v, "1") == 0;
	if (*mptcp_on)
		report(V_OK, NULL, "kernel: MPTCP supported, net.mptcp.enabled=1");
	else
		report(V_FAIL, "sysctl -w net.mptcp.enabled=1", "kernel: net.mptcp.enabled=%s", v);
	char pm[64] = "";
	if (read_sysctl("net.mptcp.path_manager", pm, sizeof(pm)))
		*userspace_pm = strcmp(pm, "userspace") == 0;
	else if (read_sysctl("net.mptcp.pm_type", pm, sizeof(pm)))
		*userspace_pm = strcmp(pm, "1") == 0;
	bool mptcpd = process_running("mptcpd");
	bool nm = process_running("NetworkManager");
	if (*userspace_pm && !mptcpd)
		report(V_FAIL, "start mptcpd, or sysctl -w net.mptcp.path_manager=kernel",
		       "path manager: userspace, but mptcpd is not running: no extra subflows");
	else
		report(V_OK, NULL, "path manager: %s%s%s",
		       *userspace_pm ? "userspace" : "in-kernel", mptcpd ? ", mptcpd running" : "",
		       nm ? ", NetworkManager running (manages endpoints if mptcp-flags set)" : "");
}

static void check_paths(bool userspace_pm)
{
	struct endpoints e;
	read_endpoints(&e);
	if (userspace_pm)
		report(V_OK, NULL, "endpoints: managed by the userspace path manager");
	else if (e.total == 0)
		report(V_WARN,
		       "ip mptcp endpoint add ADDR dev IFACE subflow (client) or signal (server)",
		       "endpoints: none: connections stay on a single path");
	else
		report(V_OK, NULL, "endpoints: %d (%d subflow, %d signal)", e.total, e.subflow,
		       e.signal);
	if (e.limit_subflows < 0)
		report(V_WARN, "install iproute2 with MPTCP support", "limits: cannot read");
	else if (e.limit_subflows == 0)
		report(V_WARN, "ip mptcp limits set subflows 2 add_addr_accepted 2",
		       "limits: subflows 0: no additional subflow can be created");
	else if (e.limit_accepted == 0)
		report(V_WARN, "ip mptcp limits set add_addr_accepted 2",
		       "limits: add_addr_accepted 0: addresses announced by servers are ignored");
	else
		report(V_OK, NULL, "limits: subflows %d, add_addr_accepted %d", e.limit_subflows,
		       e.limit_accepted);
	if (e.limit_subflows >= 0 && e.subflow > e.limit_subflows)
		report(V_WARN, "raise `ip mptcp limits set subflows`",
		       "limits: %d subflow endpoints but subflows limit %d", e.subflow,
		       e.limit_subflows);

	int unrouted = 0;
	for (int i = 0; i < e.subflow && i < 8; i++)
		if (!has_source_rule(e.subflow_addrs[i])) {
			report(
			    V_WARN,
			    "ip rule add from ADDR table N; ip route add default via GW dev IFACE "
			    "table N",
			    "routing: no policy rule for subflow endpoint %s: its subflows may "
			    "leave by the default route's interface",
			    e.subflow_addrs[i]);
			unrouted++;
		}
	if (e.subflow && !unrouted)
		report(V_OK, NULL, "routing: source rules for every subflow endpoint");

	char all[16] = "0", v[16];
	read_sysctl("net.ipv4.conf.all.rp_filter", all, sizeof(all));
	int strict = 0;
	DIR *d = opendir("/proc/sys/net/ipv4/conf");
	struct dirent *de;
	while (d && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || !strcmp(de->d_name, "all") ||
		    !strcmp(de->d_name, "default") || !strcmp(de->d_name, "lo"))
			continue;
		char name[320];
		snprintf(name, sizeof(name), "net.ipv4.conf.%s.rp_filter", de->d_name);
		/* The effective mode is the larger of "all" and the interface's own. */
		if (read_sysctl(name, v, sizeof(v)) &&
		    (atoi(v) == 1 || (atoi(all) == 1 && atoi(v) != 2)))
			strict++;
	}
	if (d)
		closedir(d);
	if (strict && e.total)
		report(V_WARN,
		       "sysctl -w net.ipv4.conf.all.rp_filter=2 (loose) and the same per interface",
		       "rp_filter: strict on %d interface(s): subflow packets arriving on another "
		       "interface may be dropped",
		       strict);
	else
		report(V_OK, NULL, "rp_filter: %s",
		       strict ? "strict, but no endpoints" : "not strict");
}

static void check_files(const char *root)
{
	const char *lib = mptcpize_library_path();
	char why[PATH_MAX + 128];
	if (lib && syscheck_library_preloads(lib, why, sizeof(why)))
		report(V_OK, NULL, "library: %s loads", lib);
	else if (lib)
		report(V_FAIL, "reinstall mptcpize", "library: %s: %s", lib, why);
	else
		report(V_FAIL, "reinstall mptcpize, or set MPTCPIZE_LIB", "library: not found");

	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/etc/ld.so.preload", syscheck_under(root));
	size_t len, pos = 0, s, e;
	char *buf = syscheck_read_file(path, &len, NULL);
	bool listed = false;
	while (buf && syscheck_next_entry(buf, len, &pos, &s, &e)) {
		if (!syscheck_entry_is_ours(buf, s, e))
			continue;
		listed = true;
		char entry[PATH_MAX], full[PATH_MAX * 2];
		snprintf(entry, sizeof(entry), "%.*s", (int)(e - s), buf + s);
		snprintf(full, sizeof(full), "%s%s", strcmp(root, "/") ? root : "", entry);
		if (!syscheck_library_is_safe(full, why, sizeof(why)))
			report(V_FAIL, "mptcpize uninstall --system, then install again",
			       "system-wide: %s lists %s: %s", path, entry, why);
		else
			report(V_OK, NULL, "system-wide: %s lists %s", path, entry);
	}
	free(buf);
	char conf[PATH_MAX];
	snprintf(conf, sizeof(conf), "%s%s", syscheck_under(root), MPTCPIZE_SYSCONF_FILE);
	char problem[512];
	enum syscheck_conf cs = syscheck_config_state(conf, problem, sizeof(problem));
	if (!listed)
		report(V_OK, NULL, "system-wide: not installed (%s)", path);
	else if (cs == SYSCHECK_CONF_MISSING)
		report(V_WARN, "write rules for the programs that should use MPTCP (mptcpize.conf(5))",
		       "config: %s missing: preloaded programs stay on TCP", conf);
	else if (cs == SYSCHECK_CONF_INVALID)
		report(V_FAIL, "mptcpize check", "config: %s: %s", conf, problem);
	else
		report(V_OK, NULL, "config: %s%s", conf,
		       cs == SYSCHECK_CONF_DEFAULT_MPTCP ? " (default mptcp)" : "");
	if (listed && (cs == SYSCHECK_CONF_RULES_ONLY || cs == SYSCHECK_CONF_DEFAULT_MPTCP)) {
		/* What the library reads is the compiled image, not the file. */
		struct shim_ruleimg img;
		char bad[192] = "";
		enum shim_ruleimg_state st = shim_ruleimg_load(&img, conf, true, SHIM_RULEIMG_CHECK_ALL, bad,
							       sizeof(bad));
		shim_ruleimg_unmap(&img);
		if (st == SHIM_RULEIMG_CURRENT)
			report(V_OK, NULL, "rules: %s%s current", conf, SHIM_RULEIMG_SUFFIX);
		else
			report(V_FAIL, "mptcpize check --compile",
			       "rules: %s%s %s%s%s: preloaded programs stay on TCP", conf,
			       SHIM_RULEIMG_SUFFIX, shim_ruleimg_state_name(st), *bad ? ": " : "", bad);
	}

	snprintf(path, sizeof(path), "%s/etc/systemd/system/*.d/50-mptcpize.conf", syscheck_under(root));
	glob_t g;
	if (glob(path, 0, NULL, &g) == 0) {
		for (size_t i = 0; i < g.gl_pathc; i++) {
			buf = syscheck_read_file(g.gl_pathv[i], &len, NULL);
			char *pre = buf ? strstr(buf, "LD_PRELOAD=") : NULL;
			char lp[PATH_MAX] = "";
			if (pre)
				sscanf(pre + 11, "%4095[^\n \"]", lp);
			char full[PATH_MAX * 2];
			snprintf(full, sizeof(full), "%s%s", syscheck_under(root), lp);
			struct stat st;
			if (pre && stat(full, &st) != 0)
				report(V_FAIL,
				       "mptcpize enable UNIT again, or mptcpize disable UNIT",
				       "unit drop-in %s: library %s missing", g.gl_pathv[i], lp);
			else
				report(V_OK, NULL, "unit drop-in: %s", g.gl_pathv[i]);
			free(buf);
		}
		globfree(&g);
	}
}

const struct cli_cmd cli_cmd_doctor = {
	.name = "doctor",
	.summary = "Checks MPTCP in this network namespace and the files under DIR, one line per "
		   "check with its fix; exit 0 all OK, 1 warnings, 2 failures.",
	.flags = CLI_ROOT,
	.run = cmd_doctor,
};

int cmd_doctor(int argc, char **argv)
{
	struct cli_args args;
	int rc = cli_parse(&cli_cmd_doctor, argc, argv, NULL, NULL, &args);
	if (rc >= 0)
		return rc;
	const char *root = args.root;
	bool on, userspace;
	check_kernel(&on, &userspace);
	if (on)
		check_paths(userspace);
	check_files(root);
	return worst;
}
