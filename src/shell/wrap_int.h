/*
 * wrap_int.h - what the files running wrappers share (wrap.c: the table and
 * env, sudo, su, ...; shells.c: shells and the text they run; xargs.c: xargs
 * and find; remote.c: ssh and containers).
 */
#ifndef VIGIL_SHELL_WRAP_INT_H
#define VIGIL_SHELL_WRAP_INT_H

#include "shell_int.h"

static inline bool streq(const char *a, const char *b)
{
	return !strcmp(a, b);
}

static inline bool in_list(const char *s, size_t n, const char *const *list)
{
	for (; list && *list; list++)
		if (strlen(*list) == n && !memcmp(*list, s, n))
			return true;
	return false;
}

/*
 * Generic option scanning: short options taking a value (attached or next),
 * long options taking one (--opt=v or --opt v), flags otherwise.
 */
struct optspec {
	const char *argopts;
	const char *const *longarg;
	const char *const *longflag; /* NULL: any other long option is a flag */
	const char *stop_opts;
	bool digits_flag; /* -10 is a flag (nice) */
};

/* The index of the first operand from k; *stop when a short option in stop_opts
 * was seen (the wrapper then runs no command: ionice -p, taskset -p); *unknown
 * when a long option is in neither list (with longflag set). */
int shx_scan_opts(const struct sh_cmd *cmd, int k, const struct optspec *o, bool *stop,
		  bool *unknown);

/* Each returns true: the command was handled (whether or not it runs another). */
bool shx_run_shell(struct shx_ctx *c, int i);
bool shx_run_written(struct shx_ctx *c, int i);
bool shx_run_ssh(struct shx_ctx *c, int i);
bool shx_run_container(struct shx_ctx *c, int i);
bool shx_run_xargs(struct shx_ctx *c, int i);
bool shx_run_find(struct shx_ctx *c, int i);

#endif /* VIGIL_SHELL_WRAP_INT_H */
