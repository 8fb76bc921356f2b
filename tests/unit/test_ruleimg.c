/* SPDX-License-Identifier: MIT */
/*
 * test_ruleimg.c - the compiled rule image: the same verdicts as the source it was compiled from
 * (differential over the fixtures and the fuzz corpus), rejection of every truncated, flipped or
 * hand-forged image, the trust rule, FIFOs, and the stale/missing/orphan states.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "ruleimg.h"
#include "ruleimg_build.h"
#include "rules.h"

static struct shim_config cfg;

static char *tmpdir(void)
{
	static char dir[64];
	snprintf(dir, sizeof(dir), "/tmp/mptcpize-ruleimg-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	return dir;
}

static void write_file(const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	cr_assert_geq(fd, 0, "%s", path);
	cr_assert_eq(write(fd, buf, len), (ssize_t)len);
	close(fd);
}

/* Checked whole, as the tool does (test_ruleimg_used.c covers the library's way). */
static bool view(struct shim_ruleimg *img, const void *bytes, size_t len, char *why)
{
	return shim_ruleimg_view(img, bytes, len, SHIM_RULEIMG_CHECK_ALL, why, 192);
}

static enum shim_ruleimg_status map(struct shim_ruleimg *img, const char *path, bool trusted,
				    char *why)
{
	return shim_ruleimg_map(img, path, trusted, SHIM_RULEIMG_CHECK_ALL, why, 192);
}

static enum shim_ruleimg_state load(struct shim_ruleimg *img, const char *src, char *why)
{
	return shim_ruleimg_load(img, src, false, SHIM_RULEIMG_CHECK_ALL, why, 192);
}

/* Index of a record in its array, -1 for NULL: comparable across two views. */
static long idx(const void *p, const void *base, size_t size)
{
	return p ? (long)(((const char *)p - (const char *)base) / (long)size) : -1;
}

static void same_decision(const struct shim_ruleset *a, struct shim_decision da,
			  const struct shim_ruleset *b, struct shim_decision db, const char *what)
{
	cr_expect_eq(da.mptcp, db.mptcp, "%s", what);
	cr_expect_eq(da.why, db.why, "%s", what);
	cr_expect_eq(idx(da.entry, a->nets, sizeof(*a->nets)), idx(db.entry, b->nets, sizeof(*b->nets)),
		     "%s", what);
}

/* Asks both rule sets the same questions: for identities made of the rules' own patterns and a
 * few others, which rule matches, and what every destination/listener check says. */
static void differential(const struct shim_ruleset *src, const struct shim_ruleset *img,
			 const char *name)
{
	cr_assert_eq(src->nrules, img->nrules, "%s", name);
	cr_expect_eq(src->default_mode, img->default_mode, "%s", name);
	cr_expect_eq(src->needs, img->needs, "%s", name);
	cr_expect_str_eq(shim_rules_str(src, src->file), shim_rules_str(img, img->file), "%s", name);
	const char *texts[64] = {"/usr/bin/curl", "curl", "nginx", "/x/tester", "tester", "", "0"};
	unsigned int nt = 7;
	for (unsigned int i = 0; i < src->npatterns && nt < 64; i++)
		texts[nt++] = shim_rules_str(src, src->patterns[i].text);
	static const uint32_t ids[] = {0, 33, 1000, 1001, SHIM_ID_NONE - 1};
	static const char *const dests4[] = {"127.0.0.1", "10.0.0.1", "10.9.1.1", "192.0.2.1",
					     "198.18.0.1", "203.0.113.7", "0.0.0.0", "255.255.255.255"};
	static const char *const dests6[] = {"::1", "fd00::1", "2001:db8::1", "::ffff:10.0.0.1", "::"};
	static const uint16_t ports[] = {0, 1, 22, 53, 80, 443, 444, 8000, 8099, 8100, 65535};
	for (unsigned int t = 0; t < nt; t++)
		for (unsigned int u = 0; u < sizeof(ids) / sizeof(ids[0]); u++) {
			struct shim_identity id = {.exe = texts[t], .comm = texts[(t + 1) % nt],
						   .argv0 = texts[t], .cgroups = "0::/system.slice/x.service\n"};
			id.uids[0] = id.uids[1] = ids[u];
			id.gids[0] = id.gids[1] = ids[u];
			id.ngids = 2;
			const struct shim_rule *ra = shim_rules_match(src, &id);
			const struct shim_rule *rb = shim_rules_match(img, &id);
			cr_assert_eq(idx(ra, src->rules, sizeof(*ra)), idx(rb, img->rules, sizeof(*rb)),
				     "%s: %s uid %u", name, texts[t], ids[u]);
			cr_expect_eq(shim_rules_mode(src, ra), shim_rules_mode(img, rb), "%s", name);
			if (u)
				continue;
			for (unsigned int p = 0; p < sizeof(ports) / sizeof(ports[0]); p++) {
				same_decision(src, shim_rules_listener(src, ra, ports[p]), img,
					      shim_rules_listener(img, rb, ports[p]), name);
				struct sockaddr_in s4 = {.sin_family = AF_INET, .sin_port = htons(ports[p])};
				for (unsigned int d = 0; d < sizeof(dests4) / sizeof(dests4[0]); d++) {
					inet_pton(AF_INET, dests4[d], &s4.sin_addr);
					same_decision(src, shim_rules_destination(src, ra, (void *)&s4, sizeof(s4)),
						      img, shim_rules_destination(img, rb, (void *)&s4, sizeof(s4)),
						      dests4[d]);
				}
				struct sockaddr_in6 s6 = {.sin6_family = AF_INET6, .sin6_port = htons(ports[p])};
				for (unsigned int d = 0; d < sizeof(dests6) / sizeof(dests6[0]); d++) {
					inet_pton(AF_INET6, dests6[d], &s6.sin6_addr);
					same_decision(src, shim_rules_destination(src, ra, (void *)&s6, sizeof(s6)),
						      img, shim_rules_destination(img, rb, (void *)&s6, sizeof(s6)),
						      dests6[d]);
				}
			}
		}
}

/* Compiles path to an image file, maps it back as the library does, compares. */
static bool compile_and_compare(const char *path, const char *dir)
{
	struct shim_config_report rep = {0};
	struct stat st;
	if (shim_config_load(&cfg, path, false, &rep, &st) != SHIM_CONFIG_OK)
		return false;
	size_t len;
	void *bytes = ruleimg_build(&cfg.rs, &st, &len);
	cr_assert_not_null(bytes);
	char img_path[600], why[192];
	snprintf(img_path, sizeof(img_path), "%s/x.img", dir);
	write_file(img_path, bytes, len);
	free(bytes);
	struct shim_ruleimg img;
	cr_assert_eq(map(&img, img_path, false, why), SHIM_RULEIMG_OK,
		     "%s: %s", path, why);
	cr_expect(shim_ruleimg_current(&img, &st));
	differential(&cfg.rs, &img.rs, path);
	shim_ruleimg_unmap(&img);
	return true;
}

static unsigned int compare_dir(const char *dirpath, const char *tmp)
{
	DIR *d = opendir(dirpath);
	cr_assert_not_null(d, "%s", dirpath);
	unsigned int compiled = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char path[1024];
		snprintf(path, sizeof(path), "%s/%s", dirpath, e->d_name);
		compiled += compile_and_compare(path, tmp);
	}
	closedir(d);
	return compiled;
}

/* A big rule set of every kind the index treats differently: literal names (one or several per
 * rule, some shared by rules, so the first must still win), globs, names with other keys, and
 * rules without names, interleaved. Each of its names is asked as exe and as comm. */
Test(ruleimg, name_index_gives_the_first_match_of_a_full_scan)
{
	char *tmp = tmpdir();
	char path[128];
	snprintf(path, sizeof(path), "%s/many.conf", tmp);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fprintf(f, "default = \"tcp\";\nrules = (\n");
	for (int i = 0; i < 300; i++) {
		const char *mode = i % 2 ? "mptcp" : "tcp";
		switch (i % 6) {
		case 0: fprintf(f, "{ name = \"p%d\"; mode = \"%s\"; },\n", i / 3, mode); break;
		case 1: fprintf(f, "{ name = [\"p%d\", \"q%d\"]; mode = \"%s\"; },\n", i / 3, i, mode); break;
		case 2: fprintf(f, "{ name = \"p%d*\"; mode = \"%s\"; },\n", i / 7, mode); break;
		case 3: fprintf(f, "{ name = \"p%d\"; user = \"root\"; mode = \"%s\"; },\n", i / 5, mode); break;
		case 4: fprintf(f, "{ user = %d; mode = \"%s\"; },\n", 1000 + i, mode); break;
		default: fprintf(f, "{ exe = \"/usr/bin/p%d\"; mode = \"%s\"; },\n", i / 4, mode); break;
		}
	}
	fprintf(f, "{ name = \"last\"; mode = \"mptcp\"; }\n);\n");
	fclose(f);
	cr_assert(compile_and_compare(path, tmp));
	struct shim_config_report rep = {0};
	cr_assert_eq(shim_config_load(&cfg, path, false, &rep, NULL), SHIM_CONFIG_OK, "%s", rep.first);
	size_t len;
	void *bytes = ruleimg_build(&cfg.rs, NULL, &len);
	struct shim_ruleimg img;
	char why[192];
	cr_assert(view(&img, bytes, len, why), "%s", why);
	unsigned int asked = 0;
	for (uint32_t i = 0; i < cfg.rs.npatterns; i++) {
		char exe[64];
		const char *text = shim_rules_str(&cfg.rs, cfg.rs.patterns[i].text);
		snprintf(exe, sizeof(exe), "/usr/bin/%s", text);
		const char *comms[] = {text, "nomatch", ""};
		for (unsigned int c = 0; c < 3; c++) {
			struct shim_identity a = {.exe = exe, .comm = comms[c], .argv0 = ""};
			struct shim_identity b = {.exe = "", .comm = text, .argv0 = ""};
			const struct shim_identity *ids[] = {&a, &b};
			for (unsigned int k = 0; k < 2; k++, asked++) {
				const struct shim_rule *ra = shim_rules_match(&cfg.rs, ids[k]);
				const struct shim_rule *rb = shim_rules_match(&img.rs, ids[k]);
				cr_assert_eq(idx(ra, cfg.rs.rules, sizeof(*ra)), idx(rb, img.rs.rules, sizeof(*rb)),
					     "%s as %s", text, k ? "comm" : "exe");
			}
		}
	}
	cr_expect_gt(asked, 1000u);
	cr_expect_gt(img.rs.nnames, 100u, "the literal names are indexed");
	cr_expect_gt(img.rs.nscan, 100u, "globs, users and exes are scanned");
	cr_expect_eq(img.rs.nnames + img.rs.nscan >= img.rs.nrules, true);
	free(bytes);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
	cr_expect_eq(system(cmd), 0);
}

Test(ruleimg, same_verdicts_as_the_source_fixtures_and_corpus)
{
	char *tmp = tmpdir();
	cr_expect_geq(compare_dir(FIXTURES_DIR, tmp), 5u);
	cr_expect_geq(compare_dir(CORPUS_DIR, tmp), 5u);
	cr_expect(compile_and_compare(EXAMPLE_CONF, tmp));
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
	cr_expect_eq(system(cmd), 0);
}

static void *example_image(size_t *len)
{
	struct shim_config_report rep = {0};
	cr_assert_eq(shim_config_load(&cfg, EXAMPLE_CONF, false, &rep, NULL), SHIM_CONFIG_OK);
	void *bytes = ruleimg_build(&cfg.rs, NULL, len);
	cr_assert_not_null(bytes);
	return bytes;
}

static void reseal(void *bytes, size_t len)
{
	(void)shim_ruleimg_seal(bytes, len); /* a forged layout cannot be sealed: view refuses it anyway */
}

Test(ruleimg, rejects_truncated_flipped_and_forged_images)
{
	size_t len;
	unsigned char *good = example_image(&len);
	unsigned char *buf = malloc(len);
	struct shim_ruleimg img;
	char why[192];
	cr_assert(view(&img, good, len, why), "%s", why);
	for (size_t n = 0; n < len; n++)
		cr_expect_not(view(&img, good, n, why), "prefix %zu", n);
	for (size_t i = 0; i < len; i++) {
		memcpy(buf, good, len);
		buf[i] ^= 0x40;
		cr_expect_not(view(&img, buf, len, why), "byte %zu", i);
	}
	/* Forged, with a valid checksum: the structure itself must be checked. */
	struct shim_ruleimg_header *h = (void *)buf;
	memcpy(buf, good, len);
	h->version = SHIM_RULEIMG_VERSION + 1;
	reseal(buf, len);
	cr_expect_not(view(&img, buf, len, why));
	cr_expect(strstr(why, "version") != NULL, "%s", why);
	memcpy(buf, good, len);
	h->section[SHIM_RULEIMG_NETS].count = 1000000;
	reseal(buf, len);
	cr_expect_not(view(&img, buf, len, why));
	memcpy(buf, good, len);
	struct shim_rule *r0 = (void *)(buf + h->section[SHIM_RULEIMG_RULES].offset);
	r0->include.first = 60000;
	r0->include.count = 9;
	reseal(buf, len);
	cr_expect_not(view(&img, buf, len, why));
	memcpy(buf, good, len);
	r0->id = 0xffffffffu;
	reseal(buf, len);
	cr_expect_not(view(&img, buf, len, why));
	memcpy(buf, good, len);
	buf[h->section[SHIM_RULEIMG_STRINGS].offset + h->section[SHIM_RULEIMG_STRINGS].count - 1] = 'x';
	reseal(buf, len);
	cr_expect_not(view(&img, buf, len, why), "unterminated strings");
	/* The name index: an entry naming no rule, two entries out of order, a scan list out of
	 * order (the binary search and the merge rely on the order). */
	cr_assert_geq(h->section[SHIM_RULEIMG_NAMES].count, 2u, "the example has named rules");
	struct shim_rules_name *names = (void *)(buf + h->section[SHIM_RULEIMG_NAMES].offset);
	memcpy(buf, good, len);
	names[0].rule = 100000;
	reseal(buf, len);
	cr_expect_not(view(&img, buf, len, why), "index past the rules");
	memcpy(buf, good, len);
	struct shim_rules_name first = names[0];
	names[0] = names[1];
	names[1] = first;
	reseal(buf, len);
	if (names[0].hash != names[1].hash || names[0].rule != names[1].rule)
		cr_expect_not(view(&img, buf, len, why), "index unsorted");
	if (h->section[SHIM_RULEIMG_SCAN].count >= 2) {
		memcpy(buf, good, len);
		uint32_t *scan = (void *)(buf + h->section[SHIM_RULEIMG_SCAN].offset);
		uint32_t t = scan[0];
		scan[0] = scan[1];
		scan[1] = t;
		reseal(buf, len);
		cr_expect_not(view(&img, buf, len, why), "scan unsorted");
	}
	free(buf);
	free(good);
}

Test(ruleimg, trust_rule_and_fifo)
{
	char *tmp = tmpdir();
	size_t len;
	void *bytes = example_image(&len);
	char path[128], why[192];
	snprintf(path, sizeof(path), "%s/a.img", tmp);
	write_file(path, bytes, len);
	free(bytes);
	struct shim_ruleimg img;
	cr_expect_eq(map(&img, path, false, why), SHIM_RULEIMG_OK, "%s", why);
	shim_ruleimg_unmap(&img);
	if (geteuid() == 0) {
		cr_expect_eq(map(&img, path, true, why), SHIM_RULEIMG_OK);
		shim_ruleimg_unmap(&img);
		cr_assert_eq(chown(path, 1234, 1234), 0);
		cr_expect_eq(map(&img, path, true, why), SHIM_RULEIMG_UNTRUSTED);
		cr_expect(strstr(why, "not owned by root") != NULL, "%s", why);
		cr_assert_eq(chown(path, 0, 0), 0);
	}
	cr_assert_eq(chmod(path, 0664), 0);
	cr_expect_eq(map(&img, path, true, why), SHIM_RULEIMG_UNTRUSTED);
	snprintf(path, sizeof(path), "%s/fifo.img", tmp);
	cr_assert_eq(mkfifo(path, 0644), 0);
	cr_expect_eq(map(&img, path, false, why), SHIM_RULEIMG_INVALID);
	cr_expect_str_eq(why, "not a regular file");
	/* The parser refuses a FIFO too, without waiting for a writer. */
	snprintf(path, sizeof(path), "%s/fifo.conf", tmp);
	cr_assert_eq(mkfifo(path, 0644), 0);
	struct shim_config_report rep = {0};
	cr_expect_eq(shim_config_load(&cfg, path, false, &rep, NULL), SHIM_CONFIG_ERROR);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
	cr_expect_eq(system(cmd), 0);
}

Test(ruleimg, current_stale_missing_orphan)
{
	char *tmp = tmpdir();
	char src[128], img_path[140], why[192];
	snprintf(src, sizeof(src), "%s/m.conf", tmp);
	snprintf(img_path, sizeof(img_path), "%s.img", src);
	struct shim_ruleimg img;
	cr_expect_eq(load(&img, src, why), SHIM_RULEIMG_NO_SOURCE);
	const char *text = "default = \"mptcp\";\n";
	write_file(src, text, strlen(text));
	cr_expect_eq(load(&img, src, why), SHIM_RULEIMG_NO_IMAGE);
	struct shim_config_report rep = {0};
	struct stat st;
	cr_assert_eq(shim_config_load(&cfg, src, false, &rep, &st), SHIM_CONFIG_OK);
	size_t len;
	void *bytes = ruleimg_build(&cfg.rs, &st, &len);
	write_file(img_path, bytes, len);
	free(bytes);
	cr_assert_eq(load(&img, src, why), SHIM_RULEIMG_CURRENT);
	cr_expect_eq(img.rs.default_mode, SHIM_MODE_MPTCP);
	shim_ruleimg_unmap(&img);
	/* Same size, new content: mtime/ctime tell. */
	usleep(10000);
	write_file(src, "default = \"tcp\"; \n", strlen(text));
	cr_expect_eq(load(&img, src, why), SHIM_RULEIMG_STALE);
	cr_assert_eq(unlink(src), 0);
	cr_expect_eq(load(&img, src, why), SHIM_RULEIMG_ORPHAN);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
	cr_expect_eq(system(cmd), 0);
}
