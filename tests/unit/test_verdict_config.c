/* SPDX-License-Identifier: MIT */
/*
 * Unit tests: verdict.c and the config file. The library reads only compiled images: a current
 * one decides; a stale, missing, orphaned or broken one leaves the program on TCP with exactly
 * one line naming the fix (on stderr for MPTCPIZE_CONFIG; for the system file /etc/mptcpize.conf,
 * to syslog, unless MPTCPIZE_DEBUG is set); no config at all is the built-in default (TCP),
 * silently. A corrupt byte in a rule the decision reads is found then (the library checks the
 * image as it uses it), with the same outcome as a broken image. The system file lives in a chroot'ed child's root with its own /dev/log.
 */
#include <criterion/criterion.h>
#include <unistd.h>

#include "verdict_util.h"

TestSuite(verdict_config, .fini = fakeroot_cleanup, .timeout = 60);

static const char mptcp_default[] = "default = \"mptcp\";\n";

/* Same size, new content (the image records size, mtime and ctime of its source). */
static void touch_source(const char *src)
{
	usleep(20000);
	write_text(src, "default = \"tcp\"; \n");
}

/* What exists beside the config path, and in what state. */
struct files {
	bool source, image, stale, broken, untrusted;
	bool corrupt; /* one rule that every program's decision reads, one byte of it flipped */
};

/* A rule any program's match reads (a glob is tried on every program), with one byte of its
 * record flipped: its line number, which only the block checksum can tell. */
static void corrupt_rule(const char *src, const char *img)
{
	write_text(src, "default = \"mptcp\";\nrules = ( { name = \"*\"; mode = \"mptcp\"; } );\n");
	compile(src);
	FILE *f = fopen(img, "r+b");
	cr_assert_not_null(f);
	struct shim_ruleimg_header h;
	cr_assert_eq(fread(&h, sizeof(h), 1, f), 1u);
	long at = (long)h.section[SHIM_RULEIMG_RULES].offset + (long)offsetof(struct shim_rule, line);
	cr_assert_eq(fseek(f, at, SEEK_SET), 0);
	int c = fgetc(f);
	cr_assert_eq(fseek(f, at, SEEK_SET), 0);
	fputc(c ^ 0x10, f);
	fclose(f);
}

/* Makes src (default mptcp) and src.img as f says. */
static void make_files(const char *src, struct files f)
{
	char img[200];
	snprintf(img, sizeof(img), "%s%s", src, SHIM_RULEIMG_SUFFIX);
	write_text(src, mptcp_default);
	if (f.image)
		compile(src);
	if (f.corrupt)
		corrupt_rule(src, img);
	if (f.stale)
		touch_source(src);
	if (f.broken)
		cr_assert_eq(truncate(img, 24), 0);
	if (f.untrusted)
		cr_assert_eq(chmod(img, 0666), 0);
	if (!f.source)
		cr_assert_eq(unlink(src), 0);
}

/* tmpl with every "SRC" replaced by src. */
static void subst(char *out, size_t size, const char *tmpl, const char *src)
{
	size_t used = 0;
	for (const char *p = tmpl; *p && used + 1 < size;) {
		if (strncmp(p, "SRC", 3) == 0) {
			used += (size_t)snprintf(out + used, size - used, "%s", src);
			p += 3;
		} else {
			out[used++] = *p++;
		}
	}
	out[used < size ? used : size - 1] = '\0';
}

struct file_case {
	const char *name;
	struct files files;
	bool image_path; /* MPTCPIZE_CONFIG names the image itself */
	bool wants;
	int state;
	const char *line; /* the warning, SRC standing for the source path (NULL: silence) */
};

static const struct file_case file_cases[] = {
	{"current", {true, true, false, false, false, false}, false, true, SHIM_RULEIMG_CURRENT, NULL},
	{"stale", {true, true, true, false, false, false}, false, false, SHIM_RULEIMG_STALE,
	 "warning: SRC.img is stale (the source changed after it was compiled): this program "
	 "stays on TCP until `mptcpize check --compile SRC`\n"},
	{"never compiled", {true, false, false, false, false, false}, false, false, SHIM_RULEIMG_NO_IMAGE,
	 "warning: SRC.img is missing (the source was never compiled): this program stays on "
	 "TCP until `mptcpize check --compile SRC`\n"},
	{"nothing", {false, false, false, false, false, false}, false, false, SHIM_RULEIMG_NO_SOURCE,
	 "warning: SRC: no such file (this program stays on TCP)\n"},
	{"orphan", {false, true, false, false, false, false}, false, false, SHIM_RULEIMG_ORPHAN,
	 "warning: SRC: no such file (this program stays on TCP)\n"},
	{"broken image", {true, true, false, true, false, false}, false, false, SHIM_RULEIMG_BAD,
	 "warning: SRC.img: truncated or too large (24 bytes): ignored, this program stays on TCP (fix: `mptcpize check "
	 "--compile SRC`)\n"},
	{"corrupt rule", {true, true, false, false, false, true}, false, false, SHIM_RULEIMG_BAD,
	 "warning: SRC.img: checksum mismatch (corrupt): ignored, this program stays on TCP (fix: "
	 "`mptcpize check --compile SRC`)\n"},
	{"image named", {true, true, false, false, false, false}, true, true, SHIM_RULEIMG_CURRENT, NULL},
	{"image named, corrupt rule", {true, true, false, false, false, true}, true, false,
	 SHIM_RULEIMG_BAD, "warning: SRC.img: checksum mismatch (corrupt): ignored (this program "
	 "stays on TCP)\n"},
	{"image named, missing", {false, false, false, false, false, false}, true, false, SHIM_RULEIMG_BAD,
	 "warning: SRC.img: no such file: ignored (this program stays on TCP)\n"},
	{"image named, broken", {true, true, false, true, false, false}, true, false, SHIM_RULEIMG_BAD,
	 "warning: SRC.img: truncated or too large (24 bytes): ignored (this program stays on TCP)\n"},
};

Test(verdict_config, mptcpize_config_every_state)
{
	for (size_t i = 0; i < sizeof(file_cases) / sizeof(file_cases[0]); i++) {
		const struct file_case *fc = &file_cases[i];
		struct fakeroot r;
		fakeroot_make(&r);
		char src[128], img[140], env_path[180];
		snprintf(src, sizeof(src), "%s/etc/a.conf", r.dir);
		snprintf(img, sizeof(img), "%s.img", src);
		make_files(src, fc->files);
		snprintf(env_path, sizeof(env_path), "MPTCPIZE_CONFIG=%s", fc->image_path ? img : src);
		const char *env[] = {env_path, NULL};
		struct scenario s = {.env = env};
		struct outcome o;
		char err[1024], want[1024] = "";
		decide(&s, &o, err, sizeof(err));
		cr_expect_eq(o.wants, fc->wants, "%s", fc->name);
		cr_expect_eq(o.state, fc->state, "%s: state %d", fc->name, o.state);
		if (fc->line)
			subst(want, sizeof(want), fc->line, src);
		const char *text = strchr(err, ' '); /* after "mptcpize[pid]:" */
		cr_expect_eq(count_lines(err), fc->line ? 1u : 0u, "%s: %s", fc->name, err);
		cr_expect_str_eq(text ? text + 1 : "", want, "%s: got %s", fc->name, err);
		if (fc->wants)
			cr_expect(o.dest[D_NET].mptcp && !o.dest[D_LO].mptcp, "%s: default rules", fc->name);
		fakeroot_remove(&r);
	}
}

struct system_case {
	const char *name;
	struct files files;
	bool debugging, secure;
	bool wants;
	int state;
	const char *line; /* the syslog datagram's text, or the stderr line when debugging */
};

static const struct system_case system_cases[] = {
	{"no config", {false, false, false, false, false, false}, false, false, false,
	 SHIM_RULEIMG_NO_SOURCE, NULL},
	{"current", {true, true, false, false, false, false}, false, false, true, SHIM_RULEIMG_CURRENT,
	 NULL},
	{"stale", {true, true, true, false, false, false}, false, false, false, SHIM_RULEIMG_STALE,
	 "/etc/mptcpize.conf.img is stale (the source changed after it was compiled): programs "
	 "stay on TCP until `mptcpize check --compile`"},
	{"stale, debugging", {true, true, true, false, false, false}, true, false, false,
	 SHIM_RULEIMG_STALE,
	 "warning: /etc/mptcpize.conf.img is stale (the source changed after it was compiled): "
	 "programs stay on TCP until `mptcpize check --compile`\n"},
	{"writable by others", {true, true, false, false, true, false}, false, false, false,
	 SHIM_RULEIMG_BAD,
	 "/etc/mptcpize.conf.img: writable by group or others (mode 666): ignored, programs stay on TCP (fix: "
	 "`mptcpize check --compile`)"},
	{"corrupt rule", {true, true, false, false, false, true}, false, false, false,
	 SHIM_RULEIMG_BAD,
	 "/etc/mptcpize.conf.img: checksum mismatch (corrupt): ignored, programs stay on TCP (fix: "
	 "`mptcpize check --compile`)"},
	{"orphan", {false, true, false, false, false, false}, false, false, false, SHIM_RULEIMG_ORPHAN,
	 "/etc/mptcpize.conf.img: its source is gone: ignored, programs stay on TCP (remove it, or "
	 "restore the source and run `mptcpize check --compile`)"},
	/* setuid: MPTCPIZE=1 and MPTCPIZE_CONFIG ignored, the (absent) system file decides */
	{"secure-exec", {false, false, false, false, false, false}, false, true, false,
	 SHIM_RULEIMG_NO_SOURCE, NULL},
};

Test(verdict_config, system_file_every_state)
{
	for (size_t i = 0; i < sizeof(system_cases) / sizeof(system_cases[0]); i++) {
		const struct system_case *sc = &system_cases[i];
		struct fakeroot r;
		fakeroot_make(&r);
		char src[128];
		snprintf(src, sizeof(src), "%s/etc/mptcpize.conf", r.dir);
		make_files(src, sc->files);
		char other[160];
		snprintf(other, sizeof(other), "MPTCPIZE_CONFIG=%s/etc/elsewhere.conf", r.dir);
		const char *env[] = {"MPTCPIZE=1", other, NULL};
		struct scenario s = {.env = sc->secure ? env : NULL, .secure = sc->secure,
				     .root = r.dir, .debugging = sc->debugging};
		struct outcome o;
		char err[1024], dgram[1024];
		decide(&s, &o, err, sizeof(err));
		cr_expect_eq(o.wants, sc->wants, "%s", sc->name);
		cr_expect_eq(o.state, sc->state, "%s: state %d", sc->name, o.state);
		ssize_t n = fakeroot_syslog(&r, dgram, sizeof(dgram));
		const char *text = strchr(n > 0 ? dgram : err, ' ');
		text = text ? text + 1 : "";
		if (!sc->line) {
			cr_expect_str_eq(err, "", "%s: stderr", sc->name);
			cr_expect_lt(n, 0, "%s: syslog got %s", sc->name, dgram);
		} else if (sc->debugging) {
			cr_expect_lt(n, 0, "%s: syslog got %s", sc->name, dgram);
			cr_expect_eq(count_lines(err), 1u, "%s: %s", sc->name, err);
			cr_expect_str_eq(text, sc->line, "%s", sc->name);
		} else {
			cr_expect_str_eq(err, "", "%s: a system problem on the program's stderr",
					 sc->name);
			cr_expect_gt(n, 0, "%s: nothing sent to syslog", sc->name);
			cr_expect_eq(strncmp(dgram, "<12>mptcpize[", 13), 0, "%s: %s", sc->name, dgram);
			cr_expect_str_eq(text, sc->line, "%s", sc->name);
			cr_expect_lt(fakeroot_syslog(&r, dgram, sizeof(dgram)), 0, "%s: a second line",
				     sc->name);
		}
		fakeroot_remove(&r);
	}
}
