/*
 * config_diag.c - what a load of vigil.yaml reports: the diagnostics it
 * collects (bounded by CONFIG_MAX_DIAGS, errors counted even past it),
 * their text and JSON forms, and the "did you mean" suggestion for an
 * unknown key.  Reporting only: nothing here knows the schema.
 */
#include "config.h"
#include "config_int.h"

#include "common.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

void config_diags_release(struct config_diags *d)
{
	vg_free(d->v);
	d->v = NULL;
	d->n = d->cap = d->errors = d->dropped = 0;
}

void cfg_diag_v(struct config_diags *d, bool warning, int line, int col, const char *fmt,
		va_list ap)
{
	struct config_diag *g;

	if (!warning)
		d->errors++;
	if (d->n >= CONFIG_MAX_DIAGS) {
		d->dropped++;
		return;
	}
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 8;
		struct config_diag *v = vg_realloc(d->v, cap * sizeof(*v));

		if (!v) {
			d->dropped++;
			return;
		}
		d->v = v;
		d->cap = cap;
	}
	g = &d->v[d->n++];
	g->line = line;
	g->col = col;
	g->warning = warning;
	vsnprintf(g->msg, sizeof(g->msg), fmt, ap);
}

void cfg_diag(struct config_diags *d, bool warning, int line, int col, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cfg_diag_v(d, warning, line, col, fmt, ap);
	va_end(ap);
}

void config_diag_format(const struct config_diags *d, const struct config_diag *g, char *out,
			size_t cap)
{
	const char *file = d->file[0] ? d->file : "vigil.yaml";
	const char *sev = g->warning ? "warning: " : "";

	if (g->line > 0)
		snprintf(out, cap, "%s:%d:%d: %s%s", file, g->line, g->col, sev, g->msg);
	else
		snprintf(out, cap, "%s: %s%s", file, sev, g->msg);
}

void config_diags_print(const struct config_diags *d, FILE *f, const char *prefix)
{
	char line[4096 + 600];

	for (size_t i = 0; i < d->n; i++) {
		config_diag_format(d, &d->v[i], line, sizeof(line));
		fprintf(f, "%s%s\n", prefix ? prefix : "", line);
	}
	if (d->dropped)
		fprintf(f, "%s%s: %zu more problems not shown\n", prefix ? prefix : "",
			d->file[0] ? d->file : "vigil.yaml", d->dropped);
}

json_t *config_diags_json(const struct config_diags *d)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < d->n; i++) {
		const struct config_diag *g = &d->v[i];
		json_t *o = json_pack("{s:s, s:i, s:i, s:s, s:s}", "file",
				      d->file[0] ? d->file : "vigil.yaml", "line", g->line,
				      "column", g->col, "severity",
				      g->warning ? "warning" : "error", "message", g->msg);

		if (!o || json_array_append_new(a, o) < 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

/* Levenshtein distance, capped: keys are short (< 64 bytes compared). */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), prev[65], cur[65];

	if (la > 64 || lb > 64)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			char ca = a[i - 1], cb = b[j - 1];
			size_t sub, best;

			/* case and -/_ do not count: "Default-Pack" is default_pack */
			if (ca >= 'A' && ca <= 'Z')
				ca = (char)(ca - 'A' + 'a');
			if (cb >= 'A' && cb <= 'Z')
				cb = (char)(cb - 'A' + 'a');
			if (ca == '-')
				ca = '_';
			if (cb == '-')
				cb = '_';
			sub = prev[j - 1] + (ca != cb);
			best = prev[j] + 1 < cur[j - 1] + 1 ? prev[j] + 1 : cur[j - 1] + 1;
			cur[j] = sub < best ? sub : best;
		}
		memcpy(prev, cur, (lb + 1) * sizeof(prev[0]));
	}
	return prev[lb];
}

/* The closest name to key among names (NULL-terminated by name == NULL), or NULL. */
const char *cfg_suggest(const char *key, const char *const *names, size_t n)
{
	const char *best = NULL;
	size_t best_d = SIZE_MAX, len = strlen(key);
	/* Allow about one edit per three characters, at least one, at most three. */
	size_t limit = len / 3 < 1 ? 1 : len / 3 > 3 ? 3 : len / 3;

	for (size_t i = 0; i < n; i++) {
		size_t dist = edit_distance(key, names[i]), ln = strlen(names[i]);

		/* "timeout" for "timeout_ms": a prefix of three or more letters */
		if (len >= 3 && ((len < ln && !strncmp(key, names[i], len)) ||
				 (ln >= 3 && ln < len && !strncmp(key, names[i], ln))))
			dist = limit;

		if (dist < best_d) {
			best_d = dist;
			best = names[i];
		}
	}
	return best_d <= limit ? best : NULL;
}
