/* SPDX-License-Identifier: MIT */
/*
 * cli.c - the argument layer every command uses; see cli.h.
 *
 * Options are parsed by getopt_long in one of two orders. By default ("-" mode) operands are
 * returned in place, so a "--" keeps its position: `explain 1.2.3.4:443 -- curl` knows where the
 * DESTs end and the CMD begins, and a leading "--" means "no DEST". With CLI_IN_ORDER ("+" mode)
 * the first operand ends the options, so `run curl -d` passes -d to curl.
 */
#include "cli.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define CLI_KEY_ROOT 0x7f01
#define CLI_MAX_OPTS 32

static const struct cli_opt root_opt = {"root", CLI_KEY_ROOT, "DIR",
					"operate on the system image under DIR (default /)", false};
static const struct cli_opt help_opt = {"help", 'h', NULL, "print this help and exit", false};

static bool has_short(const struct cli_opt *o)
{
	return o->key > 0 && o->key < 256;
}

/* Prints text wrapped at 78 columns, each line after the first indented by indent. */
static void print_wrapped(const char *text, int indent, FILE *out)
{
	int col = indent;
	for (const char *p = text; *p;) {
		size_t w = strcspn(p, " ");
		if (col > indent && col + 1 + (int)w > 78) {
			fprintf(out, "\n%*s", indent, "");
			col = indent;
		} else if (col > indent) {
			fputc(' ', out);
			col++;
		}
		fprintf(out, "%.*s", (int)w, p);
		col += (int)w;
		p += w;
		p += strspn(p, " ");
	}
	fputc('\n', out);
}

void cli_synopsis(const struct cli_cmd *cmd, FILE *out)
{
	fprintf(out, "mptcpize %s", cmd->name);
	for (const struct cli_opt *o = cmd->opts; o && o->name; o++) {
		fputs(o->required ? " " : " [", out);
		fprintf(out, "--%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
		if (!o->required)
			fputc(']', out);
	}
	if (cmd->flags & CLI_ROOT)
		fputs(" [--root DIR]", out);
	if (cmd->operands && *cmd->operands)
		fprintf(out, " %s", cmd->operands);
	fputc('\n', out);
}

void cli_usage(const struct cli_cmd *cmd, FILE *out, bool details)
{
	fputs("usage: ", out);
	cli_synopsis(cmd, out);
	if (!details)
		return;
	print_wrapped(cmd->summary, 0, out);
	const struct cli_opt *extra[] = {(cmd->flags & CLI_ROOT) ? &root_opt : NULL, &help_opt};
	size_t nopts = 0;
	while (cmd->opts && cmd->opts[nopts].name)
		nopts++;
	for (size_t i = 0; i < nopts + 2; i++) {
		const struct cli_opt *o = i < nopts ? &cmd->opts[i] : extra[i - nopts];
		if (!o)
			continue;
		char shortw[8] = "    ", words[64];
		if (has_short(o))
			snprintf(shortw, sizeof(shortw), "-%c, ", o->key);
		snprintf(words, sizeof(words), "%s--%s%s%s", shortw, o->name, o->arg ? " " : "",
			 o->arg ? o->arg : "");
		fprintf(out, "  %-24s ", words);
		print_wrapped(o->help, 27, out);
	}
	fprintf(out, "Exit status: see mptcpize(8).\n");
}

int cli_usage_error(const struct cli_cmd *cmd, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "mptcpize %s: ", cmd->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	cli_usage(cmd, stderr, false);
	return CLI_EXIT_FAIL;
}

/* Fills getopt_long's tables from the command's options, --root and --help. */
static void build_tables(const struct cli_cmd *cmd, struct option *longs, char *shorts, size_t n)
{
	size_t nl = 0, ns = 0;
	shorts[ns++] = (cmd->flags & CLI_IN_ORDER) ? '+' : '-';
	shorts[ns++] = ':'; /* we print the messages */
	const struct cli_opt *all[CLI_MAX_OPTS + 2];
	size_t na = 0;
	for (const struct cli_opt *o = cmd->opts; o && o->name && na < CLI_MAX_OPTS; o++)
		all[na++] = o;
	if (cmd->flags & CLI_ROOT)
		all[na++] = &root_opt;
	all[na++] = &help_opt;
	for (size_t i = 0; i < na && nl + 1 < n; i++) {
		longs[nl++] = (struct option){all[i]->name, all[i]->arg ? required_argument : no_argument,
					      NULL, all[i]->key};
		if (has_short(all[i]) && ns + 3 < n) {
			shorts[ns++] = (char)all[i]->key;
			if (all[i]->arg)
				shorts[ns++] = ':';
		}
	}
	longs[nl] = (struct option){0};
	shorts[ns] = '\0';
}

int cli_parse(const struct cli_cmd *cmd, int argc, char **argv,
	      int (*on_opt)(void *ctx, int key, const char *arg), void *ctx, struct cli_args *out)
{
	struct option longs[CLI_MAX_OPTS + 3];
	char shorts[2 * CLI_MAX_OPTS + 8];
	build_tables(cmd, longs, shorts, sizeof(longs) / sizeof(longs[0]));
	*out = (struct cli_args){.root = "/"};
	/* The operand array lives until the next parse or exit (one parse per process): kept
	 * here, so it stays reachable and a leak checker does not report it. */
	static char **ops_owned;
	free(ops_owned);
	ops_owned = calloc((size_t)argc + 1, sizeof(char *));
	out->ops = ops_owned;
	if (!out->ops) {
		perror("mptcpize");
		return CLI_EXIT_FAIL;
	}
	const char *last_optarg = NULL;
	int c;
	opterr = 0;
	optind = 0; /* full re-initialisation of GNU getopt */
	while ((c = getopt_long(argc, argv, shorts, longs, NULL)) != -1) {
		if (c == 1) { /* an operand, in place ("-" mode) */
			out->ops[out->nops++] = optarg;
			continue;
		}
		if (c == '?') {
			if (optopt)
				return cli_usage_error(cmd, "unknown option '-%c'", optopt);
			return cli_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
		}
		if (c == ':')
			return cli_usage_error(cmd, "option '%s' needs an argument", argv[optind - 1]);
		last_optarg = optarg;
		if (c == 'h') {
			cli_usage(cmd, stdout, true);
			return CLI_EXIT_OK;
		}
		if (c == CLI_KEY_ROOT) {
			if (!*optarg)
				return cli_usage_error(cmd, "--root needs a directory");
			out->root = optarg;
			continue;
		}
		int rc = on_opt ? on_opt(ctx, c, optarg) : CLI_EXIT_FAIL;
		if (rc != 0)
			return rc;
	}
	/* Did a "--" (not an option's argument) end the scan? */
	out->dashdash = optind > 1 && strcmp(argv[optind - 1], "--") == 0 &&
			argv[optind - 1] != last_optarg;
	if (cmd->flags & CLI_IN_ORDER) {
		for (int i = optind; i < argc; i++)
			out->ops[out->nops++] = argv[i];
	} else if (out->dashdash && (cmd->flags & CLI_REST)) {
		out->rest = argv + optind;
		out->nrest = argc - optind;
	} else {
		for (int i = optind; i < argc; i++) /* "--" only ended the options */
			out->ops[out->nops++] = argv[i];
	}
	if (out->nops < cmd->min_operands)
		return cli_usage_error(cmd, "missing arguments");
	if (cmd->max_operands >= 0 && out->nops > cmd->max_operands)
		return cli_usage_error(cmd, "unexpected argument '%s'", out->ops[cmd->max_operands]);
	return -1;
}
