/*
 * test_corpus.c - src/shell against tests/shell/corpus.txt: each case is a
 * command line and the commands it runs, one sh_format_cmd line each, as
 * reviewed by hand (and, for what bash can show, checked against bash by
 * differential.py).  The format of the file:
 *
 *   # a comment                       (and blank lines)
 *   $ COMMAND LINE                    a case
 *   > MORE                            its next line (here-documents, ...)
 *   %nodiff REASON                    not run by the differential test
 *   = CMD                             a command it runs, in order
 *   ! REASONS at OFFSET               the input's own SH_U_* (syntax, limit)
 *
 * Every result is also checked for the invariants shell.h promises
 * (shtest_invariants: the fuzz target checks the same).
 *
 *   test_corpus [CORPUS] [--print]     --print writes the actual lines instead
 */
#include "shtest.h"
#include "tap.h"

#include <stdlib.h>

#ifndef CORPUS
#define CORPUS "tests/shell/corpus.txt"
#endif

struct kase {
	int line;
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
		if (line[0] == '$' && (line[1] == ' ' || !line[1])) {
			struct kase *nv = realloc(v, (*n + 1) * sizeof(*nv));

			if (!nv)
				abort();
			v = nv;
			memset(&v[*n], 0, sizeof(v[*n]));
			v[*n].line = lineno;
			v[*n].cmd = xstrdup(line[1] ? line + 2 : "");
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
		} else if (*n && (line[0] == '=' || line[0] == '!') && line[1] == ' ') {
			add_want(&v[*n - 1], line);
		}
	}
	free(line);
	fclose(f);
	return v;
}

/* The lines a result gives, as the corpus writes them. */
static size_t actual(const struct sh_result *r, const struct sh_opts *o, char ***out)
{
	size_t n = 0;
	char **v = calloc(r->ncmds + 1, sizeof(*v));
	char buf[65536], names[256];

	if (!v)
		abort();
	for (size_t i = 0; i < r->ncmds; i++) {
		buf[0] = '=';
		buf[1] = ' ';
		sh_format_cmd(r, i, o, buf + 2, sizeof(buf) - 2);
		v[n++] = xstrdup(buf);
	}
	if (r->unres) {
		snprintf(buf, sizeof(buf), "! %s at %zu",
			 sh_unres_names(r->unres, names, sizeof(names)), r->error_off);
		v[n++] = xstrdup(buf);
	}
	*out = v;
	return n;
}

int main(int argc, char **argv)
{
	const char *path = argc > 1 && argv[1][0] != '-' ? argv[1] : CORPUS;
	bool print = argc > 1 && !strcmp(argv[argc - 1], "--print");
	struct sh_opts o = shtest_opts();
	size_t n, bad_inv = 0;
	struct kase *cases = load(path, &n);

	TAP_OK(cases && n > 0, "corpus %s: %zu cases", path, n);
	for (size_t i = 0; i < n; i++) {
		struct kase *k = &cases[i];
		struct sh_result *r = NULL;
		char **got = NULL;
		size_t ngot = 0;
		bool same;
		const char *why;
		char first[72];

		if (sh_parse(k->cmd, k->len, &o, &r) < 0) {
			TAP_OK(0, "line %d: sh_parse failed", k->line);
			continue;
		}
		ngot = actual(r, &o, &got);
		why = shtest_invariants(r);
		if (why) {
			bad_inv++;
			printf("# line %d: %s\n", k->line, why);
		}
		same = ngot == k->nwant;
		for (size_t j = 0; same && j < ngot; j++)
			same = !strcmp(got[j], k->want[j]);
		snprintf(first, sizeof(first), "%s", k->cmd);
		if (strchr(first, '\n'))
			*strchr(first, '\n') = '\0';
		if (print) {
			printf("$ %s\n", k->cmd);
			for (size_t j = 0; j < ngot; j++)
				printf("%s\n", got[j]);
		} else {
			TAP_OK(same, "line %d: %s", k->line, first);
		}
		if (!same && !print) {
			for (size_t j = 0; j < k->nwant; j++)
				printf("#   want %s\n", k->want[j]);
			for (size_t j = 0; j < ngot; j++)
				printf("#   got  %s\n", got[j]);
		}
		for (size_t j = 0; j < ngot; j++)
			free(got[j]);
		free(got);
		sh_result_free(r);
	}
	TAP_EQ_U64(bad_inv, 0, "the invariants of shell.h hold for all %zu results", n);
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < cases[i].nwant; j++)
			free(cases[i].want[j]);
		free(cases[i].want);
		free(cases[i].cmd);
	}
	free(cases);
	return tap_done();
}
