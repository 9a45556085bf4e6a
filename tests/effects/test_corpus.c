/*
 * test_corpus.c - src/effects against tests/effects/corpus.txt: each case is
 * a command line (or a file tool call) and the effects it has, one fx_format
 * line each, in order, as reviewed by hand.  Paths are normalized but not
 * resolved against the file system (test_resolve.c does that).  The format:
 *
 *   # a comment                    (and blank lines)
 *   $ COMMAND LINE                 a case; "> MORE" continues it
 *   @ TOOL PATH [PATTERN]          a file tool case (Read, Write, Glob, ...)
 *   = EFFECT                       an effect, in order
 *
 * Read with the directory /home/u/proj (the project root), $HOME /home/u,
 * user u (tests/shell/shtest.h).
 *
 *   test_corpus [CORPUS] [--print]     --print writes the actual lines instead
 */
#include "../shell/shtest.h"
#include "effects.h"
#include "tap.h"

#include <stdlib.h>

#ifndef CORPUS
#define CORPUS "tests/effects/corpus.txt"
#endif

struct kase {
	int line;
	bool tool;
	char *cmd;
	size_t len;
	char **want;
	size_t nwant;
};

static char *xstrdup(const char *s)
{
	char *d = strdup(s);

	if (!d)
		abort();
	return d;
}

static void add_want(struct kase *k, const char *s)
{
	char **n = realloc(k->want, (k->nwant + 1) * sizeof(*n));

	if (!n)
		abort();
	k->want = n;
	k->want[k->nwant++] = xstrdup(s);
}

static struct kase *load(const char *path, size_t *n)
{
	FILE *f = fopen(path, "r");
	struct kase *v = NULL;
	char *line = NULL;
	size_t cap = 0;
	ssize_t got;
	int lineno = 0;

	*n = 0;
	if (!f)
		return NULL;
	while ((got = getline(&line, &cap, f)) >= 0) {
		lineno++;
		if (got && line[got - 1] == '\n')
			line[--got] = '\0';
		if ((line[0] == '$' || line[0] == '@') && line[1] == ' ') {
			struct kase *nv = realloc(v, (*n + 1) * sizeof(*nv));

			if (!nv)
				abort();
			v = nv;
			memset(&v[*n], 0, sizeof(v[*n]));
			v[*n].line = lineno;
			v[*n].tool = line[0] == '@';
			v[*n].cmd = xstrdup(line + 2);
			v[*n].len = strlen(v[*n].cmd);
			(*n)++;
		} else if (*n && line[0] == '>' && (line[1] == ' ' || !line[1])) {
			struct kase *k = &v[*n - 1];
			size_t add = line[1] ? strlen(line + 2) : 0;
			char *c = realloc(k->cmd, k->len + add + 2);

			if (!c)
				abort();
			c[k->len] = '\n';
			memcpy(c + k->len + 1, line[1] ? line + 2 : "", add + 1);
			k->cmd = c;
			k->len += add + 1;
		} else if (*n && line[0] == '=' && line[1] == ' ') {
			add_want(&v[*n - 1], line);
		}
	}
	free(line);
	fclose(f);
	return v;
}

/* The effects of a case, or NULL when a call failed. */
static struct fx_result *run(const struct kase *k, const struct fx_opts *fo)
{
	struct sh_opts so = shtest_opts();
	struct fx_result *fx = NULL;
	struct sh_result *r = NULL;

	if (k->tool) {
		char tool[32], path[1024], pat[256];
		int n = sscanf(k->cmd, "%31s %1023s %255s", tool, path, pat);

		if (n < 1 ||
		    fx_from_tool(tool, n >= 2 ? path : NULL, n >= 3 ? pat : NULL, fo, &fx) < 0)
			return NULL;
		return fx;
	}
	if (sh_parse(k->cmd, k->len, &so, &r) < 0)
		return NULL;
	if (fx_from_shell(r, fo, &fx) < 0)
		fx = NULL;
	sh_result_free(r);
	return fx;
}

int main(int argc, char **argv)
{
	const char *path = argc > 1 && argv[1][0] != '-' ? argv[1] : CORPUS;
	bool print = argc > 1 && !strcmp(argv[argc - 1], "--print");
	struct fx_opts fo = { .project = "/home/u/proj", .home = "/home/u" };
	size_t n, total = 0;
	struct kase *cases = load(path, &n);

	TAP_OK(cases && n > 0, "corpus %s: %zu cases", path, n);
	for (size_t i = 0; i < n; i++) {
		struct kase *k = &cases[i];
		struct fx_result *fx = run(k, &fo);
		char buf[8192], first[72];
		bool same;

		if (!fx) {
			TAP_OK(0, "line %d: analysis failed", k->line);
			continue;
		}
		same = fx->n == k->nwant;
		for (size_t j = 0; same && j < fx->n; j++) {
			buf[0] = '=';
			buf[1] = ' ';
			fx_format(&fx->v[j], buf + 2, sizeof(buf) - 2);
			same = !strcmp(buf, k->want[j]);
		}
		snprintf(first, sizeof(first), "%s", k->cmd);
		if (strchr(first, '\n'))
			*strchr(first, '\n') = '\0';
		if (print) {
			printf("%c ", k->tool ? '@' : '$');
			for (const char *c = k->cmd; *c; c++)
				printf(*c == '\n' ? "\n> " : "%c", *c);
			printf("\n");
		} else
			TAP_OK(same, "line %d: %s", k->line, first);
		if (!same || print) {
			for (size_t j = 0; !print && j < k->nwant; j++)
				printf("#   want %s\n", k->want[j]);
			for (size_t j = 0; j < fx->n; j++) {
				fx_format(&fx->v[j], buf, sizeof(buf));
				printf(print ? "= %s\n" : "#   got  %s\n", buf);
			}
		}
		total += fx->n;
		fx_result_free(fx);
	}
	TAP_OK(total > n, "%zu effects for %zu cases", total, n);
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < cases[i].nwant; j++)
			free(cases[i].want[j]);
		free(cases[i].want);
		free(cases[i].cmd);
	}
	free(cases);
	return tap_done();
}
