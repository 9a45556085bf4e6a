/*
 * fuzz_shell.c - fuzz target for src/shell (sh_parse): the lexer, grammar,
 * expansions, the model of the shell and every wrapper and decoder.
 *
 * Input: the first byte chooses what the caller knows (bit 0: no directory,
 * bit 1: no $HOME, bit 2: the environment given is complete, bit 3: a known
 * variable), the rest is the command line.
 *
 * Oracles (abort on violation): sh_parse returns 0, or -E2BIG exactly when the
 * text is over SH_MAX_INPUT; a result keeps shell.h's invariants
 * (shtest_invariants: parents before children, depths, words without NULs,
 * glob words with their pattern), its counts and steps within SH_MAX_CMDS and
 * SH_MAX_STEPS, every command formats, and the whole output (words,
 * redirection targets, assignments, stdin texts) stays within SH_MAX_MEMORY.
 * A second parse of the same input gives the same lines: no state survives a
 * call.  Leaks and overflows are the sanitizers' to find; the driver's time
 * for the run bounds the rest (a hang is a timeout).
 */
#include "shell/shtest.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define LINE_MAX_FMT (1u << 20)

static char line1[LINE_MAX_FMT], line2[LINE_MAX_FMT];

static void check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_shell: oracle failed: %s\n", what);
		abort();
	}
}

static size_t output_size(const struct sh_result *r)
{
	size_t n = 0;

	for (size_t i = 0; i < r->ncmds; i++) {
		const struct sh_cmd *c = &r->cmds[i];

		for (int k = 0; k < c->argc; k++)
			n += c->argv[k].len;
		for (int k = 0; k < c->nredirs; k++)
			n += c->redirs[k].target.len;
		for (int k = 0; k < c->nenv; k++)
			n += c->env[k].value.len;
		n += c->stdin_len;
	}
	return n;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const env[] = { "FOO=/tmp/foo", NULL };
	struct sh_opts o = shtest_opts();
	struct sh_result *r = NULL, *again = NULL;
	const char *why;
	uint8_t mode;
	int rc;

	if (size < 1)
		return 0;
	mode = data[0];
	data++;
	size--;
	if (mode & 1)
		o.cwd = NULL;
	if (mode & 2)
		o.home = NULL;
	o.env_complete = (mode & 4) != 0;
	if (mode & 8)
		o.env = env;
	rc = sh_parse((const char *)data, size, &o, &r);
	if (size > SH_MAX_INPUT) {
		check(rc == -E2BIG && !r, "an input over SH_MAX_INPUT is refused");
		return 0;
	}
	check(rc == 0 && r, "sh_parse succeeds");
	why = shtest_invariants(r);
	if (why) {
		fprintf(stderr, "fuzz_shell: %s\n", why);
		check(0, "the invariants of shell.h hold");
	}
	check(r->ncmds <= SH_MAX_CMDS && r->steps <= SH_MAX_STEPS, "counts within the bounds");
	check(output_size(r) <= SH_MAX_MEMORY, "the output within SH_MAX_MEMORY");
	check(sh_parse((const char *)data, size, &o, &again) == 0, "a second parse succeeds");
	check(again->ncmds == r->ncmds && again->unres == r->unres, "the same result twice");
	for (size_t i = 0; i < r->ncmds; i++) {
		size_t n1 = sh_format_cmd(r, i, &o, line1, sizeof(line1));
		size_t n2 = sh_format_cmd(again, i, &o, line2, sizeof(line2));

		check(n1 == n2 && (n1 >= sizeof(line1) || !memcmp(line1, line2, n1)),
		      "every command formats the same twice");
	}
	sh_result_free(again);
	sh_result_free(r);
	return 0;
}
