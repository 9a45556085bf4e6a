/*
 * interp.c - interpreter one-liners: python -c, perl -e, ruby -e, node -e,
 * php -r, and the same programs reading a here-document or literal stdin.
 *
 * This is a light literal scanner, not a parser of Python, Perl, Ruby,
 * JavaScript or PHP: it finds the string literals ('...', "...", `...`) of the
 * program text and the names of well-known calls (os.system, shutil.rmtree,
 * open, fs.rmSync, requests., ...), and gives each call the first literal
 * after its name.  Values computed at run time (concatenation, variables,
 * f-strings with expressions, os.path.join) are not followed: a call that has
 * no literal is reported unresolved.  Literals left over that look like paths
 * or URLs are reported with FX_F_LITERAL (mentioned; the access is not
 * known).  The text read is bounded by FX_MAX_SCRIPT and the literals by
 * MAX_LITS.
 */
#include "fx_int.h"

#include <string.h>

#define MAX_LITS 128u

enum act { A_SHELL, A_ARGV, A_DELETE, A_DELETE_R, A_WRITE, A_READ, A_OPEN, A_NET };

/* Calls by their spelling; a name matches only where the character before it
 * is not part of an identifier or a dotted name (so "system(" does not match
 * inside "os.system("). */
static const struct {
	const char *name;
	enum act act;
	bool method; /* may follow a "." (require('fs').rmSync(...)) */
} calls[] = {
	/* Python */
	{ "os.system(", A_SHELL, false },
	{ "os.popen(", A_SHELL, false },
	{ "subprocess.", A_ARGV, false },
	{ "shutil.rmtree(", A_DELETE_R, false },
	{ "os.remove(", A_DELETE, false },
	{ "os.unlink(", A_DELETE, false },
	{ "os.rmdir(", A_DELETE, false },
	{ "os.removedirs(", A_DELETE, false },
	{ "open(", A_OPEN, false },
	{ "requests.", A_NET, false },
	{ "urlopen(", A_NET, false },
	{ "urllib.request.urlretrieve(", A_NET, false },
	{ "socket.", A_NET, false },
	{ "http.client.", A_NET, false },
	{ "os.chmod(", A_WRITE, false },
	/* Perl */
	{ "system(", A_SHELL, false },
	{ "system ", A_SHELL, false },
	{ "exec(", A_SHELL, false },
	{ "qx(", A_SHELL, false },
	{ "rmtree(", A_DELETE_R, false },
	{ "remove_tree(", A_DELETE_R, false },
	{ "unlink(", A_DELETE, false },
	{ "unlink ", A_DELETE, false },
	{ "IO::Socket", A_NET, false },
	{ "LWP::", A_NET, false },
	{ "HTTP::Tiny", A_NET, false },
	/* Ruby */
	{ "FileUtils.rm_rf(", A_DELETE_R, false },
	{ "FileUtils.rm_r(", A_DELETE_R, false },
	{ "FileUtils.rm(", A_DELETE, false },
	{ "File.delete(", A_DELETE, false },
	{ "File.write(", A_WRITE, false },
	{ "File.open(", A_OPEN, false },
	{ "File.read(", A_READ, false },
	{ "Net::HTTP", A_NET, false },
	{ "TCPSocket", A_NET, false },
	{ "URI.open(", A_NET, false },
	/* Node */
	{ "execSync(", A_SHELL, true },
	{ "spawnSync(", A_ARGV, true },
	{ "spawn(", A_ARGV, true },
	{ "rmSync(", A_DELETE_R, true },
	{ "rm(", A_DELETE_R, true },
	{ "rmdirSync(", A_DELETE_R, true },
	{ "unlinkSync(", A_DELETE, true },
	{ "writeFileSync(", A_WRITE, true },
	{ "appendFileSync(", A_WRITE, true },
	{ "readFileSync(", A_READ, true },
	{ "fetch(", A_NET, false },
	{ "http.get(", A_NET, false },
	{ "https.get(", A_NET, false },
	{ "net.connect(", A_NET, false },
	/* PHP */
	{ "shell_exec(", A_SHELL, false },
	{ "passthru(", A_SHELL, false },
	{ "file_put_contents(", A_WRITE, false },
	{ "file_get_contents(", A_READ, false },
	{ "fsockopen(", A_NET, false },
};

/* Which option carries the program text, per interpreter. */
static const struct {
	const char *prefix; /* the name, or its start (python3.12) */
	const char *opts;   /* "|-c|" */
} interps[] = {
	{ "python", "|-c|" },
	{ "pypy", "|-c|" },
	{ "perl", "|-e|-E|" },
	{ "ruby", "|-e|" },
	{ "node", "|-e|--eval|-p|--print|" },
	{ "nodejs", "|-e|--eval|-p|" },
	{ "php", "|-r|" },
	{ "deno", "|eval|" },
	{ "bun", "|-e|--eval|" },
};

struct lit {
	size_t start, end; /* the content, quotes excluded */
	bool used;
	bool home; /* not a literal: an expression for $HOME, taken as "~" */
};

/* Expressions that stand for the home directory, read as the literal "~". */
static const char *const home_exprs[] = {
	"os.path.expanduser('~')",
	"os.path.expanduser(\"~\")",
	"Path.home()",
	"os.homedir()",
	"Dir.home",
	"$ENV{HOME}",
	"ENV['HOME']",
	"ENV[\"HOME\"]",
	"os.environ['HOME']",
	"os.environ[\"HOME\"]",
	"process.env.HOME",
	"getenv('HOME')",
	"getenv(\"HOME\")",
};

/* Adds the home expressions as literals, in order of position. */
static size_t add_home(const char *t, size_t n, struct lit *v, size_t nl)
{
	for (size_t h = 0; h < sizeof(home_exprs) / sizeof(*home_exprs); h++) {
		size_t hl = strlen(home_exprs[h]);

		for (const char *p = memmem(t, n, home_exprs[h], hl); p && nl < MAX_LITS;
		     p = memmem(p + 1, n - (size_t)(p + 1 - t), home_exprs[h], hl)) {
			size_t pos = (size_t)(p - t), i = 0, j;

			/* drop literals inside it ('~'), insert in order */
			for (j = 0; j < nl; j++) {
				if (v[j].start >= pos && v[j].end <= pos + hl)
					continue;
				v[i++] = v[j];
			}
			nl = i;
			for (i = 0; i < nl && v[i].start < pos; i++)
				;
			memmove(v + i + 1, v + i, (nl - i) * sizeof(*v));
			v[i] = (struct lit){ .start = pos + 1, .end = pos + hl, .home = true };
			nl++;
		}
	}
	return nl;
}

static size_t scan_lits(const char *t, size_t n, struct lit *v)
{
	size_t nl = 0;

	for (size_t i = 0; i < n && nl < MAX_LITS; i++) {
		char q = t[i];
		size_t j;

		if (q == '#' && (i == 0 || t[i - 1] == '\n')) {
			while (i < n && t[i] != '\n')
				i++;
			continue;
		}
		if (q != '\'' && q != '"' && q != '`')
			continue;
		for (j = i + 1; j < n && t[j] != q; j++) {
			if (t[j] == '\\')
				j++;
		}
		if (j >= n)
			break;
		v[nl++] = (struct lit){ .start = i + 1, .end = j };
		i = j;
	}
	return nl;
}

static bool word_start(const char *t, size_t p)
{
	char c = p ? t[p - 1] : ' ';

	return !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		 c == '_' || c == '.' || c == ':');
}

/* The literal's text with ~ expanded to home, in buf. */
static const char *lit_text(struct fx_call *k, const char *t, const struct lit *l, char *buf,
			    size_t cap)
{
	size_t n = l->end - l->start, o = 0;
	const char *s = l->home ? "~" : t + l->start;
	const char *home = k->x->o->home;

	if (l->home)
		n = 1;
	if (home && n && s[0] == '~' && (n == 1 || s[1] == '/')) {
		o = strlen(home);
		if (o + n > cap)
			return NULL;
		memcpy(buf, home, o);
		s++;
		n--;
	}
	if (o + n + 1 > cap)
		return NULL;
	memcpy(buf + o, s, n);
	buf[o + n] = '\0';
	return buf;
}

static bool is_url(const char *s)
{
	return strstr(s, "://") && strcspn(s, ":") < 10;
}

static bool is_path(const char *s)
{
	return s[0] == '/' || !strncmp(s, "./", 2) || !strncmp(s, "../", 3) || !strcmp(s, ".env") ||
	       !strncmp(s, ".ssh/", 5);
}

static void apply(struct fx_call *k, enum act a, const char *s, const char *mode)
{
	switch (a) {
	case A_SHELL:
	case A_ARGV:
		fx_nested_shell(k, s, strlen(s));
		break;
	case A_DELETE:
	case A_DELETE_R:
		fx_path_str(k, FX_DELETE, k->c->name, s, a == A_DELETE_R ? FX_F_RECURSIVE : 0);
		break;
	case A_WRITE:
		fx_path_str(k, FX_WRITE, k->c->name, s, 0);
		break;
	case A_READ:
		if (is_url(s))
			fx_net(k, k->c->name, s, 0, FX_D_DOWNLOAD, 0);
		else
			fx_path_str(k, FX_READ, k->c->name, s, 0);
		break;
	case A_OPEN:
		/* Perl's open(F, ">file"), Python's open(p, "w") */
		if (s[0] == '>' || s[0] == '<' || s[0] == '+') {
			bool w = s[0] == '>' || s[1] == '>';

			s += strspn(s, "<>+ ");
			fx_path_str(k, w ? FX_WRITE : FX_READ, k->c->name, s, 0);
		} else {
			bool w = mode && strpbrk(mode, "wax+");

			fx_path_str(k, w ? FX_WRITE : FX_READ, k->c->name, s, 0);
		}
		break;
	case A_NET:
		fx_net(k, k->c->name, s, 0, FX_D_CONNECT, 0);
		break;
	}
}

/* Gives each call its literal(s), then reports the literals left. */
static void scan(struct fx_call *k, const char *t, size_t n)
{
	struct lit lits[MAX_LITS];
	size_t nl = add_home(t, n, lits, scan_lits(t, n, lits));
	char buf[FX_PATH_MAX], mode[16];

	for (size_t c = 0; c < sizeof(calls) / sizeof(*calls); c++) {
		size_t cl = strlen(calls[c].name);

		for (const char *p = memmem(t, n, calls[c].name, cl); p;
		     p = memmem(p + 1, n - (size_t)(p + 1 - t), calls[c].name, cl)) {
			size_t pos = (size_t)(p - t), i;
			const char *s;

			if (!word_start(t, pos) && !(calls[c].method && pos && t[pos - 1] == '.'))
				continue;
			for (i = 0; i < nl && lits[i].start <= pos + cl; i++)
				;
			if (i >= nl || lits[i].start > pos + cl + 160 || lits[i].used) {
				struct fx_effect *e;

				if (calls[c].act == A_NET) {
					fx_net(k, k->c->name, NULL, 0, FX_D_CONNECT, 0);
					continue;
				}
				e = fx_add(k,
					   calls[c].act == A_SHELL || calls[c].act == A_ARGV
						   ? FX_EXEC
					   : calls[c].act == A_DELETE || calls[c].act == A_DELETE_R
						   ? FX_DELETE
						   : FX_READ,
					   k->c->name);
				if (e) {
					e->flags |= FX_F_UNRESOLVED;
					e->unres = SH_U_VAR;
					e->spelled = fx_strdup(k->x->res, calls[c].name, cl);
				}
				continue;
			}
			lits[i].used = true;
			mode[0] = '\0';
			if (i + 1 < nl && lits[i + 1].end - lits[i + 1].start < sizeof(mode) &&
			    lits[i + 1].start < lits[i].end + 8) {
				memcpy(mode, t + lits[i + 1].start,
				       lits[i + 1].end - lits[i + 1].start);
				mode[lits[i + 1].end - lits[i + 1].start] = '\0';
			}
			if (calls[c].act == A_ARGV && lits[i].start >= 2 &&
			    t[lits[i].start - 2] == '[') {
				/* ['rm', '-rf', x]: the literals of the list as one command */
				char cmd[FX_PATH_MAX];
				size_t o = 0;

				for (size_t j = i; j < nl && o < sizeof(cmd) - 4; j++) {
					size_t l = lits[j].end - lits[j].start;

					if (j > i &&
					    (lits[j].home || !strchr(", ", t[lits[j].start - 2])))
						break;
					if (o + l + 4 >= sizeof(cmd))
						break;
					cmd[o++] = '\'';
					memcpy(cmd + o, t + lits[j].start, l);
					o += l;
					cmd[o++] = '\'';
					cmd[o++] = ' ';
					lits[j].used = true;
					if (t[lits[j].end + 1] == ']')
						break;
				}
				fx_nested_shell(k, cmd, o);
				continue;
			}
			s = lit_text(k, t, &lits[i], buf, sizeof(buf));
			if (s)
				apply(k, calls[c].act, s, mode);
		}
	}
	for (size_t i = 0; i < nl; i++) {
		const char *s;

		if (lits[i].used || !(s = lit_text(k, t, &lits[i], buf, sizeof(buf))))
			continue;
		size_t before = k->x->res->n;

		if (is_url(s))
			fx_net(k, k->c->name, s, 0, FX_D_CONNECT, 0);
		else if (is_path(s) || lits[i].home)
			fx_path_str(k, FX_READ, k->c->name, s, 0);
		for (size_t j = before; j < k->x->res->n; j++)
			k->x->res->v[j].flags |= FX_F_LITERAL;
	}
}

bool fx_interp(struct fx_call *k)
{
	const struct sh_cmd *c = k->c;
	const char *opts = NULL;

	for (size_t i = 0; i < sizeof(interps) / sizeof(*interps); i++) {
		if (!strncmp(c->name, interps[i].prefix, strlen(interps[i].prefix))) {
			opts = interps[i].opts;
			break;
		}
	}
	if (!opts)
		return false;
	for (int i = 1; i < c->argc; i++) {
		const struct sh_word *w = &c->argv[i];
		char o[32];

		if (w->len + 3 > sizeof(o))
			continue;
		o[0] = '|';
		memcpy(o + 1, w->s, w->len);
		o[w->len + 1] = '|';
		o[w->len + 2] = '\0';
		if (strstr(opts, o) && i + 1 < c->argc) {
			const struct sh_word *p = &c->argv[i + 1];

			scan(k, p->s, p->len > FX_MAX_SCRIPT ? FX_MAX_SCRIPT : p->len);
			return true;
		}
		if (w->s[0] == '-')
			continue;
		/* python3 x.py: runs a file; -m module is not a file */
		if (i > 1 && !strcmp(c->argv[i - 1].s, "-m"))
			return true;
		{
			size_t before = k->x->res->n;

			fx_path(k, FX_EXEC, c->name, w, 0);
			for (size_t j = before; j < k->x->res->n; j++)
				k->x->res->v[j].detail = "script";
		}
		return true;
	}
	if (c->stdin_text)
		scan(k, c->stdin_text, c->stdin_len > FX_MAX_SCRIPT ? FX_MAX_SCRIPT : c->stdin_len);
	return true;
}
