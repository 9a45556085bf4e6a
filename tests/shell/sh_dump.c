/*
 * sh_dump.c - prints what src/shell makes of command lines, one line per
 * command in sh_format_cmd's form.  For people, for the differential test
 * (tests/shell/differential.py) and for writing corpus cases.
 *
 *   sh_dump [--cwd DIR] [--home DIR] [--user NAME] [--json] [COMMAND...]
 *   sh_dump ... -             commands from stdin, NUL-separated
 *
 * --json prints one JSON object per input: {"cmds": [{"argv": [...], "cwd":
 * ..., "parent": N, "via": "...", "flags": [...], "unres": "..."}], "unres": ...}
 * with strings as JSON (bytes over 0x7f escaped as \u00XX), for the
 * differential test.
 */
#include "shtest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void json_str(const char *s, size_t n)
{
	putchar('"');
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void dump_json(const struct sh_result *r)
{
	char names[256];

	printf("{\"unres\":");
	json_str(sh_unres_names(r->unres, names, sizeof(names)), strlen(names));
	printf(",\"cmds\":[");
	for (size_t i = 0; i < r->ncmds; i++) {
		const struct sh_cmd *c = &r->cmds[i];

		printf("%s{\"argv\":[", i ? "," : "");
		for (int k = 0; k < c->argc; k++) {
			if (k)
				putchar(',');
			json_str(c->argv[k].s, c->argv[k].len);
		}
		printf("],\"wunres\":[");
		for (int k = 0; k < c->argc; k++)
			printf("%s%u", k ? "," : "",
			       c->argv[k].unres | (c->argv[k].flags & SH_W_GLOB ? 1u << 31 : 0));
		printf("],\"cwd\":");
		if (c->cwd)
			json_str(c->cwd, strlen(c->cwd));
		else
			printf("null");
		printf(",\"parent\":%d,\"via\":\"%s\",\"flags\":%u,\"unres\":%u,\"pipe\":%d",
		       c->parent, sh_via_name(c->via), c->flags, c->unres, c->pipe_from);
		printf(",\"redirs\":[");
		for (int k = 0; k < c->nredirs; k++) {
			printf("%s{\"op\":%d,\"fd\":%d,\"net\":%d,\"target\":", k ? "," : "",
			       (int)c->redirs[k].op, c->redirs[k].fd,
			       (c->redirs[k].target.flags & SH_W_NET) != 0);
			json_str(c->redirs[k].target.s, c->redirs[k].target.len);
			putchar('}');
		}
		printf("]}");
	}
	printf("]}\n");
}

int main(int argc, char **argv)
{
	struct sh_opts o = shtest_opts();
	bool json = false, from_stdin = false;
	int k = 1;

	for (; k < argc; k++) {
		if (!strcmp(argv[k], "--cwd") && k + 1 < argc)
			o.cwd = argv[++k];
		else if (!strcmp(argv[k], "--home") && k + 1 < argc)
			o.home = argv[++k];
		else if (!strcmp(argv[k], "--user") && k + 1 < argc)
			o.user = argv[++k];
		else if (!strcmp(argv[k], "--json"))
			json = true;
		else if (!strcmp(argv[k], "-"))
			from_stdin = true;
		else
			break;
	}
	for (;;) {
		char *line = NULL;
		size_t cap = 0, len;
		struct sh_result *r;
		char buf[65536];

		if (from_stdin) {
			ssize_t n = getdelim(&line, &cap, '\0', stdin);

			if (n <= 0) {
				free(line);
				break;
			}
			len = (size_t)n;
			if (len && line[len - 1] == '\0')
				len--;
		} else {
			if (k >= argc)
				break;
			line = strdup(argv[k++]);
			len = strlen(line);
		}
		if (sh_parse(line, len, &o, &r) < 0) {
			printf(json ? "{\"error\":true}\n" : "error\n");
			free(line);
			continue;
		}
		if (json) {
			dump_json(r);
		} else {
			char names[128];

			for (size_t i = 0; i < r->ncmds; i++) {
				sh_format_cmd(r, i, &o, buf, sizeof(buf));
				printf("= %s\n", buf);
			}
			if (r->unres)
				printf("! %s at %zu\n",
				       sh_unres_names(r->unres, names, sizeof(names)),
				       r->error_off);
		}
		fflush(stdout);
		sh_result_free(r);
		free(line);
	}
	return 0;
}
