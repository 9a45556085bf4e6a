/*
 * shtest.h - what the shell tests (corpus, sh_dump, fuzz, bench) assume about
 * the machine: the directory, $HOME and user the corpus's expectations were
 * written for, and the home directories of two other users.
 */
#ifndef VIGIL_TESTS_SHTEST_H
#define VIGIL_TESTS_SHTEST_H

#include "shell.h"

#include <stdio.h>
#include <string.h>

static inline int shtest_home_of(void *arg, const char *user, char *out, size_t cap)
{
	const char *h = !strcmp(user, "root")	 ? "/root"
			: !strcmp(user, "alice") ? "/home/alice"
						 : NULL;

	(void)arg;
	if (!h || strlen(h) >= cap)
		return -1;
	memcpy(out, h, strlen(h) + 1);
	return 0;
}

static inline struct sh_opts shtest_opts(void)
{
	struct sh_opts o = {
		.cwd = "/home/u/proj", .home = "/home/u", .user = "u", .home_of = shtest_home_of
	};

	return o;
}

/*
 * What shell.h promises of every result: parents come before children, depth
 * follows the parents, words are NUL-terminated without NULs inside, a glob
 * word has its pattern, counts are in bounds.  NULL, or what is broken.
 */
static inline const char *shtest_invariants(const struct sh_result *r)
{
	if (r->ncmds > SH_MAX_CMDS)
		return "too many commands";
	for (size_t i = 0; i < r->ncmds; i++) {
		const struct sh_cmd *c = &r->cmds[i];

		if (c->parent >= (int)i || c->parent < -1)
			return "a parent is not before its child";
		if (c->parent >= 0 && c->depth != r->cmds[c->parent].depth + 1)
			return "depth does not follow the parent";
		if (c->parent < 0 && c->depth != 0 && c->via == SH_VIA_TOP)
			return "a top command with a depth";
		if (c->pipe_from >= (int)r->ncmds ||
		    (c->pipe_from >= (int)i && (r->cmds[c->pipe_from].parent != (int)i ||
						r->cmds[c->pipe_from].via != SH_VIA_PROCSUB)))
			return "fed by a later command that is not its < <(...)";
		if (c->argc < 0 || c->argc > (int)SH_MAX_WORDS || (c->argc && !c->argv))
			return "argc out of bounds";
		if (!c->name || (c->argc && strcmp(c->name, strrchr(c->argv[0].s, '/')
								    ? strrchr(c->argv[0].s, '/') + 1
								    : c->argv[0].s)))
			return "name is not argv[0]'s basename";
		for (int k = 0; k < c->argc; k++) {
			const struct sh_word *w = &c->argv[k];

			if (!w->s || strlen(w->s) != w->len)
				return "a word with a NUL or a wrong length";
			if (!!(w->flags & SH_W_GLOB) != !!w->pattern)
				return "a glob word without its pattern, or a pattern without glob";
		}
		for (int k = 0; k < c->nredirs; k++)
			if (!c->redirs[k].target.s)
				return "a redirection without target";
		for (int k = 0; k < c->nenv; k++)
			if (!c->env[k].name || !c->env[k].value.s)
				return "an assignment without name or value";
		if (c->stdin_text && !c->stdin_len && c->stdin_text[0])
			return "stdin text with a wrong length";
	}
	return NULL;
}

#endif
