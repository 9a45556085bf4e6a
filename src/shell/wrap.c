/*
 * wrap.c - commands that run other commands, by table: what each one's
 * options are (so that the command it runs is found, not an option's
 * value), and how the command runs: as its argv (env, sudo, nice, timeout,
 * nohup, xargs, find -exec, busybox, ...), or as text a shell parses
 * (sh -c, su -c, watch, script -c, ssh HOST CMD, flock -c).  An option a
 * wrapper does not know is reported (SH_U_OPTION) on what it runs, since
 * the command found after it may be wrong.
 */
#include "wrap_int.h"

#include <stdlib.h>

bool shx_is_builtin(const char *name)
{
	static const char *const b[] = {
		".",	     ":",	 "[",	    "alias",   "bg",	  "bind",     "break",
		"builtin",   "caller",	 "cd",	    "command", "compgen", "complete", "compopt",
		"continue",  "declare",	 "dirs",    "disown",  "echo",	  "enable",   "eval",
		"exec",	     "exit",	 "export",  "false",   "fc",	  "fg",	      "getopts",
		"hash",	     "help",	 "history", "jobs",    "kill",	  "let",      "local",
		"logout",    "mapfile",	 "popd",    "printf",  "pushd",	  "pwd",      "read",
		"readarray", "readonly", "return",  "set",     "shift",	  "shopt",    "source",
		"suspend",   "test",	 "times",   "trap",    "true",	  "type",     "typeset",
		"ulimit",    "umask",	 "unalias", "unset",   "wait",
	};

	for (size_t i = 0; i < SHX_LEN(b); i++)
		if (!strcmp(b[i], name))
			return true;
	return false;
}

bool shx_is_shell(const char *name)
{
	static const char *const sh[] = { "sh",	 "bash",  "zsh",  "dash", "ksh",  "mksh",
					  "ash", "rbash", "posh", "yash", "lksh", "pdksh" };

	for (size_t i = 0; i < SHX_LEN(sh); i++)
		if (!strcmp(sh[i], name))
			return true;
	return false;
}

int shx_scan_opts(const struct sh_cmd *cmd, int k, const struct optspec *o, bool *stop,
		  bool *unknown)
{
	*stop = false;
	while (k < cmd->argc) {
		const char *s = cmd->argv[k].s;

		if (streq(s, "--"))
			return k + 1;
		if (s[0] != '-' || !s[1])
			break;
		if (s[1] == '-') {
			const char *eq = strchr(s + 2, '=');
			size_t n = eq ? (size_t)(eq - s - 2) : strlen(s + 2);

			if (!eq && in_list(s + 2, n, o->longarg))
				k++;
			else if (o->longflag && !in_list(s + 2, n, o->longflag) &&
				 !in_list(s + 2, n, o->longarg))
				*unknown = true;
			k++;
			continue;
		}
		for (size_t j = 1; s[j]; j++) {
			if (o->stop_opts && strchr(o->stop_opts, s[j]))
				*stop = true;
			if (o->argopts && strchr(o->argopts, s[j])) {
				if (!s[j + 1])
					k++;
				break;
			}
			if (o->digits_flag && s[j] >= '0' && s[j] <= '9')
				break;
		}
		k++;
	}
	return k < cmd->argc ? k : cmd->argc; /* an option without its value */
}

/* ---- env ----------------------------------------------------------------------------------------- */

/* env -S STRING: split as env does (blanks, quotes, backslashes); ${VAR} unresolved. */
static int env_split(struct shx *x, const struct sh_word *w, struct sh_word *out, int cap)
{
	int n = 0;
	size_t i = 0;

	while (i < w->len && n < cap) {
		char stack[256];
		struct shx_buf b;
		char q = 0;
		bool any = false;
		unsigned unres = w->unres;

		while (i < w->len && (w->s[i] == ' ' || w->s[i] == '\t'))
			i++;
		if (i >= w->len)
			break;
		shx_buf_init(&b, stack, sizeof(stack));
		for (; i < w->len; i++) {
			char ch = w->s[i];

			if (!q && (ch == ' ' || ch == '\t'))
				break;
			if (!q && (ch == '\'' || ch == '"')) {
				q = ch;
				any = true;
				continue;
			}
			if (q && ch == q) {
				q = 0;
				continue;
			}
			if (ch == '\\' && q != '\'' && i + 1 < w->len) {
				char e = w->s[++i];

				shx_buf_addc(x, &b, e == 'n' ? '\n' : e == 't' ? '\t' : e);
				any = true;
				continue;
			}
			if (ch == '$' && q != '\'' && i + 1 < w->len && w->s[i + 1] == '{')
				unres |= SH_U_VAR;
			shx_buf_addc(x, &b, ch);
			any = true;
		}
		if (!any)
			continue;
		out[n].s = shx_buf_done(x, &b);
		out[n].len = b.len;
		out[n].unres = unres;
		out[n].flags = w->flags & SH_W_DECODED;
		out[n].sub = -1;
		out[n].pattern = NULL;
		n++;
	}
	return n;
}

/* env -S STRING (or -SSTRING, --split-string=STRING) at (*v)[k]: the list with the
 * string's words in its place; false when the string is missing. */
static bool split_string(struct shx *x, const struct sh_word **v, int *n, int k)
{
	const char *s = (*v)[k].s;
	struct sh_word str = (*v)[k];
	struct sh_word *nv;
	int m, rest, at = k;

	if (s[1] == 'S' && s[2]) {
		str.s = s + 2;
		str.len -= 2;
	} else if (s[1] == '-' && strchr(s, '=')) {
		str.s = strchr(s, '=') + 1;
		str.len = strlen(str.s);
	} else if (k + 1 < *n) {
		str = (*v)[++at];
	} else {
		return false;
	}
	rest = *n - at - 1;
	nv = shx_alloc(x, (str.len + 2 + (size_t)rest + (size_t)k) * sizeof(*nv));
	memcpy(nv, *v, (size_t)k * sizeof(*nv));
	m = env_split(x, &str, nv + k, (int)str.len + 1);
	memcpy(nv + k + m, *v + at + 1, (size_t)rest * sizeof(*nv));
	*v = nv;
	*n = k + m + rest;
	return true;
}

static bool run_env(struct shx_ctx *c, int i)
{
	struct shx *x = c->x;
	struct sh_cmd *cmd = shx_cmd(x, i);
	const struct sh_word *v = cmd->argv;
	int n = cmd->argc, k = 1, nenv = 0;
	struct shx_spawn sp = { 0 };
	struct sh_assign *env;

	while (k < n) {
		const char *s = v[k].s;

		if (streq(s, "--")) {
			k++;
			break;
		}
		if (streq(s, "-") || streq(s, "-i") || streq(s, "--ignore-environment")) {
			sp.clear_env = true;
			k++;
			continue;
		}
		if (!strncmp(s, "-S", 2) || !strncmp(s, "--split-string", 14)) {
			/* The string's words replace it in the argument list. */
			if (!split_string(x, &v, &n, k))
				return true;
			continue;
		}
		if (!strncmp(s, "-u", 2) || !strncmp(s, "-C", 2) || !strncmp(s, "--unset=", 8)) {
			const char *val = s[1] == '-' ? s + 8
					  : s[2]      ? s + 2
					  : k + 1 < n ? v[k + 1].s
						      : NULL;

			if (s[1] != 'C' && val && sp.nunset < (int)SHX_LEN(sp.unset))
				sp.unset[sp.nunset++] = val;
			if (s[1] == '-') {
				k++;
				continue;
			}

			if (s[1] == 'C' && val) {
				unsigned u = 0;

				sp.cwd_set = true;
				sp.cwd = shx_path_join(x, cmd->cwd ? cmd->cwd : shx_cwd(c, &u), val,
						       strlen(val));
			}
			k += s[2] ? 1 : 2;
			continue;
		}
		if (!strncmp(s, "--chdir=", 8)) {
			sp.cwd_set = true;
			sp.cwd = shx_path_join(x, cmd->cwd, s + 8, strlen(s + 8));
			k++;
			continue;
		}
		if (s[0] == '-' && s[1]) {
			if (s[1] != '-' && strspn(s + 1, "i0v") == strlen(s + 1) && strchr(s, 'i'))
				sp.clear_env = true;
			else if (s[1] != '-' && strspn(s + 1, "i0v") != strlen(s + 1))
				sp.unres |= SH_U_OPTION;
			k++;
			continue;
		}
		break;
	}
	env = shx_alloc(x, (size_t)(n > 0 ? n : 1) * sizeof(*env));
	while (k < n) {
		const char *eq = strchr(v[k].s, '=');

		if (!eq || eq == v[k].s)
			break;
		env[nenv].name = shx_strndup(x, v[k].s, (size_t)(eq - v[k].s));
		env[nenv].value = v[k];
		env[nenv].value.s = eq + 1;
		env[nenv].value.len = v[k].len - (size_t)(eq + 1 - v[k].s);
		nenv++;
		k++;
	}
	if (k >= n) {
		if (c->out)
			c->out->known = false; /* env prints the environment */
		return true;
	}
	sp.env = env;
	sp.nenv = nenv;
	shx_spawn(c, i, v + k, n - k, SH_VIA_WRAPPER, &sp);
	return true;
}

/* ---- privilege ---------------------------------------------------------------------------------------- */

/* A long option of sudo at k: what it sets; returns the index after it. */
static int sudo_long(struct shx *x, const struct sh_cmd *cmd, int k, struct shx_spawn *sp,
		     bool *norun, bool *login)
{
	static const char *const longarg[] = { "user",	     "group",	   "host",
					       "prompt",     "close-from", "chdir",
					       "role",	     "type",	   "command-timeout",
					       "other-user", "chroot",	   NULL };
	static const char *const norun_opts[] = {
		"edit", "list", "validate", "version", "remove-timestamp", "reset-timestamp", NULL
	};
	const char *s = cmd->argv[k].s + 2, *eq = strchr(s, '=');
	size_t nl = eq ? (size_t)(eq - s) : strlen(s);
	const char *val = eq ? eq + 1 : k + 1 < cmd->argc ? cmd->argv[k + 1].s : "";

	if (in_list(s, nl, longarg)) {
		if (nl == 4 && !strncmp(s, "user", 4))
			sp->user = val;
		else if (nl == 5 && !strncmp(s, "chdir", 5)) {
			sp->cwd_set = true;
			sp->cwd = shx_path_join(x, cmd->cwd, val, strlen(val));
		}
		return k + (eq ? 1 : 2);
	}
	if (in_list(s, nl, norun_opts))
		*norun = true;
	if (nl == 5 && !strncmp(s, "login", 5))
		*login = true;
	if (nl == 10 && !strncmp(s, "background", 10))
		sp->flags |= SH_C_BACKGROUND;
	return k + 1;
}

static bool run_sudo(struct shx_ctx *c, int i)
{
	struct shx *x = c->x;
	struct sh_cmd *cmd = shx_cmd(x, i);
	struct shx_spawn sp = { .user = "root" };
	bool norun = false, login = false;
	int k = 1, nenv = 0;
	struct sh_assign *env;

	if (streq(cmd->name, "sudoedit"))
		return true;
	while (k < cmd->argc) {
		const char *s = cmd->argv[k].s;

		if (streq(s, "--")) {
			k++;
			break;
		}
		if (s[0] != '-' || !s[1])
			break;
		if (s[1] == '-') {
			k = sudo_long(x, cmd, k, &sp, &norun, &login);
			continue;
		}
		for (size_t j = 1; s[j]; j++) {
			char o = s[j];

			if (strchr("ughpCDrtTUR", o)) {
				const char *val = s[j + 1]	      ? s + j + 1
						  : k + 1 < cmd->argc ? cmd->argv[++k].s
								      : "";

				if (o == 'u')
					sp.user = val;
				if (o == 'D') {
					sp.cwd_set = true;
					sp.cwd = shx_path_join(x, cmd->cwd, val, strlen(val));
				}
				break;
			}
			if (strchr("elvkKV", o))
				norun = true;
			if (o == 'i')
				login = true;
			if (o == 'b')
				sp.flags |= SH_C_BACKGROUND;
		}
		k++;
	}
	if (norun || k >= cmd->argc)
		return true;
	env = shx_alloc(x, (size_t)cmd->argc * sizeof(*env));
	while (k < cmd->argc) {
		const char *eq = strchr(cmd->argv[k].s, '=');

		if (!eq || !shx_valid_name(cmd->argv[k].s, (size_t)(eq - cmd->argv[k].s)))
			break;
		env[nenv].name = shx_strndup(x, cmd->argv[k].s, (size_t)(eq - cmd->argv[k].s));
		env[nenv].value = cmd->argv[k];
		env[nenv].value.s = eq + 1;
		env[nenv].value.len = cmd->argv[k].len - (size_t)(eq + 1 - cmd->argv[k].s);
		nenv++;
		k++;
	}
	if (k >= cmd->argc)
		return true; /* an interactive shell (sudo -i, sudo -s) or nothing */
	if (login && !sp.cwd_set) {
		/* sudo -i runs the command through a login shell, in the user's home. */
		sp.cwd_set = true;
		sp.cwd = shx_home_of(c, sp.user, strlen(sp.user));
	}
	sp.env = env;
	sp.nenv = nenv;
	cmd->flags |= 0;
	shx_spawn(c, i, cmd->argv + k, cmd->argc - k, SH_VIA_WRAPPER, &sp);
	return true;
}

/* su [options] [-] [USER [args]] with -c COMMAND; runuser in its su form. */
static bool run_su(struct shx_ctx *c, int i)
{
	struct sh_cmd *cmd = shx_cmd(c->x, i);
	struct shx_spawn sp = { .user = "root" };
	const struct sh_word *text = NULL;
	bool login = false, user_seen = false;
	int k = 1;

	while (k < cmd->argc) {
		const char *s = cmd->argv[k].s;

		if (streq(s, "-") || streq(s, "-l") || streq(s, "--login")) {
			login = true;
			k++;
			continue;
		}
		if (streq(s, "-c") || streq(s, "--command") || streq(s, "--session-command")) {
			if (k + 1 < cmd->argc)
				text = &cmd->argv[k + 1];
			k += 2;
			continue;
		}
		if (!strncmp(s, "--command=", 10) || !strncmp(s, "--session-command=", 18)) {
			const char *eq = strchr(s, '=') + 1;
			struct sh_word *w = shx_alloc(c->x, sizeof(*w));

			*w = cmd->argv[k];
			w->s = eq;
			w->len = strlen(eq);
			text = w;
			k++;
			continue;
		}
		if (!strncmp(s, "-c", 2) && s[2]) {
			struct sh_word *w = shx_alloc(c->x, sizeof(*w));

			*w = cmd->argv[k];
			w->s = s + 2;
			w->len = cmd->argv[k].len - 2;
			text = w;
			k++;
			continue;
		}
		if (streq(s, "-s") || streq(s, "-g") || streq(s, "-G") || streq(s, "-w") ||
		    streq(s, "--shell") || streq(s, "--group") || streq(s, "--supp-group") ||
		    streq(s, "--whitelist-environment") ||
		    (streq(cmd->name, "runuser") && streq(s, "-u"))) {
			if (streq(s, "-u") && k + 1 < cmd->argc) {
				/* runuser -u USER COMMAND: runs its argv directly */
				sp.user = cmd->argv[k + 1].s;
				k += 2;
				if (k < cmd->argc && streq(cmd->argv[k].s, "--"))
					k++;
				if (k < cmd->argc)
					shx_spawn(c, i, cmd->argv + k, cmd->argc - k,
						  SH_VIA_WRAPPER, &sp);
				return true;
			}
			k += 2;
			continue;
		}
		if (s[0] == '-' && s[1]) {
			if (!strchr("mpfP", s[1]) && strncmp(s, "--preserve", 10) &&
			    strncmp(s, "--pty", 5) && strncmp(s, "--shell=", 8) &&
			    strncmp(s, "--group=", 8) && strncmp(s, "--fast", 6))
				sp.unres |= SH_U_OPTION;
			k++;
			continue;
		}
		if (!user_seen) {
			sp.user = s;
			user_seen = true;
			k++;
			continue;
		}
		break;
	}
	if (k > cmd->argc)
		k = cmd->argc; /* an option without its value */
	if (!text)
		return true; /* an interactive shell */
	if (text->unres)
		cmd->unres |= SH_U_SCRIPT;
	if (!shx_text_parsable(text->unres))
		return true;
	if (login) {
		sp.cwd_set = true;
		sp.cwd = shx_home_of(c, sp.user, strlen(sp.user));
	}
	shx_run_shell_text(c, i, text->s, text->len, cmd->argv + k,
			   cmd->argc - k > 0 ? cmd->argc - k : 0, "su", SH_VIA_SHELL,
			   (text->flags & SH_W_DECODED) != 0, false, &sp);
	return true;
}

/* doas [-u user] cmd, pkexec [--user user] cmd. */
static bool run_doas(struct shx_ctx *c, int i)
{
	struct sh_cmd *cmd = shx_cmd(c->x, i);
	struct shx_spawn sp = { .user = "root" };
	int k = 1;

	while (k < cmd->argc) {
		const char *s = cmd->argv[k].s;

		if (streq(s, "--")) {
			k++;
			break;
		}
		if ((streq(s, "-u") || streq(s, "--user")) && k + 1 < cmd->argc) {
			sp.user = cmd->argv[k + 1].s;
			k += 2;
			continue;
		}
		if (streq(s, "-C") && k + 1 < cmd->argc) {
			k += 2;
			continue;
		}
		if (s[0] == '-' && s[1]) {
			if (streq(s, "-s") || streq(s, "-L"))
				return true;
			k++;
			continue;
		}
		break;
	}
	if (k < cmd->argc)
		shx_spawn(c, i, cmd->argv + k, cmd->argc - k, SH_VIA_WRAPPER, &sp);
	return true;
}

/* ---- wrappers with text or argv, by table ------------------------------------------------------------ */

static const char *const TIME_LONG[] = { "format", "output", NULL };
static const char *const TIMEOUT_LONG[] = { "signal", "kill-after", NULL };
static const char *const STDBUF_LONG[] = { "input", "output", "error", NULL };
static const char *const NICE_LONG[] = { "adjustment", NULL };
static const char *const CHROOT_LONG[] = { "userspec", "groups", NULL };
static const char *const STRACE_LONG[] = { "output", "trace", "signal", "status", "string-limit",
					   "attach", "user",  "env",	NULL };
static const char *const WATCH_LONG[] = { "interval", NULL };

struct wrapper {
	const char *name;
	struct optspec opts;
	int operands;	     /* operands before the command (timeout's duration, chroot's root) */
	unsigned flags;	     /* added to what it runs */
	const char *bg_opts; /* short options that make it run in the background */
};

static const struct wrapper WRAPPERS[] = {
	{ "nice", { .argopts = "n", .longarg = NICE_LONG, .digits_flag = true }, 0, 0, NULL },
	{ "nohup", { 0 }, 0, 0, NULL },
	{ "timeout", { .argopts = "sk", .longarg = TIMEOUT_LONG }, 1, 0, NULL },
	{ "stdbuf", { .argopts = "ioe", .longarg = STDBUF_LONG }, 0, 0, NULL },
	{ "ionice", { .argopts = "cnpPu", .stop_opts = "pPu" }, 0, 0, NULL },
	{ "setsid", { 0 }, 0, 0, "f" },
	{ "chroot", { .longarg = CHROOT_LONG }, 1, 0, NULL },
	{ "taskset", { .stop_opts = "p" }, 1, 0, NULL },
	{ "time", { .argopts = "fo", .longarg = TIME_LONG }, 0, 0, NULL },
	{ "strace",
	  { .argopts = "abeEIoOpPsSuX", .longarg = STRACE_LONG, .stop_opts = "p" },
	  0,
	  0,
	  NULL },
	{ "ltrace",
	  { .argopts = "aAeEFlLnopsSuwX", .longarg = STRACE_LONG, .stop_opts = "p" },
	  0,
	  0,
	  NULL },
	{ "unbuffer", { 0 }, 0, 0, NULL },
	{ "caffeinate", { .argopts = "tw" }, 0, 0, NULL },
	{ "sshpass", { .argopts = "fdpP" }, 0, 0, NULL },
	{ "chrt", { .stop_opts = "p" }, 1, 0, NULL },
	{ "nsenter", { .argopts = "tST" }, 0, 0, NULL },
	{ "unshare", { 0 }, 0, 0, NULL },
	{ "firejail", { 0 }, 0, 0, NULL },
	{ "proxychains", { .argopts = "f" }, 0, 0, NULL },
	{ "proxychains4", { .argopts = "f" }, 0, 0, NULL },
	{ "torsocks", { 0 }, 0, 0, NULL },
	{ "faketime", { 0 }, 1, 0, NULL },
	{ "catchsegv", { 0 }, 0, 0, NULL },
};

/* chroot NEWROOT [cmd]: absolute paths then resolve in NEWROOT. */
static void chroot_spawn(struct shx_ctx *c, int i, int k, struct shx_spawn *sp)
{
	struct sh_cmd *cmd = shx_cmd(c->x, i);
	const struct sh_word *r = &cmd->argv[k - 1];

	sp->root = r->unres ? NULL : shx_path_join(c->x, cmd->cwd, r->s, r->len);
	sp->cwd_set = true;
	sp->cwd = "/";
	for (int q = 1; q < k; q++)
		if (!strcmp(cmd->argv[q].s, "--skip-chdir"))
			sp->cwd_set = false;
}

static bool run_table(struct shx_ctx *c, int i, const struct wrapper *w)
{
	struct sh_cmd *cmd = shx_cmd(c->x, i);
	struct shx_spawn sp = { .flags = w->flags };
	bool stop, unknown = false;
	int k = shx_scan_opts(cmd, 1, &w->opts, &stop, &unknown);

	if (stop)
		return true;
	for (int q = 1; w->bg_opts && q < k && q < cmd->argc; q++)
		if (cmd->argv[q].s[0] == '-' && cmd->argv[q].s[1] != '-' &&
		    strpbrk(cmd->argv[q].s + 1, w->bg_opts))
			sp.flags |= SH_C_BACKGROUND;
	for (int q = 1; q < k && q < cmd->argc; q++)
		if (streq(cmd->argv[q].s, "--fork") && streq(w->name, "setsid"))
			sp.flags |= SH_C_BACKGROUND;
	k += w->operands;
	if (unknown)
		sp.unres |= SH_U_OPTION;
	if (streq(w->name, "chroot")) {
		if (k > cmd->argc)
			return true;
		chroot_spawn(c, i, k, &sp);
	}
	if (k >= cmd->argc) {
		if (c->out)
			c->out->known = false;
		return true;
	}
	shx_spawn(c, i, cmd->argv + k, cmd->argc - k, SH_VIA_WRAPPER, &sp);
	return true;
}

/* watch CMD...: joined and run by sh -c, unless -x. */
static bool run_watch(struct shx_ctx *c, int i)
{
	struct shx *x = c->x;
	struct sh_cmd *cmd = shx_cmd(x, i);
	struct optspec o = { .argopts = "nq", .longarg = WATCH_LONG };
	bool stop, unknown = false, exec = false;
	int k = shx_scan_opts(cmd, 1, &o, &stop, &unknown);
	char stack[512];
	struct shx_buf b;

	for (int q = 1; q < k; q++)
		if (streq(cmd->argv[q].s, "-x") || streq(cmd->argv[q].s, "--exec") ||
		    (cmd->argv[q].s[0] == '-' && cmd->argv[q].s[1] != '-' &&
		     strchr(cmd->argv[q].s, 'x')))
			exec = true;
	if (k >= cmd->argc)
		return true;
	if (exec) {
		shx_spawn(c, i, cmd->argv + k, cmd->argc - k, SH_VIA_WRAPPER, NULL);
		return true;
	}
	shx_buf_init(&b, stack, sizeof(stack));
	for (int q = k; q < cmd->argc; q++) {
		if (q > k)
			shx_buf_addc(x, &b, ' ');
		shx_buf_add(x, &b, cmd->argv[q].s, cmd->argv[q].len);
	}
	shx_run_shell_text(c, i, shx_buf_done(x, &b), b.len, NULL, 0, "sh", SH_VIA_SHELL, false,
			   true, NULL);
	return true;
}

/* script [opts] -c CMD [file]; flock [opts] FILE (-c CMD | cmd args). */
static bool run_text_opt(struct shx_ctx *c, int i)
{
	struct sh_cmd *cmd = shx_cmd(c->x, i);
	bool flock = streq(cmd->name, "flock");
	/* short options taking a value, besides -c */
	const char *argopts = flock ? "wEC" : "EIOBTm";
	struct sh_word *text = NULL;
	int k = 1, operands = 0;

	while (k < cmd->argc) {
		const char *s = cmd->argv[k].s;

		if (streq(s, "--")) {
			k++;
			break;
		}
		if (streq(s, "--command") || !strncmp(s, "--command=", 10)) {
			const char *v = s[9] == '='	    ? s + 10
					: k + 1 < cmd->argc ? cmd->argv[++k].s
							    : NULL;

			if (v) {
				text = shx_alloc(c->x, sizeof(*text));
				*text = cmd->argv[k];
				text->s = v;
				text->len = strlen(v);
			}
			k++;
			continue;
		}
		if (s[0] == '-' && s[1] == '-') {
			if (!strchr(s, '=') && (!strcmp(s, "--timeout") || !strcmp(s, "--wait") ||
						!strcmp(s, "--conflict-exit-code") ||
						!strncmp(s, "--log-", 6) || !strcmp(s, "--echo")))
				k++;
			k++;
			continue;
		}
		if (s[0] == '-' && s[1]) {
			for (size_t j = 1; s[j]; j++) {
				if (s[j] == 'c') {
					const char *v = s[j + 1]	    ? s + j + 1
							: k + 1 < cmd->argc ? cmd->argv[++k].s
									    : NULL;

					if (v) {
						text = shx_alloc(c->x, sizeof(*text));
						*text = cmd->argv[k];
						text->s = v;
						text->len = strlen(v);
					}
					break;
				}
				if (strchr(argopts, s[j])) {
					if (!s[j + 1])
						k++;
					break;
				}
			}
			k++;
			continue;
		}
		if (flock && operands == 0) {
			operands++;
			k++;
			if (!text && k < cmd->argc && cmd->argv[k].s[0] != '-') {
				shx_spawn(c, i, cmd->argv + k, cmd->argc - k, SH_VIA_WRAPPER, NULL);
				return true;
			}
			continue;
		}
		k++;
	}
	if (!text)
		return true;
	if (text->unres)
		cmd->unres |= SH_U_SCRIPT;
	if (shx_text_parsable(text->unres))
		shx_run_shell_text(c, i, text->s, text->len, NULL, 0, "sh", SH_VIA_SHELL,
				   (text->flags & SH_W_DECODED) != 0, flock, NULL);
	return true;
}

bool shx_wrap(struct shx_ctx *c, int i)
{
	struct sh_cmd *cmd = shx_cmd(c->x, i);
	const char *n = cmd->name;

	if (strchr(cmd->argv[0].s, '/') && shx_run_written(c, i))
		return true;
	if (shx_is_shell(n))
		return shx_run_shell(c, i);
	if (streq(n, "env"))
		return run_env(c, i);
	if (streq(n, "sudo") || streq(n, "sudoedit"))
		return run_sudo(c, i);
	if (streq(n, "su") || streq(n, "runuser"))
		return run_su(c, i);
	if (streq(n, "doas") || streq(n, "pkexec"))
		return run_doas(c, i);
	if (streq(n, "xargs"))
		return shx_run_xargs(c, i);
	if (streq(n, "find"))
		return shx_run_find(c, i);
	if (streq(n, "ssh"))
		return shx_run_ssh(c, i);
	if (streq(n, "docker") || streq(n, "podman") || streq(n, "nerdctl") || streq(n, "kubectl"))
		return shx_run_container(c, i);
	if (streq(n, "watch"))
		return run_watch(c, i);
	if (streq(n, "script") || streq(n, "flock"))
		return run_text_opt(c, i);
	if ((streq(n, "busybox") || streq(n, "toybox")) && cmd->argc > 1 &&
	    cmd->argv[1].s[0] != '-') {
		shx_spawn(c, i, cmd->argv + 1, cmd->argc - 1, SH_VIA_WRAPPER, NULL);
		return true;
	}
	for (size_t k = 0; k < SHX_LEN(WRAPPERS); k++)
		if (streq(n, WRAPPERS[k].name))
			return run_table(c, i, &WRAPPERS[k]);
	return false;
}
