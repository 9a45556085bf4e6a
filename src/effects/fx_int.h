/*
 * fx_int.h - what the files of src/effects share: the result's string arena,
 * the context of one fx_from_shell call, and the functions each file gives
 * the others.  Nothing outside src/effects includes it.
 */
#ifndef VIGIL_FX_INT_H
#define VIGIL_FX_INT_H

#include "effects.h"

#include <stdbool.h>
#include <stddef.h>

/* The longest path handled; longer ones are kept as spelled, unresolved. */
#define FX_PATH_MAX 4096u

/* The context of one call: the options, the result being filled, and, for a
 * command, where it came from.  A nested parse (os.system("...")) keeps the
 * command index of the interpreter that runs it. */
struct fx_ctx {
	const struct fx_opts *o;
	struct fx_result *res;
	const struct sh_result *sh;
	int nest; /* FX_MAX_NEST bounds nested sh_parse */
};

/* A command's view for the program handlers. */
struct fx_call {
	struct fx_ctx *x;
	const struct sh_cmd *c;
	int cmd;       /* index to report */
	int at;	       /* its index in x->sh */
	unsigned base; /* FX_F_* every effect of it carries (cond, remote) */
};

/* effects.c */
char *fx_strdup(struct fx_result *res, const char *s, size_t len);
struct fx_effect *fx_add(struct fx_call *k, enum fx_kind kind, const char *what);
/* An effect on the path of word w (a glob is expanded when resolving). */
void fx_path(struct fx_call *k, enum fx_kind kind, const char *what, const struct sh_word *w,
	     unsigned flags);
/* The same for a plain string (a literal of a one-liner, a tool's path). */
void fx_path_str(struct fx_call *k, enum fx_kind kind, const char *what, const char *s,
		 unsigned flags);
void fx_net(struct fx_call *k, const char *what, const char *url_or_host, unsigned port,
	    enum fx_dir dir, unsigned unres);
/* Runs sh_parse on text an interpreter hands to a shell and adds its effects
 * to command k->cmd. */
void fx_nested_shell(struct fx_call *k, const char *text, size_t len);

/* path.c */
/* Joins s to dir when relative and removes ".", ".." and "//" in out; false
 * when it does not fit. */
bool fx_normalize(const char *dir, const char *s, char *out, size_t cap);
/* Resolves a normalized path through the file system: realpath of the whole
 * path, or of its directory when the last component does not exist (a file
 * to be created) or when nofollow (rm removes the link, not its target). */
bool fx_realpath(const char *norm, bool nofollow, char *out, size_t cap);
/* FX_F_* classification of a normalized path (glob characters allowed); tree:
 * the effect reaches everything below it (sensitive when a secret is there). */
unsigned fx_classify(const struct fx_opts *o, const char *path, bool glob, bool tree);
/* The persistence location a path is ("shell rc", "cron", ...), or NULL. */
const char *fx_persist_kind(const struct fx_opts *o, const char *path);

/* programs.c */
void fx_program(struct fx_call *k);

/* interp.c */
/* True when the command is an interpreter whose program text is known (-c,
 * -e, -r, or its stdin); scans it. */
bool fx_interp(struct fx_call *k);

#endif /* VIGIL_FX_INT_H */
