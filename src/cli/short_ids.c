/*
 * short_ids.c - short ids for the ids people type (alerts, sessions).
 *
 * vigil's ids are UUIDv7: their first 12 hex digits are the time in
 * milliseconds, so ids made close together share a long prefix and a prefix
 * makes a poor handle.  Their last digits are random.  Like git's
 * abbreviated hashes, a short id is the shortest suffix of an id, at least
 * CLI_SHORT_ID_MIN characters, that no other known id ends with; every
 * command that takes an id takes its short id as well (and, as before, a
 * unique prefix).
 *
 * The known ids are loaded once from the index and kept sorted by their
 * reversed text, where ids that share a suffix are neighbours.
 */
#include "short_ids.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define SHORT_IDS_MAX 1000000u /* ids loaded; an index with more keeps full ids */
#define SHORT_IDS_MAX_LEN 256  /* longer ids are left out (and shown in full) */
#define SHORT_IDS_CANDIDATES 8 /* candidates listed for an ambiguous id */

struct load {
	struct cli_short_ids *s;
	size_t cap;
};

static void reverse(const char *in, char *out, size_t len)
{
	for (size_t i = 0; i < len; i++)
		out[i] = in[len - 1 - i];
	out[len] = '\0';
}

static int load_row(void *arg, const struct idx_sql_row *row)
{
	struct load *l = arg;
	struct cli_short_ids *s = l->s;
	const char *id = row->n > 0 ? row->values[0] : NULL;
	size_t len = id ? strlen(id) : 0;
	char *r;

	if (!len || len > SHORT_IDS_MAX_LEN)
		return 0;
	if (s->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;
		char **v = vg_realloc(s->rev, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->rev = v;
		l->cap = cap;
	}
	r = vg_malloc(len + 1);
	if (!r)
		return -ENOMEM;
	reverse(id, r, len);
	s->rev[s->n++] = r;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int cli_short_ids_load(struct cli_short_ids *s, struct idx *ix, const char *sql)
{
	struct load l = { .s = s };
	bool truncated = false;
	char err[256];
	int rc;

	memset(s, 0, sizeof(*s));
	rc = idx_sql(ix, sql, SHORT_IDS_MAX, load_row, &l, &truncated, err, sizeof(err));
	if (rc == 0 && truncated)
		rc = -E2BIG;
	if (rc < 0) {
		cli_short_ids_release(s);
		return rc;
	}
	qsort(s->rev, s->n, sizeof(*s->rev), cmp_str);
	return 0;
}

void cli_short_ids_release(struct cli_short_ids *s)
{
	for (size_t i = 0; i < s->n; i++)
		vg_free(s->rev[i]);
	vg_free(s->rev);
	memset(s, 0, sizeof(*s));
}

static size_t common_prefix(const char *a, const char *b)
{
	size_t n = 0;

	while (a[n] && a[n] == b[n])
		n++;
	return n;
}

/* Index of the first reversed id >= key. */
static size_t lower_bound(const struct cli_short_ids *s, const char *key)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(s->rev[mid], key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

size_t cli_short_id_len(const struct cli_short_ids *s, const char *id)
{
	char key[SHORT_IDS_MAX_LEN + 1];
	size_t len = strlen(id), need = CLI_SHORT_ID_MIN, at;

	if (len > SHORT_IDS_MAX_LEN || !s->n)
		return len < need || len > SHORT_IDS_MAX_LEN ? len : need;
	reverse(id, key, len);
	at = lower_bound(s, key);
	/* The neighbours in reversed order share the longest suffixes. */
	for (size_t i = at > 0 ? at - 1 : 0; i < s->n && i <= at + 1; i++) {
		size_t c;

		if (!strcmp(s->rev[i], key))
			continue;
		c = common_prefix(s->rev[i], key) + 1;
		if (c > need)
			need = c;
	}
	return need < len ? need : len;
}

const char *cli_short_id(const struct cli_short_ids *s, const char *id)
{
	return id + strlen(id) - cli_short_id_len(s, id);
}

/* Whether the id whose reversed text is rev starts with arg (len bytes). */
static bool has_prefix(const char *rev, const char *arg, size_t len)
{
	size_t l = strlen(rev);

	if (l < len)
		return false;
	for (size_t j = 0; j < len; j++)
		if (rev[l - 1 - j] != arg[j])
			return false;
	return true;
}

/* The ids that end with arg (a short id) or start with it (a prefix). */
struct matches {
	char ids[SHORT_IDS_CANDIDATES][SHORT_IDS_MAX_LEN + 1];
	size_t n, total;
};

static void add_match(struct matches *m, const char *rev)
{
	if (m->n < SHORT_IDS_CANDIDATES)
		reverse(rev, m->ids[m->n++], strlen(rev));
	m->total++;
}

static void print_ambiguous(const struct matches *m, const char *arg, const char *what)
{
	char clean[200];

	cliq_clean(arg, 60, clean, sizeof(clean));
	cli_error("%s id '%s' is ambiguous; it is the start or the end of:", what, clean);
	for (size_t i = 0; i < m->n; i++) {
		cliq_clean(m->ids[i], 80, clean, sizeof(clean));
		fprintf(stderr, "  %s\n", clean);
	}
	if (m->total > m->n)
		fprintf(stderr, "  (and %zu more)\n", m->total - m->n);
}

int cli_short_id_resolve(const struct cli_short_ids *s, const char *arg, const char *what,
			 char *out, size_t cap)
{
	char key[SHORT_IDS_MAX_LEN + 1];
	size_t len = strlen(arg);
	struct matches *m;
	int rc;

	if (!len || len > SHORT_IDS_MAX_LEN)
		return -ENOENT;
	m = vg_calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	/* Suffixes: the reversed ids that start with the reversed argument. */
	reverse(arg, key, len);
	for (size_t i = lower_bound(s, key); i < s->n && !strncmp(s->rev[i], key, len); i++) {
		if (strlen(s->rev[i]) == len) { /* the whole id: never ambiguous */
			rc = vg_path(out, cap, "%s", arg);
			goto out;
		}
		add_match(m, s->rev[i]);
	}
	/* Prefixes, as before, when no id ends so: a short id as the listings
	 * show it always names its own id.  (Every id is looked at: the set is
	 * sorted by suffix.) */
	if (!m->total)
		for (size_t i = 0; i < s->n; i++)
			if (has_prefix(s->rev[i], arg, len))
				add_match(m, s->rev[i]);
	if (m->total == 1)
		rc = vg_path(out, cap, "%s", m->ids[0]);
	else if (m->total == 0)
		rc = -ENOENT;
	else {
		print_ambiguous(m, arg, what);
		rc = -ENOTUNIQ;
	}
out:
	vg_free(m);
	return rc;
}

int cli_session_filter(struct idx *ix, const char **session, char *buf, size_t cap)
{
	struct cli_short_ids ids;
	const char *arg = *session;
	size_t len = arg ? strlen(arg) : 0;
	int rc;

	if (!len || len > SHORT_IDS_MAX_LEN)
		return 0;
	rc = cli_short_ids_load(&ids, ix, CLI_SESSION_IDS_SQL);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < ids.n; i++)
		if (has_prefix(ids.rev[i], arg, len))
			goto out; /* a prefix: the filter takes it as it is */
	rc = cli_short_id_resolve(&ids, arg, "session", buf, cap);
	if (rc == 0)
		*session = buf;
	else if (rc == -ENOENT)
		rc = 0; /* matches nothing: an empty listing, as before */
out:
	cli_short_ids_release(&ids);
	return rc;
}
