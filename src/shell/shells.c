/*
 * shells.c - shells and the text they run: sh/bash/zsh/dash -c TEXT with
 * $0 and arguments, a shell reading its stdin (a pipe, a here-document),
 * a script file (known when this input wrote it or it is a process
 * substitution's literal output), and the new shell process such text runs
 * in: its exported variables, its directory, another user's $HOME.
 */
#include "wrap_int.h"

/* What a new shell process's variables start as: the wrapper's VAR=x, the
 * command's prefix assignments, env -u, another user's $HOME. */
static void shell_env(struct shx_ctx *c, struct shx_ctx *cc, const struct sh_cmd *cmd,
		      const struct shx_spawn *sp)
{
	struct shx *x = c->x;

	/* The wrapper's VAR=x and the command's own prefix assignments. */
	for (int k = 0; k < cmd->nenv; k++) {
		struct shx_bind *b = shx_set(cc, cmd->env[k].name, strlen(cmd->env[k].name),
					     cmd->env[k].value.s, cmd->env[k].value.len,
					     cmd->env[k].value.unres ? VAL_UNKNOWN : VAL_SET,
					     cmd->env[k].value.unres);

		b->exported = 1;
	}
	if (sp)
		for (int k = 0; k < sp->nenv; k++) {
			struct shx_bind *b = shx_set(cc, sp->env[k].name, strlen(sp->env[k].name),
						     sp->env[k].value.s, sp->env[k].value.len,
						     sp->env[k].value.unres ? VAL_UNKNOWN : VAL_SET,
						     sp->env[k].value.unres);

			b->exported = 1;
		}
	for (int k = 0; k < c->nunset; k++)
		shx_set(cc, c->unset[k], strlen(c->unset[k]), NULL, 0, VAL_UNSET, 0);
	/* Another user's shell has that user's $HOME (sudo resets it). */
	if (cc->user && !cc->sh->remote && (!x->o->user || strcmp(cc->user, x->o->user) != 0)) {
		const char *h = shx_home_of(cc, cc->user, strlen(cc->user));

		shx_set(cc, "HOME", 4, h, h ? strlen(h) : 0, h ? VAL_SET : VAL_UNKNOWN,
			h ? 0 : SH_U_USER)
			->exported = 1;
	}
}

void shx_run_shell_text(struct shx_ctx *c, int i, const char *text, size_t len,
			const struct sh_word *args, int nargs, const char *arg0, enum sh_via via,
			bool decoded, bool posix, const struct shx_spawn *sp)
{
	struct shx *x = c->x;
	struct sh_cmd *cmd = shx_cmd(x, i);
	struct shx_shell sh = { 0 };
	struct shx_ctx cc;
	bool remote = (cmd->flags & (SH_C_REMOTE | SH_C_CONTAINER)) ||
		      (sp && (sp->host || sp->container));
	bool clear = (cmd->flags & SH_C_ENV_CLEARED) || remote;
	size_t base;

	if ((unsigned)cmd->depth + 1 > SH_MAX_DEPTH) {
		cmd->unres |= SH_U_LIMIT;
		x->unres |= SH_U_LIMIT;
		if (c->out)
			c->out->known = false;
		return;
	}
	if (decoded)
		cmd->flags |= SH_C_DECODED;
	shx_child_ctx(c, i, via, &cc);
	if (sp)
		shx_spawn_apply(sp, &cc);
	if (remote)
		cc.flags |= sp && sp->container ? SH_C_CONTAINER : sp && sp->host ? SH_C_REMOTE : 0;
	shx_shell_start(c, &sh, clear);
	base = sh.base;
	sh.unknown_default = remote || !clear ? c->sh->unknown_default || remote : false;
	sh.posix = posix;
	sh.remote = remote || c->sh->remote;
	sh.arg0 = arg0;
	cc.sh = &sh;
	cc.cwd_set = false;
	cc.in_func = false;
	cc.no_function = false;
	cc.exited = false;
	cc.redirs = NULL;
	cc.nredirs = 0;
	cc.pos.v = args;
	cc.pos.n = nargs;
	cc.pos.known = true;
	cc.last_out = -1;
	if (sp && sp->cwd_set)
		shx_set_cwd(&cc, sp->cwd, SH_U_CWD);
	else if (!sh.remote)
		shx_set_cwd(&cc, cmd->cwd, cmd->unres & SH_U_CWD);
	if (sh.remote)
		shx_set_cwd(&cc, NULL, 0);
	shell_env(c, &cc, cmd, sp);
	shx_eval_text(&cc, i, text, len, via, decoded);
	c->last_out = cc.last_out;
	x->nbinds = base;
}

/* A script file this input wrote with known content: run it as text. */
static bool written(struct shx_ctx *c, int i, const struct sh_word *f, const struct sh_word *args,
		    int nargs, bool posix)
{
	struct sh_cmd *cmd = shx_cmd(c->x, i);
	const char *path = shx_path_join(c->x, cmd->cwd, f->s, f->len);
	const struct shx_file *w = path ? shx_file_get(c->x, path) : NULL;

	if (!w || !w->text)
		return false;
	shx_run_shell_text(c, i, w->text, w->len, args, nargs, f->s, SH_VIA_SHELL, w->decoded,
			   posix, NULL);
	return true;
}

/* sh -c TEXT [$0 [args]], sh FILE, sh -s / sh < input: what the shell runs. */
/* A shell's options: the index of its first operand, or -1 when it runs nothing
 * (--version); *has_c for -c, *from_stdin for -s. */
static int shell_opts(const struct sh_cmd *cmd, bool *has_c, bool *from_stdin)
{
	int k = 1;

	while (k < cmd->argc) {
		const char *s = cmd->argv[k].s;

		if (streq(s, "--") || streq(s, "-"))
			return k + 1;
		if (s[0] == '-' && s[1] == '-') {
			if (streq(s, "--rcfile") || streq(s, "--init-file"))
				k++;
			if (streq(s, "--version") || streq(s, "--help"))
				return -1;
			k++;
			continue;
		}
		if ((s[0] != '-' && s[0] != '+') || !s[1])
			break;
		for (size_t j = 1; s[j]; j++) {
			if (s[j] == 'c')
				*has_c = true;
			else if (s[j] == 's')
				*from_stdin = true;
			else if (s[j] == 'o' || s[j] == 'O')
				k++; /* -o OPTION, -O SHOPT */
		}
		k++;
	}
	return k < cmd->argc ? k : cmd->argc; /* an option without its value */
}

bool shx_run_shell(struct shx_ctx *c, int i)
{
	struct sh_cmd *cmd = shx_cmd(c->x, i);
	bool has_c = false, from_stdin = false;
	bool posix = !streq(cmd->name, "bash") && !streq(cmd->name, "rbash");
	int k = shell_opts(cmd, &has_c, &from_stdin);

	if (k < 0)
		return true;
	if (has_c) {
		const struct sh_word *t;

		if (k >= cmd->argc)
			return true;
		t = &cmd->argv[k];
		if (t->unres)
			cmd->unres |= SH_U_SCRIPT;
		if (!shx_text_parsable(t->unres)) {
			if (c->out)
				c->out->known = false;
			return true;
		}
		shx_run_shell_text(c, i, t->s, t->len, cmd->argv + k + 2,
				   cmd->argc - k - 2 > 0 ? cmd->argc - k - 2 : 0,
				   k + 1 < cmd->argc ? cmd->argv[k + 1].s : cmd->argv[0].s,
				   SH_VIA_SHELL, (t->flags & SH_W_DECODED) != 0, posix, NULL);
		return true;
	}
	if (from_stdin || k >= cmd->argc) {
		cmd->flags |= SH_C_EXEC_STDIN;
		if (cmd->stdin_text) {
			/* What the script runs reads the rest of the script as stdin. */
			struct shx_spawn sp = { .stdin_none = true };

			shx_run_shell_text(c, i, cmd->stdin_text, cmd->stdin_len, cmd->argv + k,
					   cmd->argc - k, cmd->argv[0].s, SH_VIA_SHELL,
					   c->in_decoded, posix, &sp);
			return true;
		}
		cmd->unres |= SH_U_SCRIPT;
		if (c->out)
			c->out->known = false;
		return true;
	}
	cmd->flags |= SH_C_SCRIPT;
	{
		const struct sh_word *f = &cmd->argv[k];
		const struct shx_procsub *ps = f->flags & SH_W_PROCSUB
						       ? shx_find_procsub(c->x, f->sub)
						       : NULL;

		if (ps && ps->text) {
			shx_run_shell_text(c, i, ps->text, ps->len, cmd->argv + k + 1,
					   cmd->argc - k - 1, f->s, SH_VIA_SHELL, ps->decoded,
					   posix, NULL);
			return true;
		}
		if (!f->unres && written(c, i, f, cmd->argv + k + 1, cmd->argc - k - 1, posix))
			return true;
		if ((streq(f->s, "/dev/stdin") || streq(f->s, "/dev/fd/0")) && cmd->stdin_text) {
			cmd->flags |= SH_C_EXEC_STDIN;
			shx_run_shell_text(c, i, cmd->stdin_text, cmd->stdin_len, cmd->argv + k + 1,
					   cmd->argc - k - 1, f->s, SH_VIA_SHELL, c->in_decoded,
					   posix, NULL);
			return true;
		}
	}
	cmd->unres |= SH_U_SCRIPT;
	if (c->out)
		c->out->known = false;
	return true;
}

/* ./x.sh written earlier in this input (with no #! or a shell's): a script. */
bool shx_run_written(struct shx_ctx *c, int i)
{
	struct sh_cmd *cmd = shx_cmd(c->x, i);
	const char *path = shx_path_join(c->x, cmd->cwd, cmd->argv[0].s, cmd->argv[0].len);
	const struct shx_file *w = path ? shx_file_get(c->x, path) : NULL;
	const char *nl, *sl;
	size_t l1;
	char interp[32] = "";

	if (!w || !w->text)
		return false;
	nl = memchr(w->text, '\n', w->len);
	l1 = nl ? (size_t)(nl - w->text) : w->len;
	sl = l1 > 2 && !memcmp(w->text, "#!", 2) ? memrchr(w->text, '/', l1) : NULL;
	if (sl && l1 - (size_t)(sl + 1 - w->text) < sizeof(interp))
		memcpy(interp, sl + 1, l1 - (size_t)(sl + 1 - w->text));
	if (strchr(interp, ' '))
		*strchr(interp, ' ') = '\0';
	if (l1 >= 2 && !memcmp(w->text, "#!", 2) && !shx_is_shell(interp))
		return false; /* another interpreter's script */
	cmd->flags |= SH_C_SCRIPT;
	shx_run_shell_text(c, i, w->text, w->len, cmd->argv + 1, cmd->argc - 1, cmd->argv[0].s,
			   SH_VIA_SHELL, w->decoded, strcmp(interp, "bash") != 0, NULL);
	return true;
}
