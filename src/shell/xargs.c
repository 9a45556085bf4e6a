/*
 * xargs.c - xargs (the commands it builds from input that is known
 * literally, with -I, -n, -L, -0, -d, -E) and find (-exec, -execdir, -ok,
 * -okdir, and -delete as a flag on the find command).
 */
#include "wrap_int.h"

#include <stdlib.h>

static const struct sh_word ECHO_WORD = { .s = "echo", .len = 4, .sub = -1 };
/* What xargs appends when its input is not known. */
static const struct sh_word STDIN_WORD = { .s = "...", .len = 3, .unres = SH_U_STDIN, .sub = -1 };

struct xargs {
	const char *repl; /* -I */
	int per;	  /* -n N items, or -L N lines when lines */
	bool lines;
	bool null;
	int delim; /* -d: the character, or -1 */
	bool no_empty;
	const char *eof;
	bool file; /* -a: input from a file */
};

/* Input items as xargs reads them (quotes and backslashes unless -0/-d). */
static int xargs_items(struct shx *x, const struct xargs *xa, const char *in, size_t n,
		       struct sh_word *items, int cap, bool decoded, int *line_of, bool *bad)
{
	int k = 0, line = 0;
	size_t i = 0;

	*bad = false;
	while (i < n && k < cap) {
		char stack[256];
		struct shx_buf b;
		bool any = false, eol = false;
		char q = 0;

		shx_buf_init(&b, stack, sizeof(stack));
		if (xa->null || xa->delim >= 0) {
			char d = xa->null ? '\0' : (char)xa->delim;
			const char *e = memchr(in + i, d, n - i);
			size_t len = e ? (size_t)(e - in - i) : n - i;

			for (size_t j = 0; j < len; j++)
				if (in[i + j]) /* a NUL cannot be in an argument */
					shx_buf_addc(x, &b, in[i + j]);
			i += len + 1;
			any = true;
		} else {
			if (xa->repl || xa->lines)
				while (i < n && (in[i] == ' ' || in[i] == '\t'))
					i++;
			else
				while (i < n && (in[i] == ' ' || in[i] == '\t' || in[i] == '\n'))
					i++;
			for (; i < n; i++) {
				char ch = in[i];

				if (!ch)
					continue; /* a NUL cannot be in an argument */
				if (q) {
					if (ch == q)
						q = 0;
					else if (ch == '\n') {
						*bad = true; /* unmatched quote: xargs stops */
						return k;
					} else
						shx_buf_addc(x, &b, ch);
					continue;
				}
				if (ch == '\n') {
					i++;
					eol = true;
					break;
				}
				if ((ch == ' ' || ch == '\t') && !xa->repl)
					break;
				if (ch == '\\' && i + 1 < n) {
					shx_buf_addc(x, &b, in[++i]);
					any = true;
					continue;
				}
				if (ch == '\'' || ch == '"') {
					q = ch;
					any = true;
					continue;
				}
				shx_buf_addc(x, &b, ch);
				any = true;
			}
			if (q) {
				*bad = true;
				return k;
			}
			if (xa->repl) /* -I: trailing blanks are part of the line, leading are not */
				any = any || b.len;
		}
		if (!any) {
			if (eol)
				line++;
			continue;
		}
		if (xa->eof && strlen(xa->eof) == b.len && !memcmp(xa->eof, b.p, b.len))
			break;
		items[k] = (struct sh_word){ .s = shx_buf_done(x, &b),
					     .len = b.len,
					     .sub = -1,
					     .flags = decoded ? SH_W_DECODED : 0 };
		line_of[k] = line;
		if (eol)
			line++;
		k++;
	}
	return k;
}

/* A word with every occurrence of repl replaced by item. */
static struct sh_word replace_word(struct shx *x, const struct sh_word *w, const char *repl,
				   const struct sh_word *item)
{
	char stack[256];
	struct shx_buf b;
	struct sh_word r = *w;
	size_t rl = strlen(repl);
	const char *s = w->s, *hit;

	if (!rl || !strstr(w->s, repl))
		return r;
	shx_buf_init(&b, stack, sizeof(stack));
	while ((hit = strstr(s, repl))) {
		shx_buf_add(x, &b, s, (size_t)(hit - s));
		shx_buf_add(x, &b, item->s, item->len);
		s = hit + rl;
	}
	shx_buf_add(x, &b, s, strlen(s));
	r.s = shx_buf_done(x, &b);
	r.len = b.len;
	r.unres |= item->unres;
	r.flags |= item->flags & SH_W_DECODED;
	r.pattern = NULL;
	r.flags &= ~SH_W_GLOB;
	return r;
}

static int xargs_opts(struct shx_ctx *c, const struct sh_cmd *cmd, struct xargs *xa,
		      unsigned *unres)
{
	int k = 1;

	xa->delim = -1;
	while (k < cmd->argc) {
		const char *s = cmd->argv[k].s;

		if (streq(s, "--"))
			return k + 1;
		if (s[0] != '-' || !s[1])
			break;
		if (s[1] == '-') {
			const char *eq = strchr(s, '=');
			const char *val = eq ? eq + 1 : k + 1 < cmd->argc ? cmd->argv[k + 1].s : "";
			bool takes = !eq && (!strncmp(s, "--arg-file", 10) ||
					     !strncmp(s, "--delimiter", 11) ||
					     !strncmp(s, "--max-lines", 11) ||
					     !strncmp(s, "--max-args", 10) ||
					     !strncmp(s, "--max-procs", 11) ||
					     !strncmp(s, "--max-chars", 11) ||
					     !strncmp(s, "--process-slot-var", 18));

			if (!strncmp(s, "--null", 6))
				xa->null = true;
			else if (!strncmp(s, "--no-run-if-empty", 17))
				xa->no_empty = true;
			else if (!strncmp(s, "--replace", 9))
				xa->repl = eq ? val : "{}";
			else if (!strncmp(s, "--arg-file", 10))
				xa->file = true;
			else if (!strncmp(s, "--max-args", 10))
				xa->per = atoi(val);
			else if (!strncmp(s, "--max-lines", 11)) {
				xa->per = eq ? atoi(val) : 1;
				xa->lines = true;
			} else if (!strncmp(s, "--delimiter", 11))
				xa->delim = val[0] == '\\' && val[1] == 'n' ? '\n'
									    : (unsigned char)val[0];
			else if (!strncmp(s, "--eof", 5))
				xa->eof = eq ? val : NULL;
			k += takes ? 2 : 1;
			continue;
		}
		for (size_t j = 1; s[j]; j++) {
			char o = s[j];
			const char *val = s[j + 1] ? s + j + 1 : NULL;

			if (strchr("0rtpxo", o)) {
				xa->null = xa->null || o == '0';
				xa->no_empty = xa->no_empty || o == 'r';
				continue;
			}
			if (o == 'i' || o == 'e' || o == 'l') {
				/* optional arguments, attached only */
				if (o == 'i')
					xa->repl = val ? val : "{}";
				if (o == 'e')
					xa->eof = val;
				if (o == 'l') {
					xa->lines = true;
					xa->per = val ? atoi(val) : 1;
				}
				break;
			}
			if (strchr("aEdILnPs", o)) {
				if (!val) {
					val = k + 1 < cmd->argc ? cmd->argv[k + 1].s : "";
					k++;
				}
				if (o == 'a')
					xa->file = true;
				if (o == 'E')
					xa->eof = val;
				if (o == 'I')
					xa->repl = val;
				if (o == 'L') {
					xa->lines = true;
					xa->per = atoi(val);
				}
				if (o == 'n')
					xa->per = atoi(val);
				if (o == 'd')
					xa->delim = val[0] == '\\' && val[1] == 'n'   ? '\n'
						    : val[0] == '\\' && val[1] == '0' ? '\0'
						    : val[0] == '\\' && val[1] == 't'
							    ? '\t'
							    : (unsigned char)val[0];
				break;
			}
			*unres |= SH_U_OPTION;
		}
		k++;
	}
	return k < cmd->argc ? k : cmd->argc; /* an option without its value */
}

bool shx_run_xargs(struct shx_ctx *c, int i)
{
	struct shx *x = c->x;
	struct sh_cmd *cmd = shx_cmd(x, i);
	struct xargs xa = { 0 };
	struct shx_spawn sp = { .stdin_none = true };
	const struct sh_word *base;
	int k, nbase, nitems, runs = 0;
	struct sh_word *items;
	int *line_of;
	bool bad = false;

	k = xargs_opts(c, cmd, &xa, &sp.unres);
	if (xa.repl)
		xa.per = 1, xa.lines = true;
	base = k < cmd->argc ? cmd->argv + k : &ECHO_WORD;
	nbase = k < cmd->argc ? cmd->argc - k : 1;
	if (xa.file || !cmd->stdin_text) {
		/* What it is fed is not known: one command with the input's place marked. */
		struct sh_word *v = shx_alloc(x, (size_t)(nbase + 1) * sizeof(*v));

		memcpy(v, base, (size_t)nbase * sizeof(*v));
		if (xa.repl) {
			bool used = false;

			for (int q = 0; q < nbase; q++)
				if (strstr(v[q].s, xa.repl)) {
					v[q].unres |= SH_U_STDIN;
					used = true;
				}
			(void)used;
		} else {
			v[nbase++] = STDIN_WORD;
		}
		shx_spawn(c, i, v, nbase, SH_VIA_XARGS, &sp);
		return true;
	}
	items = shx_alloc(x, (cmd->stdin_len + 1) * sizeof(*items));
	line_of = shx_alloc(x, (cmd->stdin_len + 1) * sizeof(*line_of));
	nitems = xargs_items(x, &xa, cmd->stdin_text, cmd->stdin_len, items,
			     (int)cmd->stdin_len + 1, c->in_decoded, line_of, &bad);
	if (bad)
		sp.unres |= SH_U_STDIN;
	if (!nitems) {
		if (!xa.no_empty && !xa.repl && !bad)
			shx_spawn(c, i, base, nbase, SH_VIA_XARGS, &sp);
		return true;
	}
	for (int from = 0; from < nitems; runs++) {
		int to = from, m = 0;
		struct sh_word *v;

		if (runs >= (int)SH_MAX_XARGS_RUNS) {
			cmd->unres |= SH_U_LIMIT;
			x->unres |= SH_U_LIMIT;
			break;
		}
		if (xa.repl)
			to = from + 1;
		else if (xa.lines && xa.per > 0) {
			int first = line_of[from];

			while (to < nitems && line_of[to] < first + xa.per)
				to++;
		} else if (xa.per > 0)
			to = from + xa.per < nitems ? from + xa.per : nitems;
		else
			to = nitems;
		v = shx_alloc(x, (size_t)(nbase + (to - from)) * sizeof(*v));
		for (int q = 0; q < nbase; q++)
			v[m++] = xa.repl ? replace_word(x, &base[q], xa.repl, &items[from])
					 : base[q];
		if (!xa.repl)
			for (int q = from; q < to; q++)
				v[m++] = items[q];
		shx_spawn(c, i, v, m, SH_VIA_XARGS, &sp);
		from = to;
	}
	return true;
}

/* ---- find ---------------------------------------------------------------------------------------- */

bool shx_run_find(struct shx_ctx *c, int i)
{
	struct shx *x = c->x;
	struct sh_cmd *cmd = shx_cmd(x, i);
	int k = 1;

	while (k < cmd->argc) {
		const char *s = cmd->argv[k].s;

		if (streq(s, "-H") || streq(s, "-L") || streq(s, "-P") || !strncmp(s, "-O", 2)) {
			k++;
			continue;
		}
		if (streq(s, "-D")) {
			k += 2;
			continue;
		}
		break;
	}
	for (; k < cmd->argc; k++) {
		const char *s = cmd->argv[k].s;
		bool dir = streq(s, "-execdir") || streq(s, "-okdir");
		int from, end;
		struct sh_word *v;
		struct shx_spawn sp = { 0 };

		if (streq(s, "-delete")) {
			cmd->flags |= SH_C_DELETE;
			continue;
		}
		if (!streq(s, "-exec") && !streq(s, "-ok") && !dir)
			continue;
		from = k + 1;
		for (end = from; end < cmd->argc; end++)
			if (streq(cmd->argv[end].s, ";") ||
			    (streq(cmd->argv[end].s, "+") && end > from &&
			     streq(cmd->argv[end - 1].s, "{}")))
				break;
		if (end >= cmd->argc || end == from) {
			cmd->unres |= SH_U_OPTION;
			return true;
		}
		v = shx_alloc(x, (size_t)(end - from) * sizeof(*v));
		for (int q = from; q < end; q++) {
			v[q - from] = cmd->argv[q];
			if (strstr(v[q - from].s, "{}"))
				v[q - from].unres |= SH_U_FIND;
		}
		if (dir) {
			sp.cwd_set = true;
			sp.cwd = NULL;
			sp.unres |= SH_U_FIND;
		}
		shx_spawn(c, i, v, end - from, SH_VIA_FIND, &sp);
		k = end;
	}
	if (c->out)
		c->out->known = false;
	return true;
}
