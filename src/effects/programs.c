/*
 * programs.c - the table of well-known programs: what their operands and
 * options do.  A row names the programs, the effect of a plain operand, the
 * options that take an argument (so that the argument is not read as an
 * operand) and, when the generic reading is not enough, a handler.  Options
 * not listed are skipped; an unknown program gives no effect of its own (its
 * redirections and executions are still read by effects.c).
 */
#include "fx_int.h"

#include <stdlib.h>
#include <string.h>

struct prog;
typedef void (*prog_fn)(struct fx_call *k, const struct prog *p);

enum { OP_NONE = -1 };

/* Operands a handler reads per command (rm of a long list); more are counted
 * in fx_result.truncated. */
#define MAX_OPERANDS 256

struct prog {
	const char *names;   /* "|rm|unlink|": the names it covers */
	int operand;	     /* enum fx_kind of a plain operand, or OP_NONE */
	const char *argopts; /* "|-o|--output|": options whose argument is the next word */
	prog_fn fn;	     /* NULL: operands get operand */
};

/* ---- helpers ----------------------------------------------------------------------------- */

static bool in_list(const char *list, const char *s)
{
	size_t n = strlen(s);

	for (const char *p = strstr(list, s); p; p = strstr(p + 1, s)) {
		if (p > list && p[-1] == '|' && p[n] == '|')
			return true;
	}
	return false;
}

static bool is_opt(const char *s)
{
	return s[0] == '-' && s[1];
}

/* A short option cluster (-rf) or long option contains letter c / name. */
static bool has_short(const char *s, char c)
{
	return s[0] == '-' && s[1] != '-' && strchr(s + 1, c);
}

/* In a short option cluster (-czf, -so, -ofile): where the value of the
 * first letter that takes one starts (the end of s when it is the next word),
 * or NULL when no letter of it takes a value. */
static const char *cluster_val(const char *argopts, const char *s)
{
	for (const char *c = s + 1; *c; c++) {
		char two[3] = { '-', *c, '\0' };

		if (in_list(argopts, two))
			return c + 1;
	}
	return NULL;
}

/* Operand i's index list: the words that are not options or option
 * arguments, up to 64. */
static int operands(const struct fx_call *k, const struct prog *p, int *idx, int cap)
{
	int n = 0;
	bool opts = true;

	for (int i = 1; i < k->c->argc; i++) {
		const char *s = k->c->argv[i].s;

		if (opts && !strcmp(s, "--")) {
			opts = false;
			continue;
		}
		if (opts && is_opt(s)) {
			if (p->argopts && !strchr(s, '=') && in_list(p->argopts, s))
				i++;
			else if (p->argopts && s[1] != '-' &&
				 cluster_val(p->argopts, s) == s + strlen(s))
				i++; /* -so FILE: the last letter takes the next word */
			continue;
		}
		if (n == cap) {
			/* more operands than a handler reads: counted, not silent */
			k->x->res->truncated += (size_t)(k->c->argc - i);
			break;
		}
		idx[n++] = i;
	}
	return n;
}

static bool any_opt(const struct fx_call *k, char shortc, const char *longs)
{
	for (int i = 1; i < k->c->argc; i++) {
		const char *s = k->c->argv[i].s;

		if (!strcmp(s, "--"))
			break;
		if ((shortc && has_short(s, shortc)) || (longs && in_list(longs, s)))
			return true;
	}
	return false;
}

/* The value of an option: "-o F", "-oF" (short), "--output F", "--output=F". */
static const struct sh_word *opt_val(const struct fx_call *k, const char *shorts, const char *longs,
				     const char **inl)
{
	*inl = NULL;
	for (int i = 1; i < k->c->argc; i++) {
		const char *s = k->c->argv[i].s;
		const char *eq = strchr(s, '=');

		if (longs && s[0] == '-' && s[1] == '-' && eq) {
			char name[64];
			size_t nl = (size_t)(eq - s);

			if (nl < sizeof(name)) {
				memcpy(name, s, nl);
				name[nl] = '\0';
				if (in_list(longs, name)) {
					*inl = eq + 1;
					return &k->c->argv[i];
				}
			}
		}
		if ((shorts && in_list(shorts, s)) || (longs && in_list(longs, s)))
			return i + 1 < k->c->argc ? &k->c->argv[i + 1] : NULL;
		if (shorts && s[0] == '-' && s[1] && s[1] != '-' && s[2]) {
			const char *v = cluster_val(shorts, s);

			if (v && *v) {
				*inl = v;
				return &k->c->argv[i];
			}
			if (v)
				return i + 1 < k->c->argc ? &k->c->argv[i + 1] : NULL;
		}
	}
	return NULL;
}

static void path_of(struct fx_call *k, enum fx_kind kind, const struct sh_word *w, const char *inl,
		    unsigned flags)
{
	if (inl) {
		struct sh_word t = *w;

		t.s = inl;
		t.len = strlen(inl);
		t.flags &= ~(unsigned)SH_W_GLOB;
		fx_path(k, kind, k->c->name, &t, flags);
	} else {
		fx_path(k, kind, k->c->name, w, flags);
	}
}

static void generic(struct fx_call *k, const struct prog *p, unsigned flags)
{
	int idx[MAX_OPERANDS], n = operands(k, p, idx, MAX_OPERANDS);

	for (int i = 0; i < n && p->operand != OP_NONE; i++)
		fx_path(k, (enum fx_kind)p->operand, k->c->name, &k->c->argv[idx[i]], flags);
}

/* ---- handlers ---------------------------------------------------------------------------- */

static void h_rm(struct fx_call *k, const struct prog *p)
{
	unsigned f = any_opt(k, 'r', "|--recursive|") || any_opt(k, 'R', NULL) ? FX_F_RECURSIVE : 0;

	generic(k, p, f);
}

/* HOST:PATH of scp and rsync (a colon before any slash): a transfer with
 * HOST, not a local path. */
static bool remote_spec(struct fx_call *k, const struct sh_word *w, enum fx_dir dir)
{
	const char *colon = strchr(w->s, ':');
	const char *slash = strchr(w->s, '/');
	char host[256];
	size_t hl;

	if (!colon || colon == w->s || (slash && slash < colon) ||
	    (strcmp(k->c->name, "rsync") && strcmp(k->c->name, "scp")))
		return false;
	hl = (size_t)(colon - w->s);
	if (hl >= sizeof(host))
		hl = sizeof(host) - 1;
	memcpy(host, w->s, hl);
	host[hl] = '\0';
	fx_net(k, k->c->name, host, 22, dir, w->unres);
	return true;
}

/* cp, mv, install, ln, rsync: sources read (mv: deleted), the last operand written. */
static void h_copy(struct fx_call *k, const struct prog *p)
{
	int idx[MAX_OPERANDS], n = operands(k, p, idx, MAX_OPERANDS);
	const char *inl;
	const struct sh_word *t = opt_val(k, "|-t|", "|--target-directory|", &inl);
	bool mv = !strcmp(k->c->name, "mv");
	bool ln = !strcmp(k->c->name, "ln");
	unsigned rec = any_opt(k, 'r', "|--recursive|") || any_opt(k, 'R', NULL) ||
				       any_opt(k, 'a', "|--archive|")
			       ? FX_F_RECURSIVE
			       : 0;
	int last = t ? n : n - 1;

	if (n == 0)
		return;
	if (t)
		path_of(k, FX_WRITE, t, inl, rec);
	else if (remote_spec(k, &k->c->argv[idx[n - 1]], FX_D_UPLOAD))
		;
	else if (n >= 2 || !ln)
		fx_path(k, FX_WRITE, k->c->name, &k->c->argv[idx[n - 1]], rec);
	if (ln && n == 1)
		last = 1;
	for (int i = 0; i < last; i++) {
		if (remote_spec(k, &k->c->argv[idx[i]], FX_D_DOWNLOAD))
			continue;
		fx_path(k, FX_READ, k->c->name, &k->c->argv[idx[i]], rec);
		if (mv)
			fx_path(k, FX_DELETE, k->c->name, &k->c->argv[idx[i]], FX_F_RECURSIVE);
	}
	if (!strcmp(k->c->name, "rsync") && any_opt(k, 0,
						    "|--delete|--delete-after|"
						    "--delete-before|--delete-during|--del|"
						    "--remove-source-files|"))
		fx_path(k, FX_DELETE, "rsync", &k->c->argv[idx[n - 1]], FX_F_RECURSIVE);
}

static void h_dd(struct fx_call *k, const struct prog *p)
{
	(void)p;
	for (int i = 1; i < k->c->argc; i++) {
		const char *s = k->c->argv[i].s;

		if (!strncmp(s, "if=", 3))
			path_of(k, FX_READ, &k->c->argv[i], s + 3, 0);
		else if (!strncmp(s, "of=", 3))
			path_of(k, FX_WRITE, &k->c->argv[i], s + 3, 0);
	}
}

static void h_sed(struct fx_call *k, const struct prog *p)
{
	int idx[MAX_OPERANDS], n = operands(k, p, idx, MAX_OPERANDS);
	bool script_given = any_opt(k, 'e', "|--expression|") || any_opt(k, 'f', "|--file|");
	bool inplace = any_opt(k, 'i', NULL);

	for (int i = 1; i < k->c->argc; i++)
		if (!strncmp(k->c->argv[i].s, "--in-place", 10))
			inplace = true;
	for (int i = script_given ? 0 : 1; i < n; i++)
		fx_path(k, inplace ? FX_WRITE : FX_READ, "sed", &k->c->argv[idx[i]], 0);
}

/* chmod/chown/chgrp: the first operand is the mode or owner. */
static void h_chmod(struct fx_call *k, const struct prog *p)
{
	int idx[MAX_OPERANDS], n = operands(k, p, idx, MAX_OPERANDS);
	unsigned rec = any_opt(k, 'R', "|--recursive|") ? FX_F_RECURSIVE : 0;
	const char *m;

	if (n < 1)
		return;
	m = k->c->argv[idx[0]].s;
	for (int i = 1; i < n; i++)
		fx_path(k, FX_WRITE, k->c->name, &k->c->argv[idx[i]], rec);
	if (!strcmp(k->c->name, "chmod") &&
	    (strstr(m, "+s") || (strlen(m) == 4 && (m[0] == '4' || m[0] == '6' || m[0] == '2')))) {
		struct fx_effect *e = fx_add(k, FX_PRIV, k->c->name);

		if (e) {
			e->detail = "setuid";
			e->spelled = n > 1 ? fx_strdup(k->x->res, k->c->argv[idx[1]].s,
						       k->c->argv[idx[1]].len)
					   : NULL;
		}
	}
	if (!strcmp(k->c->name, "chown") &&
	    (!strncmp(m, "root", 4) || !strncmp(m, "0:", 2) || !strcmp(m, "0"))) {
		struct fx_effect *e = fx_add(k, FX_PRIV, "chown");

		if (e) {
			e->detail = "chown-root";
			e->spelled = n > 1 ? fx_strdup(k->x->res, k->c->argv[idx[1]].s,
						       k->c->argv[idx[1]].len)
					   : NULL;
		}
	}
}

/* find: the starting points are read; -delete is SH_C_DELETE (effects.c). */
static void h_find(struct fx_call *k, const struct prog *p)
{
	(void)p;
	for (int i = 1; i < k->c->argc; i++) {
		const char *s = k->c->argv[i].s;

		if (s[0] == '-' || s[0] == '(' || s[0] == '!')
			break;
		fx_path(k, FX_READ, "find", &k->c->argv[i], FX_F_RECURSIVE);
	}
}

static void h_tar(struct fx_call *k, const struct prog *p)
{
	int idx[MAX_OPERANDS], n = operands(k, p, idx, MAX_OPERANDS);
	const char *inl;
	const struct sh_word *f = opt_val(k, "|-f|", "|--file|", &inl);
	const char *a1 = k->c->argc > 1 ? k->c->argv[1].s : "";
	bool create = any_opt(k, 'c', "|--create|") || (a1[0] != '-' && strchr(a1, 'c'));
	bool extract = any_opt(k, 'x', "|--extract|") || (a1[0] != '-' && strchr(a1, 'x'));

	if (!f && a1[0] != '-' && strchr(a1, 'f') && k->c->argc > 2)
		f = &k->c->argv[2]; /* tar czf FILE: the old form */
	if (f)
		path_of(k, create ? FX_WRITE : FX_READ, f, inl, 0);
	for (int i = 0; i < n; i++) {
		if (&k->c->argv[idx[i]] == f || (a1[0] != '-' && idx[i] == 1))
			continue;
		if (create)
			fx_path(k, FX_READ, "tar", &k->c->argv[idx[i]], FX_F_RECURSIVE);
		if (create && any_opt(k, 0, "|--remove-files|"))
			fx_path(k, FX_DELETE, "tar", &k->c->argv[idx[i]], FX_F_RECURSIVE);
	}
	if (extract) {
		const struct sh_word *d = opt_val(k, "|-C|", "|--directory|", &inl);
		static const struct sh_word dot = { .s = ".", .len = 1, .sub = -1 };

		path_of(k, FX_WRITE, d ? d : &dot, d ? inl : NULL, FX_F_RECURSIVE);
	}
}

/* URLs among the operands: download, or upload with data options. */
static void h_curl(struct fx_call *k, const struct prog *p)
{
	int idx[MAX_OPERANDS], n = operands(k, p, idx, MAX_OPERANDS);
	bool wget = !strcmp(k->c->name, "wget");
	bool up = wget ? any_opt(k, 0, "|--post-data|--post-file|--body-data|--body-file|") ||
				  any_opt(k, 0, "|--method|")
		       : any_opt(k, 'd',
				 "|--data|--data-binary|--data-raw|--data-urlencode|"
				 "--json|--form|--upload-file|--request|") ||
				  any_opt(k, 'F', NULL) || any_opt(k, 'T', NULL) ||
				  any_opt(k, 'X', NULL);
	const char *inl;
	const struct sh_word *o;

	for (int i = 1; i < k->c->argc; i++) {
		const char *s = k->c->argv[i].s;

		if (!strncmp(s, "--post-data", 11) || !strncmp(s, "--data", 6) ||
		    !strncmp(s, "--post-file", 11))
			up = true;
		if (!strcmp(s, "-X") && i + 1 < k->c->argc && !strcmp(k->c->argv[i + 1].s, "GET"))
			up = false;
	}
	for (int i = 0; i < n; i++)
		fx_net(k, k->c->name, k->c->argv[idx[i]].s, 0, up ? FX_D_UPLOAD : FX_D_DOWNLOAD,
		       k->c->argv[idx[i]].unres);
	o = wget ? opt_val(k, "|-O|", "|--output-document|", &inl)
		 : opt_val(k, "|-o|", "|--output|", &inl);
	if (o && strcmp(inl ? inl : o->s, "-"))
		path_of(k, FX_WRITE, o, inl, 0);
	if (!wget && (any_opt(k, 'O', "|--remote-name|") || any_opt(k, 0, "|--remote-name-all|")))
		for (int i = 0; i < n; i++) {
			const char *sl = strrchr(k->c->argv[idx[i]].s, '/');

			if (sl && sl[1])
				fx_path_str(k, FX_WRITE, "curl", sl + 1, 0);
		}
	/* upload sources: -T FILE, -d @FILE, -F x=@FILE, --post-file FILE */
	for (int i = 1; i + 1 < k->c->argc; i++) {
		const char *s = k->c->argv[i].s, *v = k->c->argv[i + 1].s;
		const char *at = strchr(v, '@');

		if (!strncmp(s, "--post-file=", 12) || !strncmp(s, "--upload-file=", 14))
			path_of(k, FX_READ, &k->c->argv[i], strchr(s, '=') + 1, 0);
		if ((!strcmp(s, "-T") || !strcmp(s, "--upload-file") || !strcmp(s, "--post-file")))
			fx_path(k, FX_READ, k->c->name, &k->c->argv[i + 1], 0);
		else if ((!strcmp(s, "-d") || !strncmp(s, "--data", 6) || !strcmp(s, "-F") ||
			  !strcmp(s, "--form")) &&
			 at && (at == v || at[-1] == '=') && at[1])
			fx_path_str(k, FX_READ, k->c->name, at + 1, 0);
	}
}

static bool has_dashdash(const struct fx_call *k)
{
	for (int i = 1; i < k->c->argc; i++) {
		if (!strcmp(k->c->argv[i].s, "--"))
			return true;
	}
	return false;
}

static void h_git(struct fx_call *k, const struct prog *p)
{
	int idx[MAX_OPERANDS], n = operands(k, p, idx, MAX_OPERANDS);
	const char *sub = n ? k->c->argv[idx[0]].s : "";

	if (!strcmp(sub, "clone") || !strcmp(sub, "fetch") || !strcmp(sub, "pull") ||
	    !strcmp(sub, "push") || !strcmp(sub, "ls-remote") || !strcmp(sub, "submodule")) {
		const char *url = NULL;

		for (int i = 1; i < n; i++) {
			const char *s = k->c->argv[idx[i]].s;

			if (strstr(s, "://") || (strchr(s, '@') && strchr(s, ':')))
				url = s;
		}
		fx_net(k, "git", url, url && !strstr(url, "://") ? 22 : 0,
		       !strcmp(sub, "push") ? FX_D_UPLOAD : FX_D_DOWNLOAD, 0);
		if (!strcmp(sub, "clone") && n >= 3)
			fx_path(k, FX_WRITE, "git", &k->c->argv[idx[n - 1]], FX_F_RECURSIVE);
	} else if (!strcmp(sub, "clean") && (any_opt(k, 'f', "|--force|"))) {
		static const struct sh_word dot = { .s = ".", .len = 1, .sub = -1 };

		fx_path(k, FX_DELETE, "git", &dot, FX_F_RECURSIVE);
	} else if ((!strcmp(sub, "reset") && any_opt(k, 0, "|--hard|")) ||
		   (!strcmp(sub, "checkout") && has_dashdash(k)) || !strcmp(sub, "restore")) {
		/* discards uncommitted changes: the files it names, or the tree */
		static const struct sh_word dot = { .s = ".", .len = 1, .sub = -1 };
		int named = 0;

		for (int i = 1; i < n && strcmp(sub, "reset"); i++, named++)
			fx_path(k, FX_WRITE, "git", &k->c->argv[idx[i]], FX_F_RECURSIVE);
		if (!named)
			fx_path(k, FX_WRITE, "git", &dot, FX_F_RECURSIVE);
	} else if (!strcmp(sub, "rm")) {
		for (int i = 1; i < n; i++)
			fx_path(k, FX_DELETE, "git", &k->c->argv[idx[i]], 0);
	} else if (!strcmp(sub, "config")) {
		/* keys that make git run something or read config from elsewhere */
		static const char *const keys[] = {
			"include.path",	     "includeif.",    "core.hookspath", "core.sshcommand",
			"core.pager",	     "core.editor",   "core.fsmonitor", "alias.",
			"credential.helper", "diff.external", "filter.",	"gpg.program",
			"sequence.editor",
		};

		for (int i = 1; i < n; i++) {
			const char *s = k->c->argv[idx[i]].s;

			for (size_t j = 0; j < sizeof(keys) / sizeof(*keys); j++) {
				if (strncasecmp(s, keys[j], strlen(keys[j])))
					continue;
				struct fx_effect *e = fx_add(k, FX_PERSIST, "git");

				if (e) {
					e->detail = "git-config";
					e->spelled = fx_strdup(k->x->res, s, strlen(s));
				}
				return;
			}
		}
	}
}

static void h_ssh(struct fx_call *k, const struct prog *p)
{
	int idx[MAX_OPERANDS], n = operands(k, p, idx, MAX_OPERANDS);
	const char *inl;
	const struct sh_word *port = opt_val(k, !strcmp(k->c->name, "ssh") ? "|-p|" : "|-P|", NULL,
					     &inl);
	unsigned pn = port ? (unsigned)strtoul(inl ? inl : port->s, NULL, 10) : 22;

	if (!strcmp(k->c->name, "ssh") || !strcmp(k->c->name, "sftp")) {
		if (n)
			fx_net(k, k->c->name, k->c->argv[idx[0]].s, pn, FX_D_CONNECT,
			       k->c->argv[idx[0]].unres);
		return;
	}
	/* scp SRC... DST: HOST:PATH is remote */
	for (int i = 0; i < n; i++) {
		const struct sh_word *w = &k->c->argv[idx[i]];
		const char *colon = strchr(w->s, ':');
		bool remote = colon && (!strchr(w->s, '/') || strchr(w->s, '/') > colon);
		bool dst = i == n - 1;

		if (remote) {
			char host[256];
			size_t hl = (size_t)(colon - w->s);

			if (hl >= sizeof(host))
				hl = sizeof(host) - 1;
			memcpy(host, w->s, hl);
			host[hl] = '\0';
			fx_net(k, k->c->name, host, pn, dst ? FX_D_UPLOAD : FX_D_DOWNLOAD,
			       w->unres);
		} else {
			fx_path(k, dst ? FX_WRITE : FX_READ, k->c->name, w,
				any_opt(k, 'r', NULL) ? FX_F_RECURSIVE : 0);
		}
	}
}

static void h_nc(struct fx_call *k, const struct prog *p)
{
	int idx[MAX_OPERANDS], n = operands(k, p, idx, MAX_OPERANDS);
	bool listen = any_opt(k, 'l', "|--listen|");

	if (!strcmp(k->c->name, "socat")) {
		for (int i = 0; i < n; i++) {
			const char *s = k->c->argv[idx[i]].s;
			const char *c = strchr(s, ':');

			if (!strncasecmp(s, "exec:", 5) || !strncasecmp(s, "system:", 7))
				fx_path_str(k, FX_EXEC, "socat", c + 1, 0);
			if (c && (!strncasecmp(s, "tcp", 3) || !strncasecmp(s, "udp", 3) ||
				  !strncasecmp(s, "openssl", 7) || !strncasecmp(s, "ssl", 3)))
				fx_net(k, "socat", c + 1, 0,
				       strstr(s, "LISTEN") || strstr(s, "listen") ? FX_D_LISTEN
										  : FX_D_CONNECT,
				       k->c->argv[idx[i]].unres);
		}
		return;
	}
	{
		const char *inl;
		const struct sh_word *e = opt_val(k, "|-e|-c|", "|--sh-exec|--exec|", &inl);

		if (e)
			path_of(k, FX_EXEC, e, inl, 0);
	}
	if (listen) {
		fx_net(k, k->c->name, NULL,
		       n ? (unsigned)strtoul(k->c->argv[idx[n - 1]].s, NULL, 10) : 0, FX_D_LISTEN,
		       0);
		return;
	}
	if (n >= 1)
		fx_net(k, k->c->name, k->c->argv[idx[0]].s,
		       n >= 2 ? (unsigned)strtoul(k->c->argv[idx[1]].s, NULL, 10) : 0, FX_D_CONNECT,
		       k->c->argv[idx[0]].unres);
}

static void h_dns(struct fx_call *k, const struct prog *p)
{
	int idx[MAX_OPERANDS], n = operands(k, p, idx, MAX_OPERANDS);

	for (int i = 0; i < n; i++) {
		const char *s = k->c->argv[idx[i]].s;

		if (s[0] == '@' || s[0] == '+' || !strchr(s, '.'))
			continue;
		fx_net(k, k->c->name, s, 53, FX_D_DNS, k->c->argv[idx[i]].unres);
		return;
	}
}

static void h_crontab(struct fx_call *k, const struct prog *p)
{
	int idx[MAX_OPERANDS], n = operands(k, p, idx, MAX_OPERANDS);
	struct fx_effect *e;

	if (any_opt(k, 'l', NULL))
		return;
	e = fx_add(k, FX_PERSIST, "crontab");
	if (!e)
		return;
	e->detail = "cron";
	if (n)
		e->spelled = fx_strdup(k->x->res, k->c->argv[idx[0]].s, k->c->argv[idx[0]].len);
	if (n && strcmp(k->c->argv[idx[0]].s, "-"))
		fx_path(k, FX_READ, "crontab", &k->c->argv[idx[0]], 0);
}

static void h_systemctl(struct fx_call *k, const struct prog *p)
{
	int idx[MAX_OPERANDS], n = operands(k, p, idx, MAX_OPERANDS);
	const char *verb = n ? k->c->argv[idx[0]].s : "";

	for (int i = 1; i < n; i++) {
		const char *u = k->c->argv[idx[i]].s;
		struct fx_effect *e = NULL;

		if (!strcmp(verb, "enable") || !strcmp(verb, "link") || !strcmp(verb, "edit")) {
			e = fx_add(k, FX_PERSIST, "systemctl");
			if (e)
				e->detail = "systemd";
		} else if (!strcmp(verb, "stop") || !strcmp(verb, "kill") ||
			   !strcmp(verb, "restart") || !strcmp(verb, "disable") ||
			   !strcmp(verb, "mask")) {
			e = fx_add(k, FX_SIGNAL, "systemctl");
			if (e)
				e->target = 'u';
		}
		if (e)
			e->spelled = fx_strdup(k->x->res, u, strlen(u));
	}
}

static void h_kill(struct fx_call *k, const struct prog *p)
{
	const char *sig = NULL;
	bool full = !strcmp(k->c->name, "pkill") && any_opt(k, 'f', "|--full|");
	char tgt = !strcmp(k->c->name, "kill") ? 'p' : full ? 'f' : 'n';

	(void)p;
	for (int i = 1; i < k->c->argc; i++) {
		const struct sh_word *w = &k->c->argv[i];
		struct fx_effect *e;

		if (!strcmp(w->s, "-s") || !strcmp(w->s, "--signal")) {
			sig = i + 1 < k->c->argc ? k->c->argv[++i].s : NULL;
			continue;
		}
		if (w->s[0] == '-' && w->s[1] && tgt == 'p' && strcmp(w->s, "-1")) {
			sig = w->s + 1;
			continue;
		}
		if (w->s[0] == '-' && w->s[1]) {
			if ((w->s[1] >= '0' && w->s[1] <= '9') ||
			    (w->s[1] >= 'A' && w->s[1] <= 'Z'))
				sig = w->s + 1;
			else if (!strcmp(w->s, "-u") || !strcmp(w->s, "-g") ||
				 !strcmp(w->s, "-P") || !strcmp(w->s, "-t") ||
				 !strcmp(w->s, "-U") || !strcmp(w->s, "-G"))
				i++;
			continue;
		}
		e = fx_add(k, FX_SIGNAL, k->c->name);
		if (!e)
			continue;
		e->spelled = fx_strdup(k->x->res, w->s, w->len);
		e->signal = sig ? fx_strdup(k->x->res, sig, strlen(sig)) : NULL;
		e->target = tgt == 'p' && w->s[0] == '%' ? 'j' : tgt;
		if (w->unres) {
			e->flags |= FX_F_UNRESOLVED;
			e->unres = w->unres;
		}
	}
}

static void priv(struct fx_call *k, const char *detail, const struct sh_word *w)
{
	struct fx_effect *e = fx_add(k, FX_PRIV, k->c->name);

	if (!e)
		return;
	e->detail = detail;
	if (w)
		e->spelled = fx_strdup(k->x->res, w->s, w->len);
}

/* sudo, doas, su, runuser, pkexec: the parser already followed the command;
 * here the change of user itself. */
static void h_sudo(struct fx_call *k, const struct prog *p)
{
	const char *inl;
	const struct sh_word *u = opt_val(k, "|-u|", "|--user|", &inl);

	(void)p;
	if (!strcmp(k->c->name, "su") && k->c->argc > 1 && k->c->argv[k->c->argc - 1].s[0] != '-')
		u = &k->c->argv[k->c->argc - 1];
	priv(k, "run-as", u);
	if (!u && k->x->res->n && k->x->res->v[k->x->res->n - 1].kind == FX_PRIV)
		k->x->res->v[k->x->res->n - 1].spelled = "root";
}

static void h_account(struct fx_call *k, const struct prog *p)
{
	int idx[MAX_OPERANDS], n = operands(k, p, idx, MAX_OPERANDS);

	priv(k, "account", n ? &k->c->argv[idx[n - 1]] : NULL);
	if (any_opt(k, 0, "|sudo|wheel|") || any_opt(k, 'G', NULL)) {
		for (int i = 1; i < k->c->argc; i++)
			if (strstr(k->c->argv[i].s, "sudo") || strstr(k->c->argv[i].s, "wheel"))
				priv(k, "admin-group", &k->c->argv[i]);
	}
}

/* apt-get install, pip install, npm install, ...: download and run install
 * scripts from a registry. */
static void h_pkg(struct fx_call *k, const struct prog *p)
{
	int idx[MAX_OPERANDS], n = operands(k, p, idx, MAX_OPERANDS);
	static const char *const verbs = "|install|add|i|update|upgrade|dist-upgrade|ci|get|"
					 "remove|uninstall|purge|reinstall|sync|";

	if (!n || !in_list(verbs, k->c->argv[idx[0]].s))
		return;
	fx_net(k, k->c->name, NULL, 0, FX_D_DOWNLOAD, 0);
	if (!strcmp(k->c->argv[idx[0]].s, "remove") || !strcmp(k->c->argv[idx[0]].s, "purge") ||
	    !strcmp(k->c->argv[idx[0]].s, "uninstall"))
		return;
	if (fx_add(k, FX_EXEC, k->c->name))
		k->x->res->v[k->x->res->n - 1].detail = "package";
}

static void h_docker(struct fx_call *k, const struct prog *p)
{
	int idx[MAX_OPERANDS], n = operands(k, p, idx, MAX_OPERANDS);
	const char *sub = n ? k->c->argv[idx[0]].s : "";

	if (!strcmp(sub, "pull"))
		fx_net(k, k->c->name, n > 1 ? k->c->argv[idx[1]].s : NULL, 0, FX_D_DOWNLOAD, 0);
	if (!strcmp(sub, "build"))
		fx_net(k, k->c->name, NULL, 0, FX_D_DOWNLOAD, 0);
	if (!strcmp(sub, "push") || !strcmp(sub, "login"))
		fx_net(k, k->c->name, n > 1 ? k->c->argv[idx[1]].s : NULL, 0, FX_D_UPLOAD, 0);
	if (any_opt(k, 0, "|--privileged|") || any_opt(k, 0,
						       "|--pid=host|--net=host|"
						       "--network=host|"))
		priv(k, "container-host", NULL);
	/* a mount of the host's files: what the container may read and write */
	for (int i = 0; i < k->c->nmounts; i++) {
		char src[FX_PATH_MAX];
		const char *m = k->c->mounts[i].s;
		const char *c = strchr(m, ':');
		size_t l = c ? (size_t)(c - m) : strlen(m);

		if (!strncmp(m, "type=", 5) || l >= sizeof(src) || (m[0] != '/' && m[0] != '.'))
			continue;
		memcpy(src, m, l);
		src[l] = '\0';
		fx_path_str(k, c && strstr(c, ":ro") ? FX_READ : FX_WRITE, k->c->name, src,
			    FX_F_RECURSIVE);
	}
}

/* grep PATTERN FILE...: the pattern is not a file unless -e or -f gave it. */
static void h_grep(struct fx_call *k, const struct prog *p)
{
	int idx[MAX_OPERANDS], n = operands(k, p, idx, MAX_OPERANDS);
	bool given = any_opt(k, 'e', "|--regexp|") || any_opt(k, 'f', "|--file|");
	static const struct sh_word dot = { .s = ".", .len = 1, .sub = -1 };
	unsigned rec = any_opt(k, 'r', "|--recursive|") || any_opt(k, 'R', NULL) ||
				       strcmp(k->c->name, "grep")
			       ? FX_F_RECURSIVE
			       : 0;

	for (int i = given ? 0 : 1; i < n; i++)
		fx_path(k, FX_READ, k->c->name, &k->c->argv[idx[i]], rec);
	if (n <= (given ? 0 : 1) && rec)
		fx_path(k, FX_READ, k->c->name, &dot, rec);
}

/* awk PROGRAM FILE... */
static void h_awk(struct fx_call *k, const struct prog *p)
{
	int idx[MAX_OPERANDS], n = operands(k, p, idx, MAX_OPERANDS);

	for (int i = any_opt(k, 'f', NULL) ? 0 : 1; i < n; i++)
		if (!strchr(k->c->argv[idx[i]].s, '='))
			fx_path(k, FX_READ, k->c->name, &k->c->argv[idx[i]], 0);
}

/* zip ARCHIVE FILE...: the archive written, the files read. */
static void h_zip(struct fx_call *k, const struct prog *p)
{
	int idx[MAX_OPERANDS], n = operands(k, p, idx, MAX_OPERANDS);
	unsigned rec = any_opt(k, 'r', NULL) ? FX_F_RECURSIVE : 0;

	for (int i = 0; i < n; i++)
		fx_path(k, i ? FX_READ : FX_WRITE, k->c->name, &k->c->argv[idx[i]], i ? rec : 0);
}

/* Destroying a file system or partition table: the device's content is gone. */
static void h_mkfs(struct fx_call *k, const struct prog *p)
{
	generic(k, p, 0);
}

/* openssl SUBCOMMAND: files only through its options (-in, -out, -keyout). */
static void h_openssl(struct fx_call *k, const struct prog *p)
{
	(void)p;
	for (int i = 1; i + 1 < k->c->argc; i++) {
		const char *s = k->c->argv[i].s;

		if (in_list("|-in|-inkey|-key|-CA|-CAkey|-config|-extfile|-signkey|", s))
			fx_path(k, FX_READ, "openssl", &k->c->argv[++i], 0);
		else if (in_list("|-out|-keyout|", s))
			fx_path(k, FX_WRITE, "openssl", &k->c->argv[++i], 0);
	}
}

/* gpg --export-secret-keys reads the secret keyring; other uses read files. */
static void h_gpg(struct fx_call *k, const struct prog *p)
{
	if (any_opt(k, 0, "|--export-secret-keys|--export-secret-subkeys|"))
		fx_path_str(k, FX_READ, "gpg", "~/.gnupg", FX_F_RECURSIVE);
	else
		generic(k, p, 0);
}

/* Deletions through cloud and cluster tools: remote, named by resource. */
static void h_cloud(struct fx_call *k, const struct prog *p)
{
	int idx[MAX_OPERANDS], n = operands(k, p, idx, MAX_OPERANDS);
	const char *v0 = n ? k->c->argv[idx[0]].s : "", *v1 = n > 1 ? k->c->argv[idx[1]].s : "";
	bool del = (!strcmp(k->c->name, "terraform") && !strcmp(v0, "destroy")) ||
		   (!strcmp(k->c->name, "kubectl") && !strcmp(v0, "delete")) ||
		   (!strcmp(k->c->name, "aws") && !strcmp(v0, "s3") &&
		    (!strcmp(v1, "rm") || !strcmp(v1, "rb")));
	struct fx_effect *e;

	if (!strcmp(k->c->name, "gh") && !strcmp(v0, "gist") && !strcmp(v1, "create")) {
		for (int i = 2; i < n; i++)
			fx_path(k, FX_READ, "gh", &k->c->argv[idx[i]], 0);
		fx_net(k, "gh", "api.github.com", 443, FX_D_UPLOAD, 0);
		return;
	}
	if (!del)
		return;
	e = fx_add(k, FX_DELETE, k->c->name);
	if (!e)
		return;
	e->flags |= FX_F_REMOTE | FX_F_RECURSIVE;
	e->spelled = n > 1 ? fx_strdup(k->x->res, k->c->argv[idx[n - 1]].s,
				       k->c->argv[idx[n - 1]].len)
			   : "infrastructure";
}

/* ---- the table --------------------------------------------------------------------------- */

static const struct prog progs[] = {
	/* deleting */
	{ "|rm|", FX_DELETE, NULL, h_rm },
	{ "|rmdir|unlink|shred|srm|wipe|", FX_DELETE, "|-n|--iterations|-s|--size|", NULL },
	/* copying and moving: sources read, destination written */
	{ "|cp|mv|install|ln|rsync|", OP_NONE,
	  "|-t|--target-directory|-S|--suffix|-m|--mode|-o|--owner|-g|--group|-e|--rsh|"
	  "--exclude|--include|--filter|-f|--backup-dir|--chmod|--chown|",
	  h_copy },
	/* writing */
	{ "|tee|touch|truncate|mkdir|mkfifo|mknod|", FX_WRITE,
	  "|-s|--size|-r|--reference|-m|--mode|"
	  "-d|--date|-t|",
	  NULL },
	{ "|dd|", OP_NONE, NULL, h_dd },
	{ "|sed|gsed|", OP_NONE, "|-e|--expression|-f|--file|-l|--line-length|", h_sed },
	{ "|chmod|chown|chgrp|chattr|setfacl|", OP_NONE, "|--reference|", h_chmod },
	{ "|tar|bsdtar|", OP_NONE,
	  "|-f|--file|-C|--directory|-T|--files-from|-X|--exclude-from|"
	  "--exclude|",
	  h_tar },
	{ "|unzip|gunzip|gzip|bunzip2|xz|unxz|zstd|", FX_WRITE, "|-d|-x|-o|", NULL },
	/* reading */
	{ "|cat|tac|head|tail|less|more|bat|batcat|nl|od|xxd|hexdump|strings|base64|base32|wc|"
	  "sort|uniq|cut|diff|cmp|md5sum|sha1sum|sha256sum|sha512sum|b2sum|file|stat|"
	  "zcat|bzcat|xzcat|jq|yq|column|fold|fmt|rev|sqlite3|",
	  FX_READ,
	  "|-n|-c|--lines|--bytes|-w|-s|-t|-k|-o|-d|--output|-in|-out|-inkey|-key|--key|-L|",
	  NULL },
	{ "|openssl|", OP_NONE, NULL, h_openssl },
	{ "|gpg|gpg2|", FX_READ, "|-o|--output|-r|--recipient|-u|--local-user|", h_gpg },
	{ "|awk|gawk|mawk|nawk|", FX_READ, "|-F|-v|-f|", h_awk },
	{ "|zip|7z|", FX_READ, "|-x|-i|-P|--password|", h_zip },
	{ "|mkfs|mkfs.ext2|mkfs.ext3|mkfs.ext4|mkfs.xfs|mkfs.btrfs|mkfs.vfat|mkfs.fat|mkswap|"
	  "wipefs|sfdisk|fdisk|parted|sgdisk|blkdiscard|",
	  FX_DELETE, "|-t|-L|-n|-o|--output|-b|", h_mkfs },
	{ "|terraform|kubectl|aws|gh|", OP_NONE,
	  "|-n|--namespace|--context|--profile|--region|"
	  "-f|--filename|-d|--desc|",
	  h_cloud },
	{ "|grep|egrep|fgrep|rg|ag|ack|", FX_READ,
	  "|-e|--regexp|-f|--file|-m|--max-count|-A|-B|-C|--include|--exclude|-g|--glob|-t|"
	  "--type|--context|--after-context|--before-context|",
	  h_grep },
	{ "|find|", OP_NONE, NULL, h_find },
	{ "|ls|du|tree|", FX_READ,
	  "|-name|-iname|-path|-type|-newer|-maxdepth|-mindepth|-size|-mtime|-exec|-I|--ignore|",
	  NULL },
	/* network */
	{ "|curl|", OP_NONE,
	  "|-o|--output|-d|--data|--data-binary|--data-raw|--data-urlencode|-H|--header|-u|"
	  "--user|-X|--request|-F|--form|-T|--upload-file|-A|--user-agent|-e|--referer|-x|"
	  "--proxy|-m|--max-time|--connect-timeout|-b|--cookie|-c|--cookie-jar|-w|--write-out|"
	  "-r|--range|--retry|--json|-K|--config|-E|--cert|--key|--cacert|",
	  h_curl },
	{ "|wget|", OP_NONE,
	  "|-O|--output-document|-o|--output-file|-a|--append-output|-U|--user-agent|-P|"
	  "--directory-prefix|-t|--tries|-T|--timeout|--post-data|--post-file|--header|-e|"
	  "--execute|-i|--input-file|--user|--password|",
	  h_curl },
	{ "|git|", OP_NONE, "|-C|-c|--git-dir|--work-tree|-m|-b|--branch|--depth|-o|--origin|",
	  h_git },
	{ "|ssh|scp|sftp|", OP_NONE,
	  "|-p|-P|-i|-l|-o|-F|-J|-L|-R|-D|-W|-b|-c|-E|-e|-I|-m|-O|-Q|-S|-w|-B|", h_ssh },
	{ "|nc|ncat|netcat|socat|", OP_NONE, "|-p|-s|-w|-q|-i|-e|-c|-x|-X|--sh-exec|--exec|",
	  h_nc },
	{ "|dig|nslookup|host|drill|", OP_NONE, "|-t|-p|-c|-q|-x|-y|-k|-b|-f|", h_dns },
	/* persistence */
	{ "|crontab|", OP_NONE, "|-u|", h_crontab },
	{ "|systemctl|", OP_NONE,
	  "|-H|--host|-M|--machine|-p|--property|-t|--type|-s|--signal|"
	  "--kill-who|",
	  h_systemctl },
	/* signals */
	{ "|kill|pkill|killall|", OP_NONE, NULL, h_kill },
	/* privilege */
	{ "|sudo|doas|su|runuser|pkexec|", OP_NONE, NULL, h_sudo },
	{ "|useradd|usermod|userdel|passwd|chpasswd|groupadd|gpasswd|adduser|addgroup|visudo|"
	  "setcap|",
	  OP_NONE, "|-c|-d|-e|-f|-g|-G|-k|-K|-s|-u|-p|-l|-a|", h_account },
	/* package managers */
	{ "|apt|apt-get|aptitude|dnf|yum|zypper|pacman|apk|brew|pip|pip3|pipx|npm|pnpm|yarn|"
	  "bun|gem|cargo|go|composer|conda|mamba|uv|snap|flatpak|",
	  OP_NONE, "|-r|--requirement|-c|--constraint|-i|--index-url|--prefix|-t|--target|",
	  h_pkg },
	/* containers */
	{ "|docker|podman|nerdctl|", OP_NONE,
	  "|-v|--volume|--mount|-e|--env|-p|--publish|--name|-w|--workdir|-u|--user|"
	  "--network|--net|--entrypoint|-f|--file|-t|--tag|",
	  h_docker },
};

void fx_program(struct fx_call *k)
{
	const char *name = k->c->name;

	if (!name[0] || strlen(name) > 32 || strchr(name, '|'))
		return;
	for (size_t i = 0; i < sizeof(progs) / sizeof(*progs); i++) {
		if (!in_list(progs[i].names, name))
			continue;
		if (progs[i].fn)
			progs[i].fn(k, &progs[i]);
		else
			generic(k, &progs[i], 0);
		return;
	}
}
