/*
 * builtin.c - the builtins that change the modelled shell or run text:
 * cd/pushd/popd (the directory later relative paths resolve against),
 * export/local/declare/typeset/readonly/unset, set and shift (positional
 * parameters), read/mapfile/getopts (values not known), printf -v, let,
 * eval, source/., exec, command, builtin, trap, exit/return.  Builtins that
 * only print (echo, printf) are literal.c's.
 */
#include "shell_int.h"

#include <stdlib.h>

static const char DIRSTACK[] = "\001dirs";

bool shx_is_decl(const char *name, size_t n)
{
	static const char *const decl[] = { "export", "local", "declare", "typeset", "readonly" };

	for (size_t i = 0; i < SHX_LEN(decl); i++)
		if (strlen(decl[i]) == n && !memcmp(decl[i], name, n))
			return true;
	return false;
}

static bool is(const struct sh_cmd *cmd, const char *name)
{
	return !strcmp(cmd->argv[0].s, name);
}

/* ---- cd ------------------------------------------------------------------------------------------ */

static void change_dir(struct shx_ctx *c, struct sh_cmd *cmd, const char *dir, unsigned unres)
{
	unsigned u = 0;
	const char *old = shx_cwd(c, &u);

	if (old)
		shx_set(c, "OLDPWD", 6, old, strlen(old), VAL_SET, 0);
	else
		shx_set(c, "OLDPWD", 6, NULL, 0, VAL_UNKNOWN, SH_U_CWD);
	shx_set_cwd(c, dir, unres | SH_U_CWD);
	if (dir)
		shx_set(c, "PWD", 3, dir, strlen(dir), VAL_SET, 0);
	else
		shx_set(c, "PWD", 3, NULL, 0, VAL_UNKNOWN, SH_U_CWD);
	(void)cmd;
}

/* The directory a cd/pushd argument names, or NULL (*unres says why). */
static const char *target_dir(struct shx_ctx *c, const struct sh_word *w, unsigned *unres)
{
	unsigned u = 0;
	const char *cwd;

	if (w->unres) {
		*unres |= w->unres;
		return NULL;
	}
	if (w->flags & SH_W_GLOB) {
		*unres |= SH_U_CWD;
		return NULL;
	}
	cwd = shx_cwd(c, &u);
	if (w->len && w->s[0] != '/' && !cwd) {
		*unres |= u | SH_U_CWD;
		return NULL;
	}
	return shx_path_join(c->x, cwd, w->s, w->len);
}

static void do_cd(struct shx_ctx *c, struct sh_cmd *cmd)
{
	int k = 1;
	unsigned unres = 0;
	const char *dir = NULL;
	bool push = is(cmd, "pushd"), pop = is(cmd, "popd");

	while (k < cmd->argc && cmd->argv[k].s[0] == '-' && cmd->argv[k].len > 1 &&
	       strcmp(cmd->argv[k].s, "-") != 0) {
		if (!strcmp(cmd->argv[k].s, "--")) {
			k++;
			break;
		}
		k++;
	}
	if (pop) {
		struct shx_bind *b = shx_lookup(c, DIRSTACK, sizeof(DIRSTACK) - 1, BIND_ARRAY);

		if (k < cmd->argc || !b || b->nelems == 0 || b->state != VAL_SET) {
			change_dir(c, cmd, NULL, SH_U_CWD);
			return;
		}
		dir = b->elems[b->nelems - 1];
		shx_set_array(c, DIRSTACK, sizeof(DIRSTACK) - 1, b->elems, b->nelems - 1, false, 0);
		change_dir(c, cmd, dir, 0);
		return;
	}
	if (k >= cmd->argc) {
		if (push) { /* pushd alone swaps the top two: not modelled */
			change_dir(c, cmd, NULL, SH_U_CWD);
			return;
		}
		dir = shx_home(c, &unres);
	} else if (!strcmp(cmd->argv[k].s, "-")) {
		struct shx_val v;

		shx_get(c, "OLDPWD", 6, &v);
		dir = v.state == VAL_SET ? shx_strndup(c->x, v.s, v.len) : NULL;
		unres |= v.unres;
	} else if (push && (cmd->argv[k].s[0] == '+' || cmd->argv[k].s[0] == '-')) {
		dir = NULL; /* pushd +N rotates the stack */
	} else {
		dir = target_dir(c, &cmd->argv[k], &unres);
	}
	if (push) {
		unsigned u = 0;
		const char *old = shx_cwd(c, &u);
		struct shx_bind *b = shx_lookup(c, DIRSTACK, sizeof(DIRSTACK) - 1, BIND_ARRAY);
		const char *one[1] = { old };

		if (old)
			shx_set_array(c, DIRSTACK, sizeof(DIRSTACK) - 1, one, 1,
				      b && b->state == VAL_SET, 0);
		else
			shx_set_array(c, DIRSTACK, sizeof(DIRSTACK) - 1, NULL, 0, false, SH_U_CWD);
	}
	change_dir(c, cmd, dir, unres);
}

/* ---- variables ------------------------------------------------------------------------------------- */

/* NAME=value of an already expanded word: the name's length, or 0. */
static size_t split_assign(const struct sh_word *w, bool *append)
{
	size_t n = 0;

	*append = false;
	while (n < w->len && w->s[n] != '=' && w->s[n] != '+' && w->s[n] != '[')
		n++;
	if (!shx_valid_name(w->s, n) || n >= w->len)
		return 0;
	if (w->s[n] == '+' && n + 1 < w->len && w->s[n + 1] == '=')
		*append = true;
	else if (w->s[n] != '=')
		return 0;
	return n;
}

static void do_decl(struct shx_ctx *c, struct sh_cmd *cmd)
{
	bool export = is(cmd, "export"), local = is(cmd, "local"), func = false, unexport = false;
	bool array = false;

	for (int k = 1; k < cmd->argc; k++) {
		const struct sh_word *w = &cmd->argv[k];
		bool append;
		size_t n;

		if ((w->s[0] == '-' || w->s[0] == '+') && w->len > 1) {
			if (strchr(w->s, 'x') && w->s[0] == '-')
				export = true;
			if (strchr(w->s, 'f') || strchr(w->s, 'F'))
				func = true;
			if (strchr(w->s, 'n') && is(cmd, "export"))
				unexport = true;
			if (strchr(w->s, 'a') || strchr(w->s, 'A'))
				array = true;
			if (!strcmp(w->s, "-g"))
				local = false;
			continue;
		}
		if (func)
			continue;
		n = split_assign(w, &append);
		if (n) {
			struct shx_bind *b;
			const char *val = w->s + n + (append ? 2 : 1);
			size_t vlen = w->len - n - (append ? 2 : 1);
			struct shx_val old;

			if (array && vlen && val[0] == '(')
				continue; /* set already as an array */
			if (append) {
				shx_get(c, w->s, n, &old);
				if (old.state == VAL_SET) {
					char *t = shx_alloc(c->x, old.len + vlen + 1);

					memcpy(t, old.s, old.len);
					memcpy(t + old.len, val, vlen);
					val = t;
					vlen += old.len;
				}
			}
			b = shx_set(c, shx_strndup(c->x, w->s, n), n, val, vlen,
				    w->unres ? VAL_UNKNOWN : VAL_SET, w->unres);
			b->decoded = (w->flags & SH_W_DECODED) != 0;
			if (local && c->in_func)
				b->local = 1;
			if (export && !unexport)
				b->exported = 1;
			continue;
		}
		if (!shx_valid_name(w->s, w->len))
			continue;
		if (export && !unexport)
			shx_export(c, w->s, w->len);
		else if (local && c->in_func) {
			struct shx_bind *b = shx_set(c, w->s, w->len, NULL, 0, VAL_UNSET, 0);

			b->local = 1;
		}
	}
}

static void do_unset(struct shx_ctx *c, struct sh_cmd *cmd)
{
	bool func = false;

	for (int k = 1; k < cmd->argc; k++) {
		const struct sh_word *w = &cmd->argv[k];

		if (w->s[0] == '-') {
			func = strchr(w->s, 'f') != NULL;
			continue;
		}
		if (w->unres || !shx_valid_name(w->s, w->len))
			continue;
		if (func) {
			struct shx_bind *b = shx_lookup(c, w->s, w->len, BIND_FUNC);

			if (b)
				b->dead = 1;
		} else {
			shx_set(c, w->s, w->len, NULL, 0, VAL_UNSET, 0);
		}
	}
}

/* Names the command will set to values not known (read, mapfile, getopts). */
static void do_read(struct shx_ctx *c, struct sh_cmd *cmd)
{
	bool any = false, mapfile = !is(cmd, "read") && !is(cmd, "getopts");
	/* options that take a value: read's and mapfile's differ (-t) */
	const char *argopts = mapfile ? "dnOsuCc" : "adinNptu";
	int k = 1;

	if (is(cmd, "getopts"))
		k = 2;
	for (; k < cmd->argc; k++) {
		const struct sh_word *w = &cmd->argv[k];

		if (w->s[0] == '-' && w->len > 1) {
			for (size_t j = 1; j < w->len; j++) {
				if (!strchr(argopts, w->s[j]))
					continue;
				if (j + 1 == w->len && k + 1 < cmd->argc) {
					k++;
					if (w->s[j] == 'a') {
						shx_set_array(c, cmd->argv[k].s, cmd->argv[k].len,
							      NULL, 0, false, SH_U_STDIN);
						any = true;
					}
				}
				break;
			}
			continue;
		}
		if (!shx_valid_name(w->s, w->len))
			continue;
		shx_set(c, w->s, w->len, NULL, 0, VAL_UNKNOWN, SH_U_STDIN);
		any = true;
	}
	if (!any) {
		const char *dflt = is(cmd, "read")	? "REPLY"
				   : is(cmd, "getopts") ? "OPTARG"
							: "MAPFILE";

		shx_set(c, dflt, strlen(dflt), NULL, 0, VAL_UNKNOWN, SH_U_STDIN);
	}
}

static void do_set(struct shx_ctx *c, struct sh_cmd *cmd)
{
	int k = 1;
	bool args = false;
	struct shx_pos pos = { 0 };

	for (; k < cmd->argc; k++) {
		const char *s = cmd->argv[k].s;

		if (!strcmp(s, "--")) {
			k++;
			args = true;
			break;
		}
		if ((s[0] == '-' || s[0] == '+') && s[1]) {
			if ((s[1] == 'o' || s[1] == 'O') && !s[2])
				k++;
			continue;
		}
		args = true;
		break;
	}
	if (!args)
		return;
	pos.v = cmd->argv + k;
	pos.n = cmd->argc - k;
	pos.known = true;
	c->pos = pos;
}

static void do_shift(struct shx_ctx *c, struct sh_cmd *cmd)
{
	long n = 1;
	unsigned u = 0;

	if (cmd->argc > 1) {
		long long v;

		if (cmd->argv[1].unres || !shx_arith(c, cmd->argv[1].s, cmd->argv[1].len, &v, &u)) {
			c->pos.known = false;
			return;
		}
		n = (long)v;
	}
	if (!c->pos.known || n < 0)
		return;
	if (n > c->pos.n)
		return; /* shift fails and changes nothing */
	c->pos.v += n;
	c->pos.n -= (int)n;
}

static void do_printf_v(struct shx_ctx *c, struct sh_cmd *cmd)
{
	char stack[256];
	struct shx_buf b;
	bool decoded = false;
	const struct sh_word *name = &cmd->argv[2];
	struct shx_bind *bd;

	if (cmd->argc < 4 || name->unres || !shx_valid_name(name->s, name->len)) {
		if (cmd->argc >= 3 && shx_valid_name(name->s, name->len))
			shx_set(c, name->s, name->len, NULL, 0, VAL_UNKNOWN, SH_U_CMDSUB);
		return;
	}
	shx_buf_init(&b, stack, sizeof(stack));
	if (!shx_printf(c, cmd->argv + 3, cmd->argc - 3, &b, &decoded)) {
		shx_set(c, name->s, name->len, NULL, 0, VAL_UNKNOWN, SH_U_CMDSUB);
		return;
	}
	bd = shx_set(c, name->s, name->len, shx_buf_done(c->x, &b), b.len, VAL_SET, 0);
	bd->decoded = decoded;
}

/* ---- running text -------------------------------------------------------------------------------- */

/* The argument words joined with spaces, as eval does. */
static const char *joined(struct shx *x, const struct sh_word *v, int n, size_t *len, bool *decoded)
{
	char stack[512];
	struct shx_buf b;

	shx_buf_init(&b, stack, sizeof(stack));
	*decoded = false;
	for (int k = 0; k < n; k++) {
		if (k)
			shx_buf_addc(x, &b, ' ');
		shx_buf_add(x, &b, v[k].s, v[k].len);
		if (v[k].flags & SH_W_DECODED)
			*decoded = true;
	}
	*len = b.len;
	return shx_buf_done(x, &b);
}

static void do_eval(struct shx_ctx *c, int i)
{
	struct sh_cmd *cmd = shx_cmd(c->x, i);
	size_t len;
	bool decoded;
	const char *text = joined(c->x, cmd->argv + 1, cmd->argc - 1, &len, &decoded);

	if (decoded)
		cmd->flags |= SH_C_DECODED;
	for (int k = 1; k < cmd->argc; k++)
		if (!shx_text_parsable(cmd->argv[k].unres)) {
			cmd->unres |= SH_U_SCRIPT;
			if (c->out)
				c->out->known = false;
			return;
		}
	shx_eval_text(c, i, text, len, SH_VIA_EVAL, decoded);
}

static void do_source(struct shx_ctx *c, int i)
{
	struct shx *x = c->x;
	struct sh_cmd *cmd = shx_cmd(x, i);
	const struct sh_word *f;
	int k = 1;

	if (k < cmd->argc && !strcmp(cmd->argv[k].s, "--"))
		k++;
	if (k >= cmd->argc)
		return;
	f = &cmd->argv[k];
	cmd->flags |= SH_C_SCRIPT;
	if (f->flags & SH_W_PROCSUB) {
		const struct shx_procsub *ps = shx_find_procsub(x, f->sub);

		if (ps && ps->text) {
			struct shx_pos save = c->pos;

			if (k + 1 < cmd->argc) {
				c->pos.v = cmd->argv + k + 1;
				c->pos.n = cmd->argc - k - 1;
				c->pos.known = true;
			}
			if (ps->decoded)
				cmd->flags |= SH_C_DECODED;
			shx_eval_text(c, i, ps->text, ps->len, SH_VIA_EVAL, ps->decoded);
			c->pos = save;
			return;
		}
	} else if ((!strcmp(f->s, "/dev/stdin") || !strcmp(f->s, "/proc/self/fd/0") ||
		    !strcmp(f->s, "/dev/fd/0")) &&
		   cmd->stdin_text) {
		shx_eval_text(c, i, cmd->stdin_text, cmd->stdin_len, SH_VIA_EVAL, false);
		return;
	}
	if (!f->unres) {
		const char *path = shx_path_join(x, cmd->cwd, f->s, f->len);
		const struct shx_file *w = path ? shx_file_get(x, path) : NULL;

		if (w && w->text) {
			struct shx_pos save = c->pos;

			if (k + 1 < cmd->argc) {
				c->pos.v = cmd->argv + k + 1;
				c->pos.n = cmd->argc - k - 1;
				c->pos.known = true;
			}
			shx_eval_text(c, i, w->text, w->len, SH_VIA_EVAL, w->decoded);
			c->pos = save;
			return;
		}
	}
	cmd->unres |= SH_U_SCRIPT;
	if (c->out)
		c->out->known = false;
}

/* exec, command, builtin: what follows their options runs as the command. */
static void do_prefix(struct shx_ctx *c, int i)
{
	struct sh_cmd *cmd = shx_cmd(c->x, i);
	int k = 1;
	bool lookup = false, exec = is(cmd, "exec"), cmdcmd = is(cmd, "command");
	struct shx_spawn sp = { .no_function = true };

	while (k < cmd->argc && cmd->argv[k].s[0] == '-' && cmd->argv[k].len > 1) {
		const char *o = cmd->argv[k].s;

		if (!strcmp(o, "--")) {
			k++;
			break;
		}
		if (cmdcmd && (strchr(o, 'v') || strchr(o, 'V')))
			lookup = true;
		if (exec && !strcmp(o, "-a"))
			k++;
		k++;
	}
	if (k >= cmd->argc || lookup)
		return;
	shx_spawn(c, i, cmd->argv + k, cmd->argc - k, SH_VIA_WRAPPER, &sp);
	if (exec)
		c->exited = true; /* the shell is replaced: nothing after runs */
}

static void do_trap(struct shx_ctx *c, int i)
{
	struct sh_cmd *cmd = shx_cmd(c->x, i);
	const struct sh_word *a;
	struct shx_ctx cc = *c;

	if (cmd->argc < 3)
		return;
	a = &cmd->argv[1];
	if (!strcmp(a->s, "-") || !strcmp(a->s, "--") || a->s[0] == '\0' ||
	    (a->s[0] == '-' && a->len == 2))
		return;
	/* The handler runs later, if the signal comes: conditional. */
	cc.flags |= SH_C_CONDITIONAL;
	shx_eval_text(&cc, i, a->s, a->len, SH_VIA_EVAL, (a->flags & SH_W_DECODED) != 0);
}

static void do_let(struct shx_ctx *c, struct sh_cmd *cmd)
{
	for (int k = 1; k < cmd->argc; k++) {
		long long v;
		unsigned u = 0;

		if (!cmd->argv[k].unres)
			shx_arith(c, cmd->argv[k].s, cmd->argv[k].len, &v, &u);
	}
}

bool shx_builtin(struct shx_ctx *c, int i, struct shx_ctx *caller)
{
	struct sh_cmd *cmd = shx_cmd(c->x, i);
	const char *n = cmd->argv[0].s;

	(void)caller;
	if (!strcmp(n, "cd") || !strcmp(n, "pushd") || !strcmp(n, "popd")) {
		do_cd(c, cmd);
		if (!strcmp(n, "cd"))
			return true;
		return false; /* pushd and popd print the stack */
	}
	if (shx_is_decl(n, strlen(n))) {
		do_decl(c, cmd);
		return true;
	}
	if (!strcmp(n, "unset")) {
		do_unset(c, cmd);
		return true;
	}
	if (!strcmp(n, "read") || !strcmp(n, "mapfile") || !strcmp(n, "readarray") ||
	    !strcmp(n, "getopts")) {
		do_read(c, cmd);
		return true;
	}
	if (!strcmp(n, "set")) {
		do_set(c, cmd);
		return cmd->argc > 1;
	}
	if (!strcmp(n, "shift")) {
		do_shift(c, cmd);
		return true;
	}
	if (!strcmp(n, "printf") && cmd->argc > 1 && !strcmp(cmd->argv[1].s, "-v")) {
		do_printf_v(c, cmd);
		return true;
	}
	if (!strcmp(n, "let")) {
		do_let(c, cmd);
		return true;
	}
	if (!strcmp(n, "eval")) {
		do_eval(c, i);
		return true;
	}
	if (!strcmp(n, "source") || !strcmp(n, ".")) {
		do_source(c, i);
		return true;
	}
	if (!strcmp(n, "exec") || !strcmp(n, "command") || !strcmp(n, "builtin")) {
		do_prefix(c, i);
		return true;
	}
	if (!strcmp(n, "trap")) {
		do_trap(c, i);
		return true;
	}
	if (!strcmp(n, "alias")) {
		for (int k = 1; k < cmd->argc; k++) {
			const char *eq = strchr(cmd->argv[k].s, '=');
			struct shx *x = c->x;

			if (!eq || eq == cmd->argv[k].s || x->naliases >= SHX_LEN(x->aliases))
				continue;
			x->aliases[x->naliases].name = shx_strndup(x, cmd->argv[k].s,
								   (size_t)(eq - cmd->argv[k].s));
			x->aliases[x->naliases].value = eq + 1;
			x->naliases++;
		}
		return cmd->argc > 1;
	}
	if (!strcmp(n, "exit") || !strcmp(n, "return") || !strcmp(n, "logout")) {
		c->exited = true;
		return true;
	}
	return false;
}

/* ---- loops ---------------------------------------------------------------------------------------- */

static void mark(struct shx_ctx *c, const char *name, size_t n, unsigned reason)
{
	struct shx_val v;

	if (!shx_valid_name(name, n))
		return;
	shx_get(c, name, n, &v);
	if (v.state != VAL_UNKNOWN || v.s)
		shx_set(c, name, n, NULL, 0, VAL_UNKNOWN, reason);
}

/* Names changed by arithmetic text: NAME before ++, -- or an assignment operator,
 * or after ++/--. */
static void arith_names(struct shx_ctx *c, const char *s, size_t n, unsigned reason)
{
	for (size_t i = 0; i < n;) {
		size_t b = i, e, j;

		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      s[i] == '_')) {
			i++;
			continue;
		}
		while (i < n && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
				 s[i] == '_' || (s[i] >= '0' && s[i] <= '9')))
			i++;
		e = i;
		j = e;
		while (j < n && s[j] == ' ')
			j++;
		if ((j + 1 < n && (s[j] == '+' || s[j] == '-') && s[j + 1] == s[j]) ||
		    (j < n && s[j] == '=' && !(j + 1 < n && s[j + 1] == '=')) ||
		    (j + 1 < n && strchr("+-*/%&|^", s[j]) && s[j + 1] == '=') ||
		    (b >= 2 && (s[b - 1] == '+' || s[b - 1] == '-') && s[b - 2] == s[b - 1]))
			mark(c, s + b, e - b, reason);
	}
}

void shx_loop_vars(struct shx_ctx *c, const struct shx_node *n, unsigned reason, int depth)
{
	if (!n || depth > (int)SH_MAX_NEST)
		return;
	switch (n->kind) {
	case N_SIMPLE: {
		const struct shx_word *w0 = n->u.simple.words;
		size_t len;
		const char *name = w0 ? shx_word_plain(w0, &len) : NULL;

		for (const struct shx_assign *a = n->u.simple.assigns; a; a = a->next)
			mark(c, a->name, a->nlen, reason);
		if (!name)
			break;
		if (shx_is_decl(name, len) || (len == 4 && !memcmp(name, "read", 4)) ||
		    (len == 7 && !memcmp(name, "mapfile", 7)) ||
		    (len == 3 && !memcmp(name, "let", 3)) ||
		    (len == 6 && !memcmp(name, "printf", 6))) {
			for (const struct shx_word *w = w0->next; w; w = w->next) {
				size_t k = 0;

				if (!w->nsegs || w->segs[0].kind != SEG_LIT)
					continue;
				while (k < w->segs[0].len && w->segs[0].s[k] != '=' &&
				       w->segs[0].s[k] != '+')
					k++;
				mark(c, w->segs[0].s, k, reason);
				if (len == 3)
					arith_names(c, w->segs[0].s, w->segs[0].len, reason);
			}
		}
		if ((len == 2 && !memcmp(name, "cd", 2)) ||
		    (len == 5 && !memcmp(name, "pushd", 5)) ||
		    (len == 4 && !memcmp(name, "popd", 4))) {
			unsigned u = 0;

			if (shx_cwd(c, &u))
				shx_set_cwd(c, NULL, reason | SH_U_CWD);
		}
		break;
	}
	case N_ARITH:
		if (n->u.words)
			arith_names(c, n->u.words->raw, n->u.words->rawlen, reason);
		break;
	case N_ARITHFOR:
		if (n->u.afor.init)
			arith_names(c, n->u.afor.init->raw, n->u.afor.init->rawlen, reason);
		if (n->u.afor.step)
			arith_names(c, n->u.afor.step->raw, n->u.afor.step->rawlen, reason);
		shx_loop_vars(c, n->u.afor.body, reason, depth + 1);
		break;
	case N_FOR:
		mark(c, n->u.for_.var, n->u.for_.vlen, reason);
		shx_loop_vars(c, n->u.for_.body, reason, depth + 1);
		break;
	case N_IF:
		shx_loop_vars(c, n->u.if_.cond, reason, depth + 1);
		shx_loop_vars(c, n->u.if_.then, reason, depth + 1);
		shx_loop_vars(c, n->u.if_.els, reason, depth + 1);
		break;
	case N_WHILE:
	case N_UNTIL:
		shx_loop_vars(c, n->u.loop.cond, reason, depth + 1);
		shx_loop_vars(c, n->u.loop.body, reason, depth + 1);
		break;
	case N_CASE:
		for (const struct shx_arm *a = n->u.case_.arms; a; a = a->next)
			shx_loop_vars(c, a->body, reason, depth + 1);
		break;
	case N_PIPE:
	case N_ANDOR:
	case N_LIST:
	case N_GROUP:
		for (const struct shx_node *e = n->u.first; e; e = e->next)
			shx_loop_vars(c, e, reason, depth + 1);
		break;
	default:
		break;
	}
}
