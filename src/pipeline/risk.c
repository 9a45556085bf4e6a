/*
 * risk.c - the baseline risk of an event, until the rules engine exists:
 * a small fixed table of heuristics over facts the normalizer already has
 * (event type, path, scope, Bash command, redactions).  Every rule that
 * matches adds its reason; the event's score is the highest score matched
 * and its level that rule's level.  No rule matched: "info", score 0.
 * Deterministic: no clock, no filesystem, no environment.
 *
 * The table is documented in docs/event-schema.md ("risk"); keep both in
 * step.  The Bash reading is a heuristic tokenizer, not a shell parser: it
 * splits words on blanks, quotes and operators, knows pipelines and
 * redirections, and skips "sudo", "env", VAR=value and similar prefixes to
 * find the command word.  It errs toward flagging.
 */
#include "pipeline.h"
#include "pipeline_int.h"

#include "common.h"

#include <errno.h>
#include <stdio.h>

#define RISK_WORD_MAX 4096

enum risk_level { RL_INFO, RL_LOW, RL_MEDIUM, RL_HIGH, RL_CRITICAL };

static const char *const level_names[] = { "info", "low", "medium", "high", "critical" };

enum risk_rule {
	R_PIPE_TO_SHELL,
	R_RM_ROOT,
	R_SHELL_RC,
	R_SENSITIVE,
	R_RM_OUTSIDE,
	R_SUDO,
	R_WRITE_OUTSIDE,
	R_CHMOD_WORLD,
	R_SECRET,
	R_READ_OUTSIDE,
	R_CMD_OUTSIDE,
	R_NETWORK,
	R_FAILURE,
	R_COUNT
};

/* In order of severity; the reasons are listed in this order. */
static const struct {
	const char *reason;
	enum risk_level level;
	int score;
} rules[R_COUNT] = {
	[R_PIPE_TO_SHELL] = { "pipe_to_shell", RL_CRITICAL, 95 },
	[R_RM_ROOT] = { "rm_recursive_root_or_home", RL_CRITICAL, 95 },
	[R_SHELL_RC] = { "shell_startup_file_write", RL_HIGH, 85 },
	[R_SENSITIVE] = { "sensitive_file", RL_HIGH, 80 },
	[R_RM_OUTSIDE] = { "rm_recursive_outside_project", RL_HIGH, 80 },
	[R_SUDO] = { "privilege_escalation", RL_HIGH, 75 },
	[R_WRITE_OUTSIDE] = { "write_outside_project", RL_HIGH, 70 },
	[R_CHMOD_WORLD] = { "world_writable_chmod", RL_HIGH, 70 },
	[R_SECRET] = { "secret_in_input", RL_MEDIUM, 50 },
	[R_READ_OUTSIDE] = { "read_outside_project", RL_MEDIUM, 45 },
	[R_CMD_OUTSIDE] = { "command_outside_project", RL_MEDIUM, 40 },
	[R_NETWORK] = { "network_access", RL_LOW, 20 },
	[R_FAILURE] = { "tool_failure", RL_LOW, 15 },
};

static bool eq(const char *s, size_t n, const char *lit)
{
	return strlen(lit) == n && memcmp(s, lit, n) == 0;
}

static bool in_list(const char *s, size_t n, const char *const *list, size_t count)
{
	for (size_t i = 0; i < count; i++)
		if (eq(s, n, list[i]))
			return true;
	return false;
}

static const char *base_of(const char *p, size_t n, size_t *bn)
{
	size_t i = n;

	while (i > 0 && p[i - 1] != '/')
		i--;
	*bn = n - i;
	return p + i;
}

/* ---- paths -------------------------------------------------------------------- */

/*
 * Credentials and keys: a path through .ssh, .aws, .gnupg, .kube,
 * .password-store or .docker; a well-known credential file name; the
 * system's password and sudo files; .env files (not .env.example and the
 * like).  p may be absolute, relative or start with "~".
 */
static bool sensitive_path(const char *p, size_t n)
{
	static const char *const dirs[] = { ".ssh", ".aws", ".gnupg", ".kube", ".password-store",
					    ".docker", ".azure", "gcloud" };
	static const char *const names[] = { ".netrc", ".pgpass", ".git-credentials", "id_rsa",
					     "id_dsa", "id_ecdsa", "id_ed25519", ".npmrc",
					     ".pypirc", ".vault-token" };
	static const char *const sys[] = { "/etc/shadow", "/etc/gshadow", "/etc/sudoers",
					   "/etc/master.passwd" };
	static const char *const env_ok[] = { ".example", ".sample", ".template", ".dist" };
	const char *b;
	size_t bn, i = 0;

	if (in_list(p, n, sys, VG_ARRAY_LEN(sys)) || (n > 15 && !memcmp(p, "/etc/sudoers.d/", 15)))
		return true;
	/* Each directory component (not the last one) against dirs. */
	while (i < n) {
		size_t j = i;

		while (j < n && p[j] != '/')
			j++;
		if (j < n && in_list(p + i, j - i, dirs, VG_ARRAY_LEN(dirs)))
			return true;
		i = j + 1;
	}
	b = base_of(p, n, &bn);
	if (in_list(b, bn, names, VG_ARRAY_LEN(names)) || in_list(b, bn, dirs, VG_ARRAY_LEN(dirs)))
		return true;
	if (eq(b, bn, ".env"))
		return true;
	if (bn > 5 && !memcmp(b, ".env.", 5)) {
		for (size_t k = 0; k < VG_ARRAY_LEN(env_ok); k++)
			if (eq(b + 4, bn - 4, env_ok[k]))
				return false;
		return true;
	}
	return false;
}

/* Files a shell reads at start-up: writing them plants code in every shell. */
static bool rc_path(const char *p, size_t n)
{
	static const char *const names[] = { ".bashrc", ".bash_profile", ".bash_login",
					     ".bash_logout", ".profile", ".zshrc", ".zshenv",
					     ".zprofile", ".zlogin", ".kshrc", ".cshrc", ".tcshrc" };
	static const char *const sys[] = { "/etc/profile", "/etc/bash.bashrc", "/etc/zshrc",
					   "/etc/zsh/zshrc", "/etc/environment" };
	static const char fish[] = "/.config/fish/config.fish";
	size_t bn, fn = sizeof(fish) - 1;
	const char *b = base_of(p, n, &bn);

	return in_list(b, bn, names, VG_ARRAY_LEN(names)) || in_list(p, n, sys, VG_ARRAY_LEN(sys)) ||
	       (n > 15 && !memcmp(p, "/etc/profile.d/", 15)) ||
	       (n >= fn && !memcmp(p + n - fn, fish, fn));
}

/*
 * The home directory guessed from the project root ("/home/NAME/..." or
 * "/home/dev/..."), so "~/x" can be placed; empty when it cannot be guessed.
 */
static void guess_home(const char *root, char *home, size_t cap)
{
	const char *e;

	home[0] = 0;
	if (!root)
		return;
	if (!strncmp(root, "/home/", 6) && root[6] && root[6] != '/') {
		e = strchr(root + 6, '/');
		snprintf(home, cap, "%.*s", (int)(e ? (size_t)(e - root) : strlen(root)), root);
	} else if (!strncmp(root, "/root", 5) && (root[5] == 0 || root[5] == '/')) {
		snprintf(home, cap, "/root");
	}
}

struct bash_ctx {
	const struct risk_input *in;
	char home[256];
	bool hit[R_COUNT];
};

/*
 * Resolves a command word to an absolute path: "~" and $HOME through the
 * guessed home, relative words against cwd.  False when it cannot.
 */
static bool word_path(const struct bash_ctx *b, const char *w, char *out, size_t cap)
{
	char tmp[RISK_WORD_MAX + 256];
	const char *rest = NULL;

	if (w[0] == '~' && (w[1] == 0 || w[1] == '/'))
		rest = w + 1;
	else if (!strncmp(w, "$HOME", 5) && (w[5] == 0 || w[5] == '/'))
		rest = w + 5;
	else if (!strncmp(w, "${HOME}", 7) && (w[7] == 0 || w[7] == '/'))
		rest = w + 7;
	if (rest) {
		if (!b->home[0] || vg_path(tmp, sizeof(tmp), "%s/%s", b->home, rest) < 0)
			return false;
		return norm_path(NULL, tmp, out, cap) == 0;
	}
	return norm_path(b->in->cwd, w, out, cap) == 0;
}

/*
 * rm -r on "/", a top-level directory ("/etc", "/usr" and its glob), a home directory
 * ("/home/NAME"), "~" or $HOME.
 */
static bool root_or_home(const struct bash_ctx *b, const char *w)
{
	char p[RISK_WORD_MAX + 256];
	size_t depth = 0;

	if (w[0] == '~' || !strncmp(w, "$HOME", 5) || !strncmp(w, "${HOME}", 7)) {
		const char *r = w[0] == '~' ? w + 1 : w[1] == '{' ? w + 7 : w + 5;

		/* "~", "~/", "~/." and the glob of "~" */
		while (*r == '/' || *r == '*' || *r == '.')
			r++;
		if (*r == 0)
			return true;
	}
	if (w[0] != '/' || !word_path(b, w, p, sizeof(p)))
		return false;
	/* Components, not counting a last "*". */
	for (const char *s = p; *s; s++)
		if (*s == '/' && s[1] && strcmp(s + 1, "*") != 0)
			depth++;
	if (depth <= 1)
		return true;
	return depth == 2 && (!strncmp(p, "/home/", 6) || !strncmp(p, "/Users/", 7));
}

static bool outside_root(const struct bash_ctx *b, const char *w)
{
	char p[RISK_WORD_MAX + 256];

	if (!b->in->root || !word_path(b, w, p, sizeof(p)))
		return w[0] == '/' || w[0] == '~' || w[0] == '$';
	return !norm_under(b->in->root, p);
}

/* ---- Bash ------------------------------------------------------------------- */

enum tok_kind { T_END, T_WORD, T_PIPE, T_SEP, T_REDIR_OUT, T_OPEN };

struct lexer {
	const char *s;
	char word[RISK_WORD_MAX];
	size_t len;
};

/*
 * Reads the next token.  A word has its quotes removed and is cut (not
 * split) at RISK_WORD_MAX - 1 bytes.
 */
static enum tok_kind lex(struct lexer *l)
{
	const char *s = l->s;
	char q = 0;

	l->len = 0;
	/* A loop, not recursion: the command may hold a million blanks or '<'. */
	for (;;) {
		while (*s == ' ' || *s == '\t' || *s == '\r' || (*s == '\\' && s[1] == '\n'))
			s += *s == '\\' ? 2 : 1;
		if (*s == '#') { /* a comment runs to the end of the line */
			while (*s && *s != '\n')
				s++;
			continue;
		}
		if (*s == '<' && s[1] != '(') { /* input redirections and here-documents */
			while (*s == '<' || *s == '-')
				s++;
			continue;
		}
		if ((*s == '>' || (*s == '&' && s[1] == '>'))) {
			const char *r = s + (*s == '&' ? 2 : 1);

			if (*r == '>' || *r == '|')
				r++;
			if (*r == '&') { /* >&2: a descriptor, not a file */
				r++;
				while ((*r >= '0' && *r <= '9') || *r == '-')
					r++;
				s = r;
				continue;
			}
			l->s = r;
			return T_REDIR_OUT;
		}
		break;
	}
	if (*s == 0) {
		l->s = s;
		return T_END;
	}
	if (*s == '|' && s[1] != '|') {
		l->s = s + 1 + (s[1] == '&');
		return T_PIPE;
	}
	if ((*s == '<' || *s == '$') && s[1] == '(') {
		l->s = s + 2;
		return T_OPEN;
	}
	if (*s == '`' || *s == '(') {
		l->s = s + 1;
		return T_OPEN;
	}
	if (strchr(";&|)\n{}", *s)) {
		while (*s && *s != '\n' && strchr(";&|)", *s))
			s++;
		if (*s == '\n' || *s == '{' || *s == '}')
			s++;
		l->s = s;
		return T_SEP;
	}
	while (*s) {
		char c = *s;

		if (!q && strchr(" \t\r\n;&|<>()`", c))
			break;
		if (!q && (c == '\'' || c == '"')) {
			q = c;
			s++;
			continue;
		}
		if (q && c == q) {
			q = 0;
			s++;
			continue;
		}
		if (c == '\\' && q != '\'' && s[1]) {
			s++;
			c = *s;
		}
		if (l->len < sizeof(l->word) - 1)
			l->word[l->len++] = c;
		s++;
	}
	l->word[l->len] = 0;
	l->s = s;
	return T_WORD;
}

enum cmd_kind { C_NONE, C_RM, C_CHMOD, C_FETCH, C_SHELL, C_TEE, C_OTHER };

static enum cmd_kind cmd_kind(const char *w, size_t n)
{
	static const char *const shells[] = { "sh",	 "bash", "zsh",	    "dash",   "ksh",
					      "fish",	 "ash",	 "python",  "python3", "perl",
					      "ruby",	 "node", "busybox" };
	static const char *const fetch[] = { "curl", "wget", "fetch", "aria2c" };
	size_t bn;
	const char *b = base_of(w, n, &bn);

	if (eq(b, bn, "rm"))
		return C_RM;
	if (eq(b, bn, "chmod"))
		return C_CHMOD;
	if (eq(b, bn, "tee"))
		return C_TEE;
	if (in_list(b, bn, fetch, VG_ARRAY_LEN(fetch)))
		return C_FETCH;
	if (in_list(b, bn, shells, VG_ARRAY_LEN(shells)))
		return C_SHELL;
	return C_OTHER;
}

/* A chmod mode that gives others write access: 777, 0666, o+w, a=rwx, ... */
static bool world_writable_mode(const char *w)
{
	size_t n = strlen(w);

	if (n >= 3 && n <= 4 && strspn(w, "01234567") == n) {
		char o = w[n - 1];

		return o == '2' || o == '3' || o == '6' || o == '7';
	}
	for (const char *s = w; *s;) {
		bool who_o = false;
		const char *op;

		while (*s && strchr("ugoa", *s)) {
			who_o |= *s == 'o' || *s == 'a';
			s++;
		}
		op = s;
		if (*op != '+' && *op != '=' && *op != '-')
			return false;
		s++;
		while (*s && strchr("rwxXst", *s)) {
			if (*s == 'w' && who_o && *op != '-')
				return true;
			s++;
		}
		if (*s == ',')
			s++;
		else if (*s)
			return false;
	}
	return false;
}

static bool is_assignment(const char *w)
{
	const char *eqs = strchr(w, '=');

	if (!eqs || eqs == w || !((w[0] >= 'A' && w[0] <= 'Z') || (w[0] >= 'a' && w[0] <= 'z') ||
				 w[0] == '_'))
		return false;
	for (const char *s = w; s < eqs; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		      (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

/* A file the command writes to (redirection or tee). */
static void written_file(struct bash_ctx *b, const char *w)
{
	char p[RISK_WORD_MAX + 256];
	const char *x = word_path(b, w, p, sizeof(p)) ? p : w;

	if (rc_path(x, strlen(x)))
		b->hit[R_SHELL_RC] = true;
	if (sensitive_path(x, strlen(x)))
		b->hit[R_SENSITIVE] = true;
}

struct segment {
	enum cmd_kind cmd;
	bool sudo_opts;	   /* after sudo: options may precede the command */
	bool skip_arg;	   /* the next word is an option's argument */
	bool redir;	   /* the next word is a redirection target */
	bool rm_recursive, rm_root, rm_outside;
};

static void end_segment(struct bash_ctx *b, struct segment *g)
{
	if (g->cmd == C_RM && g->rm_recursive) {
		if (g->rm_root)
			b->hit[R_RM_ROOT] = true;
		else if (g->rm_outside)
			b->hit[R_RM_OUTSIDE] = true;
	}
	memset(g, 0, sizeof(*g));
}

static void bash_word(struct bash_ctx *b, struct segment *g, const char *w, bool *fetch_in_pipe,
		      bool *any_shell)
{
	static const char *const wrappers[] = { "env", "command", "exec", "nohup", "time", "nice",
						"builtin", "xargs", "timeout", "stdbuf" };
	static const char *const sudo_arg_opts[] = { "-u", "-g", "-C", "-D", "-h", "-p", "-r",
						     "-t", "-U", "-T" };
	size_t n = strlen(w);
	const char *eqs = strchr(w, '=');

	if (sensitive_path(w, n) || (eqs && sensitive_path(eqs + 1, strlen(eqs + 1))))
		b->hit[R_SENSITIVE] = true;
	if (g->redir) {
		g->redir = false;
		written_file(b, w);
		return;
	}
	if (g->cmd == C_NONE) {
		if (g->skip_arg) {
			g->skip_arg = false;
			return;
		}
		if (g->sudo_opts && w[0] == '-') {
			g->skip_arg = in_list(w, n, sudo_arg_opts, VG_ARRAY_LEN(sudo_arg_opts));
			return;
		}
		if (is_assignment(w) || in_list(w, n, wrappers, VG_ARRAY_LEN(wrappers)))
			return;
		if (eq(w, n, "sudo") || eq(w, n, "doas") || eq(w, n, "pkexec") || eq(w, n, "su")) {
			b->hit[R_SUDO] = true;
			g->sudo_opts = true;
			return;
		}
		g->cmd = cmd_kind(w, n);
		if (g->cmd == C_SHELL) {
			*any_shell = true;
			if (*fetch_in_pipe)
				b->hit[R_PIPE_TO_SHELL] = true;
		}
		if (g->cmd == C_FETCH)
			*fetch_in_pipe = true;
		return;
	}
	switch (g->cmd) {
	case C_RM:
		if (w[0] == '-' && w[1] != '-') {
			if (strchr(w, 'r') || strchr(w, 'R'))
				g->rm_recursive = true;
		} else if (eq(w, n, "--recursive")) {
			g->rm_recursive = true;
		} else if (w[0] != '-') {
			if (root_or_home(b, w))
				g->rm_root = true;
			else if (outside_root(b, w))
				g->rm_outside = true;
		}
		break;
	case C_CHMOD:
		if (world_writable_mode(w))
			b->hit[R_CHMOD_WORLD] = true;
		break;
	case C_TEE:
		if (w[0] != '-')
			written_file(b, w);
		break;
	default:
		break;
	}
}

static void assess_command(struct bash_ctx *b, const char *cmd)
{
	static const char *const subst[] = { "$(curl", "$(wget", "<(curl", "<(wget", "`curl",
					     "`wget" };
	struct lexer l = { .s = cmd };
	struct segment g = { 0 };
	bool fetch_in_pipe = false, any_shell = false;
	enum tok_kind t;

	while ((t = lex(&l)) != T_END) {
		switch (t) {
		case T_WORD:
			bash_word(b, &g, l.word, &fetch_in_pipe, &any_shell);
			break;
		case T_PIPE:
			end_segment(b, &g);
			break;
		case T_REDIR_OUT:
			g.redir = true;
			break;
		case T_OPEN:
		case T_SEP:
		default:
			end_segment(b, &g);
			fetch_in_pipe = false;
			break;
		}
	}
	end_segment(b, &g);
	/* bash <(curl ...), sh -c "$(wget -O- ...)": a download run by a shell. */
	for (size_t i = 0; any_shell && i < VG_ARRAY_LEN(subst); i++)
		if (strstr(cmd, subst[i]))
			b->hit[R_PIPE_TO_SHELL] = true;
}

/* ---- the table ---------------------------------------------------------------- */

static bool is(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

void risk_assess(const struct risk_input *in, struct risk_result *out)
{
	struct bash_ctx ctx = { .in = in }, *b = &ctx;
	const char *et = in->event_type;
	bool write, read;
	int best = -1;

	guess_home(in->root, b->home, sizeof(b->home));
	write = is(et, "file_write") || is(et, "file_edit") ||
		(is(et, "notebook_operation") && !is(in->tool, "NotebookRead"));
	read = is(et, "file_read") || is(et, "code_search") || is(et, "file_search") ||
	       is(in->tool, "NotebookRead");
	if (write || read) {
		if (in->outside == 1)
			b->hit[write ? R_WRITE_OUTSIDE : R_READ_OUTSIDE] = true;
		if (in->path) {
			char p[RISK_WORD_MAX + 256];
			const char *x = norm_path(in->cwd, in->path, p, sizeof(p)) == 0 ? p : in->path;

			if (sensitive_path(x, strlen(x)))
				b->hit[R_SENSITIVE] = true;
			if (write && rc_path(x, strlen(x)))
				b->hit[R_SHELL_RC] = true;
		}
	}
	if (in->command) {
		assess_command(b, in->command);
		if (in->outside == 1)
			b->hit[R_CMD_OUTSIDE] = true;
	}
	if (is(et, "web_fetch") || is(et, "web_search"))
		b->hit[R_NETWORK] = true;
	if (is(in->hook, "PostToolUseFailure"))
		b->hit[R_FAILURE] = true;
	if (in->secrets > 0)
		b->hit[R_SECRET] = true;

	out->n = 0;
	out->score = 0;
	out->level = level_names[RL_INFO];
	for (int i = 0; i < R_COUNT; i++) {
		if (!b->hit[i])
			continue;
		if (out->n < RISK_MAX_REASONS)
			out->reasons[out->n++] = rules[i].reason;
		if (best < 0 || rules[i].score > rules[best].score)
			best = i;
	}
	if (best >= 0) {
		out->score = rules[best].score;
		out->level = level_names[rules[best].level];
	}
}
