/*
 * test_invariants.c - what effects.h promises of every result, over every
 * command line of tests/shell/corpus.txt (resolved and not), and the bounds:
 * operands past MAX_OPERANDS and effects past FX_MAX_EFFECTS are counted in
 * truncated, never silent.
 */
#include "../shell/shtest.h"
#include "effects.h"
#include "tap.h"

#include <stdlib.h>

#ifndef SHELL_CORPUS
#define SHELL_CORPUS "tests/shell/corpus.txt"
#endif

/* NULL, or what is broken in fx. */
static const char *check(const struct sh_result *r, const struct fx_result *fx)
{
	if (fx->n > FX_MAX_EFFECTS)
		return "too many effects";
	for (size_t i = 0; i < fx->n; i++) {
		const struct fx_effect *e = &fx->v[i];

		if (e->cmd < 0 || (size_t)e->cmd >= r->ncmds)
			return "a command index out of range";
		if ((unsigned)e->kind > FX_PERSIST)
			return "a kind out of range";
		if ((e->kind == FX_READ || e->kind == FX_WRITE || e->kind == FX_DELETE) &&
		    (!e->resolved || !e->spelled))
			return "a path effect without its path";
		if (!!(e->flags & FX_F_UNRESOLVED) != !!e->unres)
			return "unresolved without reasons, or reasons without the flag";
		if (e->kind != FX_NET && (e->port || e->host))
			return "a host or port on a kind other than network";
	}
	return NULL;
}

static struct fx_result *run(const char *cmd, size_t len, bool resolve, struct sh_result **rp)
{
	struct sh_opts so = shtest_opts();
	struct fx_opts fo = { .project = "/home/u/proj", .home = "/home/u", .resolve = resolve };
	struct fx_result *fx = NULL;

	*rp = NULL;
	if (sh_parse(cmd, len, &so, rp) < 0)
		return NULL;
	if (fx_from_shell(*rp, &fo, &fx) < 0)
		return NULL;
	return fx;
}

int main(void)
{
	FILE *f = fopen(SHELL_CORPUS, "r");
	char *line = NULL, *big;
	size_t cap = 0, cases = 0, bad = 0, effects = 0;
	ssize_t got;
	struct sh_result *r;
	struct fx_result *fx;

	TAP_OK(f != NULL, "open %s", SHELL_CORPUS);
	while (f && (got = getline(&line, &cap, f)) >= 0) {
		if (strncmp(line, "$ ", 2))
			continue;
		for (int resolve = 0; resolve < 2; resolve++) {
			const char *why;

			fx = run(line + 2, (size_t)got - 2, resolve, &r);
			why = fx ? check(r, fx) : "analysis failed";
			if (why) {
				bad++;
				printf("# %s: %s", why, line);
			}
			effects += fx ? fx->n : 0;
			fx_result_free(fx);
			sh_result_free(r);
		}
		cases++;
	}
	if (f)
		fclose(f);
	free(line);
	TAP_OK(cases > 500, "%zu command lines, %zu effects", cases, effects);
	TAP_EQ_U64(bad, 0, "the promises of effects.h hold for every result");

	/* rm with 300 operands: 256 read, the rest counted */
	big = malloc(300 * 8 + 8);
	if (!big)
		return 1;
	{
		size_t o = (size_t)snprintf(big, 300 * 8 + 8, "rm");

		for (int i = 0; i < 300; i++)
			o += (size_t)snprintf(big + o, 300 * 8 + 8 - o, " f%d", i);
	}
	fx = run(big, strlen(big), false, &r);
	TAP_OK(fx && fx->n == 256 && fx->truncated == 44,
	       "rm of 300 files: 256 effects, 44 counted");
	fx_result_free(fx);
	sh_result_free(r);

	/* 20 commands of 256 operands: FX_MAX_EFFECTS, then counted */
	{
		size_t bcap = 20 * (256 * 6 + 8) + 1, o = 0;
		char *nb = realloc(big, bcap);

		if (!nb)
			return 1;
		big = nb;
		for (int c = 0; c < 20; c++) {
			o += (size_t)snprintf(big + o, bcap - o, c ? ";rm" : "rm");
			for (int i = 0; i < 256; i++)
				o += (size_t)snprintf(big + o, bcap - o, " f%d", i);
		}
	}
	fx = run(big, strlen(big), false, &r);
	TAP_OK(fx && fx->n == FX_MAX_EFFECTS && fx->truncated == 20 * 256 - FX_MAX_EFFECTS,
	       "5120 deletes: %u kept, the rest counted", FX_MAX_EFFECTS);
	fx_result_free(fx);
	sh_result_free(r);
	free(big);
	return tap_done();
}
