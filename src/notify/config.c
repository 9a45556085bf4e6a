/*
 * config.c - the `alerts` section of vigil.yaml: the key-table engine
 * (parsing, validation, "did you mean", release) for the keys every channel
 * has (below) and for each channel type's own keys (struct nf_chan_type in
 * ch_*.c), plus the checks that span keys.  Errors are structured (struct
 * vg_diag: channel index, key, code) so the configuration loader can point
 * at the line without reading the message.  docs/alerts.md documents the
 * same tables for users.
 *
 * Secret values (url, headers, token, password) arrive already expanded by
 * the configuration loader; error messages here name the key, never its
 * value.
 */
#include "notify_int.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include <curl/curl.h>

/* ---- names ----------------------------------------------------------------- */

static const char *const sev_names[] = { "informational", "low", "medium", "high",
					 "critical" };
static const char *const sev_upper[] = { "INFO", "LOW", "MEDIUM", "HIGH", "CRITICAL" };
int nf_sev_parse(const char *s)
{
	if (!s)
		return -1;
	if (strcmp(s, "info") == 0)
		return NF_SEV_INFO;
	for (size_t i = 0; i < VG_ARRAY_LEN(sev_names); i++)
		if (strcmp(s, sev_names[i]) == 0)
			return (int)i;
	return -1;
}

const char *nf_sev_name(int sev)
{
	return sev >= 0 && sev <= NF_SEV_CRITICAL ? sev_names[sev] : "unknown";
}

const char *nf_sev_upper(int sev)
{
	return sev >= 0 && sev <= NF_SEV_CRITICAL ? sev_upper[sev] : "UNKNOWN";
}

void nf_strv_release(struct nf_strv *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		vg_free(sv->v[i]);
	vg_free(sv->v);
	sv->v = NULL;
	sv->n = 0;
}

/* ---- the key table ---------------------------------------------------------- */

#define MS_S 1000ull
#define MS_H (3600ull * MS_S)
#define OFF(f) offsetof(struct nf_chan_cfg, f)
#define Q NF_CT_QUEUED

/* The keys every channel has; `needs` names the types that take the others
 * (a type takes a key when it has one of the flags). */
static const struct nf_key common_keys[] = {
	{ "name", NF_K_NAME, 0, 0, 1, 63, NULL },
	{ "enabled", NF_K_BOOL, 0, OFF(enabled), 0, 0, NULL },
	{ "min_severity", NF_K_SEV, 0, OFF(min_sev), 0, 0, NULL },
	{ "rules", NF_K_STRV, 0, OFF(rules), 0, NF_MAX_LIST, NULL },
	{ "rule_tags", NF_K_STRV, 0, OFF(rule_tags), 0, NF_MAX_LIST, NULL },
	{ "lifecycle", NF_K_BOOL, 0, OFF(lifecycle), 0, 0, NULL },
	{ "rate_limit", NF_K_U32, 0, OFF(rate_limit), 0, 100000, NULL },
	{ "queue", NF_K_U32, Q, OFF(queue), 1, 65536, NULL },
	{ "max_attempts", NF_K_U32, Q, OFF(max_attempts), 1, 100, NULL },
	{ "backoff", NF_K_MS, Q, OFF(backoff_ms), 1, MS_H, NULL },
	{ "backoff_max", NF_K_MS, Q, OFF(backoff_max_ms), 1, 24 * MS_H, NULL },
	{ "timeout", NF_K_MS, NF_CT_URL | NF_CT_TIMEOUT, OFF(timeout_ms), 100, 600 * MS_S, NULL },
	{ "connect_timeout", NF_K_MS, NF_CT_URL, OFF(connect_timeout_ms), 100, 600 * MS_S, NULL },
	{ "url", NF_K_SECRET, NF_CT_URL, OFF(url), 1, NF_MAX_URL, NULL },
};

static bool takes(const struct nf_chan_type *t, const struct nf_key *k)
{
	return k->needs == 0 || (t->flags & k->needs) != 0;
}

/* ---- error messages ------------------------------------------------------------ */

int nf_cfg_fail(struct nf_cfg_ctx *x, enum vg_diag_code code, const char *key,
		const char *fmt, ...)
{
	/* A message about a key names it before the reason; one about an
	 * unknown or misplaced key names it inside the reason. */
	const char *label = code == VG_DIAG_UNKNOWN_KEY || code == VG_DIAG_NOT_HERE ? NULL : key;
	char what[400];
	va_list ap;

	if (!x->d)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	vg_diag_set(x->d, code, (long)x->index, "alerts", key,
		    "alerts.channels[%zu]%s%s%s: %s%s%s", x->index, x->type ? " (" : "",
		    x->type ? x->type : "", x->type ? ")" : "", label ? label : "",
		    label ? ": " : "", what);
	return -EINVAL;
}

/* An error of the section itself (index -1). */
static int section_fail(struct vg_diag *d, enum vg_diag_code code, const char *key,
			const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int section_fail(struct vg_diag *d, enum vg_diag_code code, const char *key,
			const char *fmt, ...)
{
	char what[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	vg_diag_set(d, code, -1, "alerts", key, "%s", what);
	return -EINVAL;
}

/* ---- value parsers -------------------------------------------------------------- */

/*
 * A duration: a JSON integer or real is seconds; a string is a number with
 * an optional unit ms, s, m, h or d ("250ms", "10s", "5m", "1.5s").
 */
static int parse_ms(const json_t *v, uint64_t *ms)
{
	double x, mult = 1000.0;
	const char *s;
	char *end;

	if (json_is_integer(v)) {
		if (json_integer_value(v) < 0)
			return -EINVAL;
		x = (double)json_integer_value(v);
	} else if (json_is_real(v)) {
		x = json_real_value(v);
	} else if (json_is_string(v)) {
		s = json_string_value(v);
		if (!isdigit((unsigned char)s[0]))
			return -EINVAL;
		errno = 0;
		x = strtod(s, &end);
		if (errno || end == s)
			return -EINVAL;
		if (strcmp(end, "ms") == 0)
			mult = 1.0;
		else if (strcmp(end, "") == 0 || strcmp(end, "s") == 0)
			mult = 1000.0;
		else if (strcmp(end, "m") == 0)
			mult = 60e3;
		else if (strcmp(end, "h") == 0)
			mult = 3600e3;
		else if (strcmp(end, "d") == 0)
			mult = 86400e3;
		else
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	x *= mult;
	if (!(x >= 0.0) || x > 1e15)
		return -EINVAL;
	*ms = (uint64_t)(x + 0.5);
	return 0;
}

static bool has_ctl(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

static int parse_str(struct nf_cfg_ctx *x, const char *key, const json_t *v, uint64_t min,
		     uint64_t max, char **out)
{
	size_t len;

	if (!json_is_string(v))
		return nf_cfg_fail(x, VG_DIAG_INVALID, key, "expected a string");
	len = json_string_length(v);
	if (len < min)
		return nf_cfg_fail(x, VG_DIAG_INVALID, key, "must not be empty");
	if (len > max)
		return nf_cfg_fail(x, VG_DIAG_INVALID, key, "longer than %llu bytes", (unsigned long long)max);
	if (memchr(json_string_value(v), '\0', len) || has_ctl(json_string_value(v)))
		return nf_cfg_fail(x, VG_DIAG_INVALID, key, "contains control characters");
	vg_free(*out);
	*out = vg_strdup(json_string_value(v));
	return *out ? 0 : -ENOMEM;
}

static int strv_add(struct nf_strv *sv, const char *s, size_t len)
{
	char **v = vg_realloc(sv->v, (sv->n + 1) * sizeof(*v));
	char *copy;

	if (!v)
		return -ENOMEM;
	sv->v = v;
	copy = vg_malloc(len + 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, s, len);
	copy[len] = '\0';
	sv->v[sv->n++] = copy;
	return 0;
}

/* A string or a list of non-empty strings without control characters. */
static int parse_strv(struct nf_cfg_ctx *x, const char *key, const json_t *v, uint64_t min,
		      uint64_t max, struct nf_strv *out)
{
	const json_t *e;
	size_t i;
	int rc;

	nf_strv_release(out);
	if (json_is_string(v)) {
		if (json_string_length(v) == 0 || has_ctl(json_string_value(v)) ||
		    json_string_length(v) > NF_MAX_STR)
			return nf_cfg_fail(x, VG_DIAG_INVALID, key, "expected a non-empty string without control "
					"characters");
		return strv_add(out, json_string_value(v), json_string_length(v));
	}
	if (!json_is_array(v))
		return nf_cfg_fail(x, VG_DIAG_INVALID, key, "expected a list of strings");
	if (json_array_size(v) < min)
		return nf_cfg_fail(x, VG_DIAG_INVALID, key, "must not be empty");
	if (json_array_size(v) > max)
		return nf_cfg_fail(x, VG_DIAG_INVALID, key, "more than %llu entries", (unsigned long long)max);
	json_array_foreach(v, i, e) {
		if (!json_is_string(e) || json_string_length(e) == 0 ||
		    json_string_length(e) > NF_MAX_STR || has_ctl(json_string_value(e)))
			return nf_cfg_fail(x, VG_DIAG_INVALID, key, "entry %zu: expected a non-empty string without "
					"control characters", i);
		rc = strv_add(out, json_string_value(e), json_string_length(e));
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* RFC 9110 token characters, for header names. */
static bool is_tchar(unsigned char c)
{
	return isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static int parse_headers(struct nf_cfg_ctx *x, const char *key, const json_t *v,
			 struct nf_strv *out)
{
	char line[NF_MAX_HEADER];
	const char *name;
	const json_t *val;
	int rc, len;

	nf_strv_release(out);
	if (!json_is_object(v))
		return nf_cfg_fail(x, VG_DIAG_INVALID, key, "expected a map of header names to values");
	if (json_object_size(v) > NF_MAX_HEADERS)
		return nf_cfg_fail(x, VG_DIAG_INVALID, key, "more than %d headers", NF_MAX_HEADERS);
	json_object_foreach(nf_json_ro(v), name, val) {
		if (!*name || strlen(name) > 128)
			return nf_cfg_fail(x, VG_DIAG_INVALID, key, "a header name must have 1 to 128 characters");
		for (const char *p = name; *p; p++)
			if (!is_tchar((unsigned char)*p))
				return nf_cfg_fail(x, VG_DIAG_INVALID, key, "header '%.128s': invalid name", name);
		if (strcasecmp(name, "Content-Length") == 0 || strcasecmp(name, "Host") == 0 ||
		    strcasecmp(name, "Transfer-Encoding") == 0)
			return nf_cfg_fail(x, VG_DIAG_INVALID, key, "header '%s' is set by vigil", name);
		if (!json_is_string(val) || has_ctl(json_string_value(val)))
			return nf_cfg_fail(x, VG_DIAG_INVALID, key, "header '%.128s': expected a string without "
					"control characters", name);
		len = snprintf(line, sizeof(line), "%s: %s", name, json_string_value(val));
		if (len < 0 || (size_t)len >= sizeof(line))
			return nf_cfg_fail(x, VG_DIAG_INVALID, key, "header '%.128s': longer than %d bytes", name,
					NF_MAX_HEADER);
		rc = strv_add(out, line, (size_t)len);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Parses v as key k into base (the common configuration or the type's options). */
static int parse_key(struct nf_cfg_ctx *x, const struct nf_key *k, const json_t *v,
		     struct nf_chan_cfg *c, void *base)
{
	void *field = (char *)base + k->off;
	uint64_t u;
	int sev;

	switch (k->kind) {
	case NF_K_NAME:
		if (!json_is_string(v) || json_string_length(v) < k->min ||
		    json_string_length(v) > k->max)
			return nf_cfg_fail(x, VG_DIAG_INVALID, k->name, "expected a string of 1 to %llu characters",
					(unsigned long long)k->max);
		for (const char *p = json_string_value(v); *p; p++)
			if (!isalnum((unsigned char)*p) && !strchr("._-", *p))
				return nf_cfg_fail(x, VG_DIAG_INVALID, k->name, "use letters, digits, '.', '_' and '-'");
		snprintf(c->name, sizeof(c->name), "%s", json_string_value(v));
		return 0;
	case NF_K_STR:
	case NF_K_SECRET:
		return parse_str(x, k->name, v, k->min, k->max, field);
	case NF_K_BOOL:
		if (!json_is_boolean(v))
			return nf_cfg_fail(x, VG_DIAG_INVALID, k->name, "expected true or false");
		*(bool *)field = json_is_true(v);
		return 0;
	case NF_K_TRI:
		if (!json_is_boolean(v))
			return nf_cfg_fail(x, VG_DIAG_INVALID, k->name, "expected true or false");
		*(int *)field = json_is_true(v) ? 1 : 0;
		return 0;
	case NF_K_U32:
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    (uint64_t)json_integer_value(v) < k->min ||
		    (uint64_t)json_integer_value(v) > k->max)
			return nf_cfg_fail(x, VG_DIAG_INVALID, k->name, "expected an integer from %llu to %llu",
					(unsigned long long)k->min, (unsigned long long)k->max);
		*(uint32_t *)field = (uint32_t)json_integer_value(v);
		return 0;
	case NF_K_MS:
		if (parse_ms(v, &u) < 0)
			return nf_cfg_fail(x, VG_DIAG_INVALID, k->name, "expected a duration like 10s, 500ms or 5m");
		if (u < k->min || u > k->max)
			return nf_cfg_fail(x, VG_DIAG_INVALID, k->name, "must be from %llu ms to %llu ms",
					(unsigned long long)k->min, (unsigned long long)k->max);
		*(uint32_t *)field = (uint32_t)u;
		return 0;
	case NF_K_STRV:
		return parse_strv(x, k->name, v, k->min, k->max, field);
	case NF_K_SEV:
		sev = json_is_string(v) ? nf_sev_parse(json_string_value(v)) : -1;
		if (sev < 0)
			return nf_cfg_fail(x, VG_DIAG_INVALID, k->name, "expected informational, low, medium, high or "
					"critical");
		*(int *)field = sev;
		return 0;
	case NF_K_HEADERS:
		return parse_headers(x, k->name, v, field);
	case NF_K_ENUM:
		if (json_is_string(v))
			for (const struct nf_choice *ch = k->choices; ch->name; ch++)
				if (strcmp(json_string_value(v), ch->name) == 0) {
					*(int *)field = ch->val;
					return 0;
				}
		{
			char list[256] = "";
			size_t off = 0;

			for (const struct nf_choice *ch = k->choices; ch->name && off < sizeof(list);
			     ch++)
				off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s",
							off ? ", " : "", ch->name);
			return nf_cfg_fail(x, VG_DIAG_INVALID, k->name, "expected one of %s", list);
		}
	}
	return nf_cfg_fail(x, VG_DIAG_INVALID, k->name, "unsupported key");
}

/* ---- checks across keys ------------------------------------------------------------ */

/*
 * Validates c->url for the channel's schemes and sets c->target to what logs
 * may show: the scheme, the host and the port (no user, path or query).
 */
static int check_url(struct nf_cfg_ctx *x, struct nf_chan_cfg *c, const char *const *schemes)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL, hostbuf[201];
	bool ok = false;
	int rc;

	if (!u)
		return -ENOMEM;
	if (curl_url_set(u, CURLUPART_URL, c->url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		rc = nf_cfg_fail(x, VG_DIAG_INVALID, "url", "not a valid URL");
		goto out;
	}
	for (size_t i = 0; schemes[i]; i++)
		if (strcasecmp(scheme, schemes[i]) == 0)
			ok = true;
	if (!ok) {
		rc = nf_cfg_fail(x, VG_DIAG_INVALID, "url", "scheme '%.16s' is not %s%s%s", scheme,
				 schemes[0], schemes[1] ? " or " : "", schemes[1] ? schemes[1] : "");
		goto out;
	}
	if (curl_url_get(u, CURLUPART_PORT, &port, 0) != CURLUE_OK)
		port = NULL;
	nf_oneline(hostbuf, sizeof(hostbuf), host); /* cut at a character, not a byte */
	snprintf(c->target, sizeof(c->target), "%s://%s%s%s", scheme, hostbuf,
		 port ? ":" : "", port ? port : "");
	rc = 0;
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return rc;
}

int nf_cfg_abs_path(struct nf_cfg_ctx *x, const char *key, char **path)
{
	const char *home = getenv("HOME");
	char buf[PATH_MAX];

	if ((*path)[0] == '~' && (*path)[1] == '/') {
		if (!home || !*home)
			return nf_cfg_fail(x, VG_DIAG_INVALID, key, "'~' used but HOME is not set");
		if (vg_path(buf, sizeof(buf), "%s%s", home, *path + 1) < 0)
			return nf_cfg_fail(x, VG_DIAG_INVALID, key, "too long");
		vg_free(*path);
		*path = vg_strdup(buf);
		if (!*path)
			return -ENOMEM;
	}
	if ((*path)[0] != '/')
		return nf_cfg_fail(x, VG_DIAG_INVALID, key,
				   "must be an absolute path (or start with ~/)");
	return 0;
}

/* Zeroes c and applies the defaults of type t; -ENOMEM for the options. */
static int set_defaults(struct nf_chan_cfg *c, const struct nf_chan_type *t)
{
	bool record = t->flags & NF_CT_RECORD;

	memset(c, 0, sizeof(*c));
	c->type = t;
	c->enabled = true;
	snprintf(c->name, sizeof(c->name), "%s", t->name);
	c->min_sev = t->min_sev;
	/* The local record of every alert (log, file) follows its lifecycle and is
	 * never capped; channels that page people are. */
	c->lifecycle = record;
	c->rate_limit = record ? 0 : 60;
	c->queue = 256;
	c->max_attempts = 5;
	c->backoff_ms = 1000;
	c->backoff_max_ms = 60000;
	c->timeout_ms = 10000;
	c->connect_timeout_ms = 5000;
	if (t->opts_size) {
		c->opts = vg_calloc(1, t->opts_size);
		if (!c->opts)
			return -ENOMEM;
		if (t->defaults)
			t->defaults(c->opts);
	}
	return 0;
}

/* Frees what a key table's strings and lists hold in base; secrets are wiped. */
static void release_keys(const struct nf_key *keys, size_t n, void *base)
{
	for (size_t i = 0; i < n; i++) {
		void *field = (char *)base + keys[i].off;
		struct nf_strv *sv = field;
		char **str = field;

		switch (keys[i].kind) {
		case NF_K_SECRET:
			if (*str)
				vg_wipe(*str, strlen(*str));
			/* fall through */
		case NF_K_STR:
			vg_free(*str);
			*str = NULL;
			break;
		case NF_K_HEADERS: /* header values are secrets too */
			for (size_t j = 0; j < sv->n; j++)
				vg_wipe(sv->v[j], strlen(sv->v[j]));
			/* fall through */
		case NF_K_STRV:
			nf_strv_release(sv);
			break;
		default:
			break;
		}
	}
}

static void chan_cfg_release(struct nf_chan_cfg *c)
{
	release_keys(common_keys, VG_ARRAY_LEN(common_keys), c);
	if (c->type && c->opts)
		release_keys(c->type->keys, c->type->nkeys, c->opts);
	vg_free(c->opts);
	memset(c, 0, sizeof(*c));
}

static int finish_channel(struct nf_cfg_ctx *x, struct nf_chan_cfg *c, const char *state_dir)
{
	const struct nf_chan_type *t = c->type;
	int rc;

	if (t->flags & NF_CT_URL) {
		if (!c->url)
			return nf_cfg_fail(x, VG_DIAG_REQUIRED, "url", "required");
		rc = check_url(x, c, t->schemes);
		if (rc < 0)
			return rc;
	} else {
		snprintf(c->target, sizeof(c->target), "%s", t->name);
	}
	if (t->validate && (rc = t->validate(x, c, state_dir)) < 0)
		return rc;
	if (c->backoff_max_ms < c->backoff_ms)
		return nf_cfg_fail(x, VG_DIAG_INVALID, "backoff_max", "smaller than backoff");
	return 0;
}

/* Edit distance of two short keys, capped at 3 (enough for "did you mean"). */
static int key_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	int row[64], prev, tmp;

	if (la >= VG_ARRAY_LEN(row) || lb >= VG_ARRAY_LEN(row))
		return 3;
	for (size_t j = 0; j <= lb; j++)
		row[j] = (int)j;
	for (size_t i = 1; i <= la; i++) {
		prev = row[0];
		row[0] = (int)i;
		for (size_t j = 1; j <= lb; j++) {
			int best = prev + (a[i - 1] != b[j - 1]);

			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			tmp = row[j];
			row[j] = best;
			prev = tmp;
		}
	}
	return row[lb] < 3 ? row[lb] : 3;
}

/* The key of this channel type closest to an unknown one, or NULL. */
static const char *suggest_key(const char *key, const struct nf_chan_type *t)
{
	const char *best = NULL;
	int dist = 3, d;

	for (size_t i = 0; i < VG_ARRAY_LEN(common_keys); i++)
		if (takes(t, &common_keys[i]) && (d = key_distance(key, common_keys[i].name)) < dist) {
			dist = d;
			best = common_keys[i].name;
		}
	for (size_t i = 0; i < t->nkeys; i++)
		if ((d = key_distance(key, t->keys[i].name)) < dist) {
			dist = d;
			best = t->keys[i].name;
		}
	return best;
}

/* A key of any type or of the common table, so that a misplaced key is told apart. */
static bool key_exists(const char *key)
{
	for (size_t i = 0; i < VG_ARRAY_LEN(common_keys); i++)
		if (strcmp(common_keys[i].name, key) == 0)
			return true;
	for (size_t i = 0; i < nf_chan_ntypes; i++)
		for (size_t j = 0; j < nf_chan_types[i]->nkeys; j++)
			if (strcmp(nf_chan_types[i]->keys[j].name, key) == 0)
				return true;
	return false;
}

/* The key k of type t named key, and the base it lands in; NULL when t does not take it. */
static const struct nf_key *find_key(const struct nf_chan_type *t, const char *key,
				     struct nf_chan_cfg *c, void **base)
{
	for (size_t i = 0; i < VG_ARRAY_LEN(common_keys); i++)
		if (strcmp(common_keys[i].name, key) == 0 && takes(t, &common_keys[i])) {
			*base = c;
			return &common_keys[i];
		}
	for (size_t i = 0; i < t->nkeys; i++)
		if (strcmp(t->keys[i].name, key) == 0) {
			*base = c->opts;
			return &t->keys[i];
		}
	return NULL;
}

static int type_list(char *buf, size_t cap)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < nf_chan_ntypes && off < cap; i++)
		off += (size_t)snprintf(buf + off, cap - off, "%s%s",
					i == 0 ? "" : i + 1 == nf_chan_ntypes ? " or " : ", ",
					nf_chan_types[i]->name);
	return 0;
}

static int parse_channel(struct nf_cfg_ctx *x, const json_t *obj, const char *state_dir,
			 struct nf_chan_cfg *c, bool *named)
{
	const struct nf_chan_type *t = NULL;
	const json_t *tv, *v;
	const char *key;
	char list[256];
	int rc;

	if (!json_is_object(obj))
		return nf_cfg_fail(x, VG_DIAG_INVALID, NULL, "expected a map with a type");
	tv = json_object_get(obj, "type");
	if (!tv)
		return nf_cfg_fail(x, VG_DIAG_REQUIRED, "type", "required");
	if (json_is_string(tv))
		t = nf_chan_type_find(json_string_value(tv));
	if (!t) {
		type_list(list, sizeof(list));
		return nf_cfg_fail(x, VG_DIAG_INVALID, "type", "expected %s", list);
	}
	x->type = t->name;
	rc = set_defaults(c, t);
	if (rc < 0)
		return rc;
	*named = false;
	json_object_foreach(nf_json_ro(obj), key, v) {
		const struct nf_key *k;
		void *base;

		if (strcmp(key, "type") == 0)
			continue;
		k = find_key(t, key, c, &base);
		if (!k && key_exists(key))
			return nf_cfg_fail(x, VG_DIAG_NOT_HERE, key,
					   "key '%.64s' does not apply to a %s channel", key, t->name);
		if (!k) {
			const char *hint = suggest_key(key, t);

			return nf_cfg_fail(x, VG_DIAG_UNKNOWN_KEY, key, "unknown key '%.64s'%s%s%s",
					   key, hint ? "; did you mean '" : "", hint ? hint : "",
					   hint ? "'?" : "");
		}
		rc = parse_key(x, k, v, c, base);
		if (rc < 0)
			return rc;
		if (k->kind == NF_K_NAME)
			*named = true;
	}
	return finish_channel(x, c, state_dir);
}

static int add_default(struct nf_config *cfg, const char *type, const char *state_dir,
		       struct vg_diag *d)
{
	const struct nf_chan_type *t = nf_chan_type_find(type);
	struct nf_cfg_ctx x = { d, cfg->nchans, type };
	struct nf_chan_cfg *c = &cfg->chans[cfg->nchans];
	int rc;

	rc = t ? set_defaults(c, t) : -ENOENT;
	if (rc == 0)
		rc = finish_channel(&x, c, state_dir);
	if (rc < 0) {
		chan_cfg_release(c);
		return rc;
	}
	cfg->nchans++;
	return 0;
}

int nf_config_check_channel(const json_t *chan, size_t index, struct vg_diag *d)
{
	struct nf_cfg_ctx x = { d, index, NULL };
	struct nf_chan_cfg c;
	bool named;
	int rc;

	memset(&c, 0, sizeof(c));
	/* A fixed state directory so that checking never depends on $HOME. */
	rc = parse_channel(&x, chan, "/nonexistent-state", &c, &named);
	if (rc == -ENOMEM)
		vg_diag_set(d, VG_DIAG_NOMEM, (long)index, "alerts", NULL,
			    "alerts.channels[%zu]: out of memory", index);
	chan_cfg_release(&c);
	return rc;
}

/* The section's own keys: window and channels. */
static int parse_section(const json_t *alerts, struct nf_config *cfg, const json_t **chans,
			 struct vg_diag *d)
{
	const json_t *v;
	const char *key;
	uint64_t ms;

	*chans = NULL;
	if (alerts && !json_is_object(alerts))
		return section_fail(d, VG_DIAG_INVALID, NULL, "alerts: expected a map");
	if (alerts)
		json_object_foreach(nf_json_ro(alerts), key, v) {
			if (strcmp(key, "window") == 0) {
				if (parse_ms(v, &ms) < 0 || ms > 7 * 24 * MS_H)
					return section_fail(d, VG_DIAG_INVALID, "window",
							    "alerts.window: expected a duration "
							    "like 5m or 300 (at most 7d)");
				cfg->window_ms = ms;
			} else if (strcmp(key, "channels") == 0) {
				*chans = v;
			} else {
				return section_fail(d, VG_DIAG_UNKNOWN_KEY, key,
						    "alerts: unknown key '%.64s'", key);
			}
		}
	if (*chans && !json_is_array(*chans))
		return section_fail(d, VG_DIAG_INVALID, "channels",
				    "alerts.channels: expected a list of channels");
	if (*chans && json_array_size(*chans) > NF_MAX_CHANNELS)
		return section_fail(d, VG_DIAG_TOO_MANY, "channels",
				    "alerts.channels: more than %d channels", NF_MAX_CHANNELS);
	return 0;
}

/* Makes c's name unique among the first cfg->nchans, or fails when it was given. */
static int unique_name(struct nf_cfg_ctx *x, struct nf_config *cfg, struct nf_chan_cfg *c,
		       bool named, size_t i)
{
	for (size_t j = 0; j < cfg->nchans; j++) {
		if (strcmp(cfg->chans[j].name, c->name) != 0)
			continue;
		if (named)
			return nf_cfg_fail(x, VG_DIAG_DUPLICATE, "name",
					   "'%s' is used by another channel", c->name);
		snprintf(c->name, sizeof(c->name), "%s-%zu", c->type->name, i);
	}
	return 0;
}

int nf_config_parse(const json_t *alerts, const char *state_dir, struct nf_config *cfg,
		    struct vg_diag *d)
{
	const json_t *chans, *v;
	struct nf_cfg_ctx x = { d, 0, NULL };
	size_t i;
	int rc = 0, nsession = 0;

	memset(cfg, 0, sizeof(*cfg));
	cfg->window_ms = 300000;
	rc = parse_section(alerts, cfg, &chans, d);
	if (rc < 0)
		return rc;
	cfg->chans = vg_calloc(chans ? json_array_size(chans) + 1 : 3, sizeof(*cfg->chans));
	if (!cfg->chans)
		return -ENOMEM;
	if (!chans) {
		/* No channels configured: the daemon log, the alert file, and the
		 * session itself for high and critical alerts. */
		if ((rc = add_default(cfg, "log", state_dir, d)) < 0 ||
		    (rc = add_default(cfg, "file", state_dir, d)) < 0 ||
		    (rc = add_default(cfg, "session", state_dir, d)) < 0)
			goto fail;
		return 0;
	}
	json_array_foreach(chans, i, v) {
		struct nf_chan_cfg *c = &cfg->chans[cfg->nchans];
		bool named;

		x.index = i;
		x.type = NULL;
		rc = parse_channel(&x, v, state_dir, c, &named);
		if (rc == -ENOMEM)
			vg_diag_set(d, VG_DIAG_NOMEM, (long)i, "alerts", NULL,
				    "alerts.channels[%zu]: out of memory", i);
		if (rc == 0 && !c->enabled) {
			chan_cfg_release(c);
			continue;
		}
		if (rc == 0)
			rc = unique_name(&x, cfg, c, named, i);
		if (rc == 0 && c->type == &nf_ch_session && ++nsession > 1)
			rc = nf_cfg_fail(&x, VG_DIAG_DUPLICATE, NULL,
					 "only one session channel is allowed");
		if (rc < 0) {
			chan_cfg_release(c);
			goto fail;
		}
		cfg->nchans++;
	}
	return 0;
fail:
	nf_config_release(cfg);
	return rc;
}

void nf_config_release(struct nf_config *cfg)
{
	for (size_t i = 0; i < cfg->nchans; i++)
		chan_cfg_release(&cfg->chans[i]);
	vg_free(cfg->chans);
	memset(cfg, 0, sizeof(*cfg));
}
