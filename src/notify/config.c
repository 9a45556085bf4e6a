/*
 * config.c - the `alerts` section of vigil.yaml: a declarative table of the
 * channel keys (name, kind, which channel types take it, limits, where it
 * lands in struct nf_chan_cfg), from which both validation and parsing come,
 * plus the checks that span keys (a network channel needs a url, email
 * needs from and to).  docs/alerts.md documents the same table for users.
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
static const char *const type_names[NF_CH__COUNT] = {
	[NF_CH_LOG] = "log",	   [NF_CH_FILE] = "file",	      [NF_CH_WEBHOOK] = "webhook",
	[NF_CH_SLACK] = "slack",	   [NF_CH_TEAMS] = "teams",     [NF_CH_EMAIL] = "email",
	[NF_CH_SYSLOG] = "syslog",   [NF_CH_GRAFANA] = "grafana", [NF_CH_SESSION] = "session",
};

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

const char *nf_type_name(enum nf_chan_kind t)
{
	return (unsigned)t < NF_CH__COUNT ? type_names[t] : "unknown";
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

enum nf_key_kind { K_NAME, K_STR, K_SECRET, K_BOOL, K_U32, K_MS, K_STRV, K_SEV, K_HEADERS,
		 K_ENUM, K_TRI };

struct nf_choice {
	const char *name;
	int val;
};

struct nf_key {
	const char *name;
	enum nf_key_kind kind;
	uint32_t types; /* bit per enum nf_chan_kind */
	size_t off;
	uint64_t min, max; /* K_U32 value, K_MS ms, K_STR/K_SECRET length, K_STRV entries */
	const struct nf_choice *choices;
};

#define T(x) (1u << (x))
#define T_NET (T(NF_CH_WEBHOOK) | T(NF_CH_SLACK) | T(NF_CH_TEAMS) | T(NF_CH_EMAIL) | T(NF_CH_GRAFANA))
#define T_QUEUED (T_NET | T(NF_CH_FILE) | T(NF_CH_SYSLOG))
#define T_ALL ((1u << NF_CH__COUNT) - 1)
#define OFF(f) offsetof(struct nf_chan_cfg, f)
#define MS_S 1000ull
#define MS_H (3600ull * MS_S)

static const struct nf_choice methods[] = { { "POST", NF_METHOD_POST }, { "PUT", NF_METHOD_PUT },
					  { NULL, 0 } };
static const struct nf_choice teams_formats[] = { { "adaptive", NF_TEAMS_ADAPTIVE },
						{ "messagecard", NF_TEAMS_MESSAGECARD },
						{ NULL, 0 } };
/* RFC 5424 facility codes. */
static const struct nf_choice facilities[] = {
	{ "kern", 0 },	   { "user", 1 },	 { "mail", 2 },	    { "daemon", 3 },
	{ "auth", 4 },	   { "syslog", 5 },	 { "lpr", 6 },	    { "news", 7 },
	{ "uucp", 8 },	   { "cron", 9 },	 { "authpriv", 10 }, { "ftp", 11 },
	{ "local0", 16 },  { "local1", 17 },	 { "local2", 18 },  { "local3", 19 },
	{ "local4", 20 },  { "local5", 21 },	 { "local6", 22 },  { "local7", 23 },
	{ NULL, 0 },
};

static const struct nf_key keys[] = {
	{ "name", K_NAME, T_ALL, 0, 1, 63, NULL },
	{ "enabled", K_BOOL, T_ALL, OFF(enabled), 0, 0, NULL },
	{ "min_severity", K_SEV, T_ALL, OFF(min_sev), 0, 0, NULL },
	{ "rules", K_STRV, T_ALL, OFF(rules), 0, NF_MAX_LIST, NULL },
	{ "rule_tags", K_STRV, T_ALL, OFF(rule_tags), 0, NF_MAX_LIST, NULL },
	{ "lifecycle", K_BOOL, T_ALL, OFF(lifecycle), 0, 0, NULL },
	{ "rate_limit", K_U32, T_ALL, OFF(rate_limit), 0, 100000, NULL },
	{ "queue", K_U32, T_QUEUED, OFF(queue), 1, 65536, NULL },
	{ "max_attempts", K_U32, T_QUEUED, OFF(max_attempts), 1, 100, NULL },
	{ "backoff", K_MS, T_QUEUED, OFF(backoff_ms), 1, MS_H, NULL },
	{ "backoff_max", K_MS, T_QUEUED, OFF(backoff_max_ms), 1, 24 * MS_H, NULL },
	{ "timeout", K_MS, T_NET | T(NF_CH_SYSLOG), OFF(timeout_ms), 100, 600 * MS_S, NULL },
	{ "connect_timeout", K_MS, T_NET, OFF(connect_timeout_ms), 100, 600 * MS_S, NULL },
	{ "url", K_SECRET, T_NET, OFF(url), 1, NF_MAX_URL, NULL },
	{ "headers", K_HEADERS, T(NF_CH_WEBHOOK), OFF(headers), 0, NF_MAX_HEADERS, NULL },
	{ "method", K_ENUM, T(NF_CH_WEBHOOK), OFF(method), 0, 0, methods },
	{ "path", K_STR, T(NF_CH_FILE), OFF(path), 1, PATH_MAX - 1, NULL },
	{ "token", K_SECRET, T(NF_CH_GRAFANA), OFF(token), 1, NF_MAX_STR, NULL },
	{ "tags", K_STRV, T(NF_CH_GRAFANA), OFF(tags), 0, NF_MAX_LIST, NULL },
	{ "dashboard_uid", K_STR, T(NF_CH_GRAFANA), OFF(dashboard_uid), 1, 128, NULL },
	{ "panel_id", K_U32, T(NF_CH_GRAFANA), OFF(panel_id), 1, UINT32_MAX, NULL },
	{ "format", K_ENUM, T(NF_CH_TEAMS), OFF(teams_format), 0, 0, teams_formats },
	{ "from", K_STR, T(NF_CH_EMAIL), OFF(from), 3, 254, NULL },
	{ "to", K_STRV, T(NF_CH_EMAIL), OFF(to), 1, NF_MAX_LIST, NULL },
	{ "username", K_STR, T(NF_CH_EMAIL), OFF(username), 1, NF_MAX_STR, NULL },
	{ "password", K_SECRET, T(NF_CH_EMAIL), OFF(password), 1, NF_MAX_STR, NULL },
	{ "starttls", K_TRI, T(NF_CH_EMAIL), OFF(starttls), 0, 0, NULL },
	{ "ident", K_STR, T(NF_CH_SYSLOG), OFF(ident), 1, 48, NULL },
	{ "facility", K_ENUM, T(NF_CH_SYSLOG), OFF(facility), 0, 0, facilities },
	{ "socket", K_STR, T(NF_CH_SYSLOG), OFF(socket), 1, 107, NULL },
	{ "max_pending", K_U32, T(NF_CH_SESSION), OFF(max_pending), 1, 100, NULL },
	{ "max_age", K_MS, T(NF_CH_SESSION), OFF(max_age_ms), MS_S, 24 * MS_H, NULL },
};

/* ---- error messages ------------------------------------------------------------ */

struct nf_cfg_ctx {
	char *err;
	size_t errlen;
	size_t index;
	const char *type; /* NULL before the type is known */
};

static int cfg_fail(struct nf_cfg_ctx *x, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int cfg_fail(struct nf_cfg_ctx *x, const char *key, const char *fmt, ...)
{
	char what[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (x->err && x->errlen)
		snprintf(x->err, x->errlen, "alerts.channels[%zu]%s%s%s: %s%s%s", x->index,
			 x->type ? " (" : "", x->type ? x->type : "", x->type ? ")" : "",
			 key ? key : "", key ? ": " : "", what);
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
		return cfg_fail(x, key, "expected a string");
	len = json_string_length(v);
	if (len < min)
		return cfg_fail(x, key, "must not be empty");
	if (len > max)
		return cfg_fail(x, key, "longer than %llu bytes", (unsigned long long)max);
	if (memchr(json_string_value(v), '\0', len) || has_ctl(json_string_value(v)))
		return cfg_fail(x, key, "contains control characters");
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
			return cfg_fail(x, key, "expected a non-empty string without control "
					"characters");
		return strv_add(out, json_string_value(v), json_string_length(v));
	}
	if (!json_is_array(v))
		return cfg_fail(x, key, "expected a list of strings");
	if (json_array_size(v) < min)
		return cfg_fail(x, key, "must not be empty");
	if (json_array_size(v) > max)
		return cfg_fail(x, key, "more than %llu entries", (unsigned long long)max);
	json_array_foreach(v, i, e) {
		if (!json_is_string(e) || json_string_length(e) == 0 ||
		    json_string_length(e) > NF_MAX_STR || has_ctl(json_string_value(e)))
			return cfg_fail(x, key, "entry %zu: expected a non-empty string without "
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
		return cfg_fail(x, key, "expected a map of header names to values");
	if (json_object_size(v) > NF_MAX_HEADERS)
		return cfg_fail(x, key, "more than %d headers", NF_MAX_HEADERS);
	json_object_foreach(nf_json_ro(v), name, val) {
		if (!*name || strlen(name) > 128)
			return cfg_fail(x, key, "a header name must have 1 to 128 characters");
		for (const char *p = name; *p; p++)
			if (!is_tchar((unsigned char)*p))
				return cfg_fail(x, key, "header '%.128s': invalid name", name);
		if (strcasecmp(name, "Content-Length") == 0 || strcasecmp(name, "Host") == 0 ||
		    strcasecmp(name, "Transfer-Encoding") == 0)
			return cfg_fail(x, key, "header '%s' is set by vigil", name);
		if (!json_is_string(val) || has_ctl(json_string_value(val)))
			return cfg_fail(x, key, "header '%.128s': expected a string without "
					"control characters", name);
		len = snprintf(line, sizeof(line), "%s: %s", name, json_string_value(val));
		if (len < 0 || (size_t)len >= sizeof(line))
			return cfg_fail(x, key, "header '%.128s': longer than %d bytes", name,
					NF_MAX_HEADER);
		rc = strv_add(out, line, (size_t)len);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int parse_key(struct nf_cfg_ctx *x, const struct nf_key *k, const json_t *v,
		     struct nf_chan_cfg *c)
{
	void *field = (char *)c + k->off;
	uint64_t u;
	int sev;

	switch (k->kind) {
	case K_NAME:
		if (!json_is_string(v) || json_string_length(v) < k->min ||
		    json_string_length(v) > k->max)
			return cfg_fail(x, k->name, "expected a string of 1 to %llu characters",
					(unsigned long long)k->max);
		for (const char *p = json_string_value(v); *p; p++)
			if (!isalnum((unsigned char)*p) && !strchr("._-", *p))
				return cfg_fail(x, k->name, "use letters, digits, '.', '_' and '-'");
		snprintf(c->name, sizeof(c->name), "%s", json_string_value(v));
		return 0;
	case K_STR:
	case K_SECRET:
		return parse_str(x, k->name, v, k->min, k->max, field);
	case K_BOOL:
		if (!json_is_boolean(v))
			return cfg_fail(x, k->name, "expected true or false");
		*(bool *)field = json_is_true(v);
		return 0;
	case K_TRI:
		if (!json_is_boolean(v))
			return cfg_fail(x, k->name, "expected true or false");
		*(int *)field = json_is_true(v) ? 1 : 0;
		return 0;
	case K_U32:
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    (uint64_t)json_integer_value(v) < k->min ||
		    (uint64_t)json_integer_value(v) > k->max)
			return cfg_fail(x, k->name, "expected an integer from %llu to %llu",
					(unsigned long long)k->min, (unsigned long long)k->max);
		*(uint32_t *)field = (uint32_t)json_integer_value(v);
		return 0;
	case K_MS:
		if (parse_ms(v, &u) < 0)
			return cfg_fail(x, k->name, "expected a duration like 10s, 500ms or 5m");
		if (u < k->min || u > k->max)
			return cfg_fail(x, k->name, "must be from %llu ms to %llu ms",
					(unsigned long long)k->min, (unsigned long long)k->max);
		*(uint32_t *)field = (uint32_t)u;
		return 0;
	case K_STRV:
		return parse_strv(x, k->name, v, k->min, k->max, field);
	case K_SEV:
		sev = json_is_string(v) ? nf_sev_parse(json_string_value(v)) : -1;
		if (sev < 0)
			return cfg_fail(x, k->name, "expected informational, low, medium, high or "
					"critical");
		*(int *)field = sev;
		return 0;
	case K_HEADERS:
		return parse_headers(x, k->name, v, field);
	case K_ENUM:
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
			return cfg_fail(x, k->name, "expected one of %s", list);
		}
	}
	return cfg_fail(x, k->name, "unsupported key");
}

/* ---- checks across keys ------------------------------------------------------------ */

static bool valid_address(const char *a)
{
	const char *at = strchr(a, '@');

	if (!at || at == a || !at[1] || strchr(at + 1, '@') || strlen(a) > 254)
		return false;
	for (const char *p = a; *p; p++)
		if ((unsigned char)*p <= ' ' || strchr("<>,;\"()[]\\", *p))
			return false;
	return true;
}

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
		rc = cfg_fail(x, "url", "not a valid URL");
		goto out;
	}
	for (size_t i = 0; schemes[i]; i++)
		if (strcasecmp(scheme, schemes[i]) == 0)
			ok = true;
	if (!ok) {
		rc = cfg_fail(x, "url", "scheme '%.16s' is not %s%s%s", scheme, schemes[0],
			      schemes[1] ? " or " : "", schemes[1] ? schemes[1] : "");
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

static int expand_home(struct nf_cfg_ctx *x, const char *key, char **path)
{
	const char *home = getenv("HOME");
	char buf[PATH_MAX];

	if ((*path)[0] == '~' && (*path)[1] == '/') {
		if (!home || !*home)
			return cfg_fail(x, key, "'~' used but HOME is not set");
		if (vg_path(buf, sizeof(buf), "%s%s", home, *path + 1) < 0)
			return cfg_fail(x, key, "too long");
		vg_free(*path);
		*path = vg_strdup(buf);
		if (!*path)
			return -ENOMEM;
	}
	if ((*path)[0] != '/')
		return cfg_fail(x, key, "must be an absolute path (or start with ~/)");
	return 0;
}

static void set_defaults(struct nf_chan_cfg *c, enum nf_chan_kind t)
{
	memset(c, 0, sizeof(*c));
	c->type = t;
	c->enabled = true;
	snprintf(c->name, sizeof(c->name), "%s", nf_type_name(t));
	switch (t) {
	case NF_CH_LOG:
		c->min_sev = NF_SEV_LOW;
		break;
	case NF_CH_FILE:
		c->min_sev = NF_SEV_INFO;
		break;
	case NF_CH_EMAIL:
	case NF_CH_SESSION:
		c->min_sev = NF_SEV_HIGH;
		break;
	default:
		c->min_sev = NF_SEV_MEDIUM;
		break;
	}
	/* The local record of every alert (log, file) follows its lifecycle and is
	 * never capped; channels that page people are. */
	c->lifecycle = t == NF_CH_LOG || t == NF_CH_FILE;
	c->rate_limit = t == NF_CH_LOG || t == NF_CH_FILE ? 0 : 60;
	c->queue = 256;
	c->max_attempts = 5;
	c->backoff_ms = 1000;
	c->backoff_max_ms = 60000;
	c->timeout_ms = 10000;
	c->connect_timeout_ms = 5000;
	c->starttls = -1;
	c->facility = 1; /* user, as syslog(3) */
	c->max_pending = 5;
	c->max_age_ms = 600000;
}

static void chan_cfg_release(struct nf_chan_cfg *c)
{
	nf_strv_release(&c->rules);
	nf_strv_release(&c->rule_tags);
	nf_strv_release(&c->headers);
	nf_strv_release(&c->tags);
	nf_strv_release(&c->to);
	vg_free(c->url);
	vg_free(c->path);
	vg_free(c->token);
	vg_free(c->dashboard_uid);
	vg_free(c->from);
	vg_free(c->username);
	if (c->password) {
		vg_wipe(c->password, strlen(c->password));
		vg_free(c->password);
	}
	vg_free(c->ident);
	vg_free(c->socket);
	memset(c, 0, sizeof(*c));
}

static int finish_channel(struct nf_cfg_ctx *x, struct nf_chan_cfg *c, const char *state_dir)
{
	static const char *const http_schemes[] = { "http", "https", NULL };
	static const char *const smtp_schemes[] = { "smtp", "smtps", NULL };
	char buf[PATH_MAX];
	int rc;

	switch (c->type) {
	case NF_CH_WEBHOOK:
	case NF_CH_SLACK:
	case NF_CH_TEAMS:
	case NF_CH_GRAFANA:
	case NF_CH_EMAIL:
		if (!c->url)
			return cfg_fail(x, "url", "required");
		rc = check_url(x, c, c->type == NF_CH_EMAIL ? smtp_schemes : http_schemes);
		if (rc < 0)
			return rc;
		break;
	default:
		break;
	}
	switch (c->type) {
	case NF_CH_EMAIL:
		if (!c->from)
			return cfg_fail(x, "from", "required");
		if (!valid_address(c->from))
			return cfg_fail(x, "from", "not an address like vigil@example.com");
		if (c->to.n == 0)
			return cfg_fail(x, "to", "required");
		for (size_t i = 0; i < c->to.n; i++)
			if (!valid_address(c->to.v[i]))
				return cfg_fail(x, "to", "entry %zu is not an address like "
						"sec@example.com", i);
		if (c->password && !c->username)
			return cfg_fail(x, "password", "given without username");
		break;
	case NF_CH_FILE:
		if (!c->path) {
			char dir[PATH_MAX];

			rc = state_dir ? vg_path(dir, sizeof(dir), "%s", state_dir)
				       : vg_state_dir(NULL, dir, sizeof(dir));
			if (rc >= 0)
				rc = vg_path(buf, sizeof(buf), "%s/alerts.jsonl", dir);
			if (rc < 0)
				return cfg_fail(x, "path", "cannot resolve the state directory");
			c->path = vg_strdup(buf);
			if (!c->path)
				return -ENOMEM;
		}
		rc = expand_home(x, "path", &c->path);
		if (rc < 0)
			return rc;
		snprintf(c->target, sizeof(c->target), "%.299s", c->path);
		nf_utf8_fix_tail(c->target);
		break;
	case NF_CH_SYSLOG:
		if (!c->ident && !(c->ident = vg_strdup("vigil")))
			return -ENOMEM;
		for (const char *p = c->ident; *p; p++)
			if (*p == ' ' || *p == ':' || *p == '[' || (unsigned char)*p > 0x7e)
				return cfg_fail(x, "ident", "use printable ASCII without spaces, "
						"':' or '['");
		if (!c->socket && !(c->socket = vg_strdup("/dev/log")))
			return -ENOMEM;
		if (c->socket[0] != '/')
			return cfg_fail(x, "socket", "must be an absolute path");
		snprintf(c->target, sizeof(c->target), "%.299s", c->socket);
		nf_utf8_fix_tail(c->target);
		break;
	case NF_CH_LOG:
	case NF_CH_SESSION:
		snprintf(c->target, sizeof(c->target), "%s", nf_type_name(c->type));
		break;
	default:
		break;
	}
	if (c->backoff_max_ms < c->backoff_ms)
		return cfg_fail(x, "backoff_max", "smaller than backoff");
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
static const char *suggest_key(const char *key, int type)
{
	const char *best = NULL;
	int dist = 3;

	for (size_t i = 0; i < VG_ARRAY_LEN(keys); i++) {
		int d = key_distance(key, keys[i].name);

		if ((keys[i].types & T(type)) && d < dist) {
			dist = d;
			best = keys[i].name;
		}
	}
	return best;
}

static int parse_channel(struct nf_cfg_ctx *x, const json_t *obj, const char *state_dir,
			 struct nf_chan_cfg *c, bool *named)
{
	const json_t *tv, *v;
	const char *key;
	int t = -1, rc;

	if (!json_is_object(obj))
		return cfg_fail(x, NULL, "expected a map with a type");
	tv = json_object_get(obj, "type");
	if (!tv)
		return cfg_fail(x, "type", "required");
	if (json_is_string(tv))
		for (int i = 0; i < NF_CH__COUNT; i++)
			if (strcmp(json_string_value(tv), type_names[i]) == 0)
				t = i;
	if (t < 0)
		return cfg_fail(x, "type", "expected log, file, webhook, slack, teams, email, "
				"syslog, grafana or session");
	x->type = type_names[t];
	set_defaults(c, (enum nf_chan_kind)t);
	*named = false;
	json_object_foreach(nf_json_ro(obj), key, v) {
		const struct nf_key *k = NULL;

		if (strcmp(key, "type") == 0)
			continue;
		for (size_t i = 0; i < VG_ARRAY_LEN(keys); i++)
			if (strcmp(keys[i].name, key) == 0)
				k = &keys[i];
		if (!k) {
			const char *hint = suggest_key(key, t);

			return cfg_fail(x, NULL, "unknown key '%.64s'%s%s%s", key,
					hint ? "; did you mean '" : "", hint ? hint : "",
					hint ? "'?" : "");
		}
		if (!(k->types & T(t)))
			return cfg_fail(x, NULL, "key '%.64s' does not apply to a %s channel", key,
					type_names[t]);
		rc = parse_key(x, k, v, c);
		if (rc < 0)
			return rc;
		if (k->kind == K_NAME)
			*named = true;
	}
	return finish_channel(x, c, state_dir);
}

static int add_default(struct nf_config *cfg, enum nf_chan_kind t, const char *state_dir,
		       char *err, size_t errlen)
{
	struct nf_cfg_ctx x = { err, errlen, cfg->nchans, nf_type_name(t) };
	struct nf_chan_cfg *c = &cfg->chans[cfg->nchans];
	int rc;

	set_defaults(c, t);
	rc = finish_channel(&x, c, state_dir);
	if (rc < 0) {
		chan_cfg_release(c);
		return rc;
	}
	cfg->nchans++;
	return 0;
}

int nf_config_parse(const json_t *alerts, const char *state_dir, struct nf_config *cfg,
		    char *err, size_t errlen)
{
	const json_t *chans = NULL, *v;
	const char *key;
	struct nf_cfg_ctx x = { err, errlen, 0, NULL };
	uint64_t ms;
	size_t i;
	int rc = 0, nsession = 0;

	memset(cfg, 0, sizeof(*cfg));
	cfg->window_ms = 300000;
	if (alerts && !json_is_object(alerts)) {
		snprintf(err, errlen, "alerts: expected a map");
		return -EINVAL;
	}
	if (alerts)
		json_object_foreach(nf_json_ro(alerts), key, v) {
			if (strcmp(key, "window") == 0) {
				if (parse_ms(v, &ms) < 0 || ms > 7 * 24 * MS_H) {
					snprintf(err, errlen, "alerts.window: expected a duration "
						 "like 5m or 300 (at most 7d)");
					return -EINVAL;
				}
				cfg->window_ms = ms;
			} else if (strcmp(key, "channels") == 0) {
				chans = v;
			} else {
				snprintf(err, errlen, "alerts: unknown key '%.64s'", key);
				return -EINVAL;
			}
		}
	if (chans && !json_is_array(chans)) {
		snprintf(err, errlen, "alerts.channels: expected a list of channels");
		return -EINVAL;
	}
	if (chans && json_array_size(chans) > NF_MAX_CHANNELS) {
		snprintf(err, errlen, "alerts.channels: more than %d channels", NF_MAX_CHANNELS);
		return -EINVAL;
	}
	cfg->chans = vg_calloc(chans ? json_array_size(chans) + 1 : 3, sizeof(*cfg->chans));
	if (!cfg->chans)
		return -ENOMEM;
	if (!chans) {
		/* No channels configured: the daemon log, the alert file, and the
		 * session itself for high and critical alerts. */
		if ((rc = add_default(cfg, NF_CH_LOG, state_dir, err, errlen)) < 0 ||
		    (rc = add_default(cfg, NF_CH_FILE, state_dir, err, errlen)) < 0 ||
		    (rc = add_default(cfg, NF_CH_SESSION, state_dir, err, errlen)) < 0)
			goto fail;
		return 0;
	}
	json_array_foreach(chans, i, v) {
		struct nf_chan_cfg *c = &cfg->chans[cfg->nchans];
		bool named;

		x.index = i;
		x.type = NULL;
		rc = parse_channel(&x, v, state_dir, c, &named);
		if (rc < 0) {
			if (rc == -ENOMEM)
				snprintf(err, errlen, "alerts.channels[%zu]: out of memory", i);
			chan_cfg_release(c);
			goto fail;
		}
		if (!c->enabled) {
			chan_cfg_release(c);
			continue;
		}
		for (size_t j = 0; j < cfg->nchans; j++) {
			if (strcmp(cfg->chans[j].name, c->name) != 0)
				continue;
			if (named) {
				rc = cfg_fail(&x, "name", "'%s' is used by another channel", c->name);
				chan_cfg_release(c);
				goto fail;
			}
			snprintf(c->name, sizeof(c->name), "%s-%zu", nf_type_name(c->type), i);
		}
		if (c->type == NF_CH_SESSION && ++nsession > 1) {
			rc = cfg_fail(&x, NULL, "only one session channel is allowed");
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
