/*
 * config.c - finding, reading, validating and expanding vigil.yaml (see
 * config.h).  The diagnostics it reports are collected and printed by
 * config_diag.c.
 *
 * The schema is the table of `struct ckey` below: one row per key with its
 * type, range and default.  Validation walks the parsed tree against it and
 * keeps going after an error, so one run reports every mistake with the line
 * and column src/yaml recorded.  Locations are always asked through the
 * container (yj_member, yj_element), which stays valid while values are
 * replaced: expansion and normalization swap in new json values, and the
 * true/false/null singletons have no location of their own.
 *
 * The alerts section belongs to src/notify: here it gets its secret
 * references and paths expanded, then notify_check_config() judges its keys
 * (config_alerts.c reports those errors at the channel's line).
 */
#include "config.h"
#include "config_int.h"

#include "common.h"
#include "rules.h"
#include "yj.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- finding the file ----------------------------------------------------------- */

/* 0: exists; 1: does not (ENOENT/ENOTDIR); -errno: cannot tell. */
static int probe(const char *path)
{
	struct stat st;

	if (stat(path, &st) == 0)
		return 0;
	if (errno == ENOENT || errno == ENOTDIR)
		return 1;
	return -errno;
}

int config_find(const char *explicit_path, char *out, size_t cap, bool *required)
{
	const char *env = getenv("VIGIL_CONFIG");
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	char user[4200];
	int rc;

	*required = false;
	if (cap)
		out[0] = '\0';
	if (explicit_path || (env && *env)) {
		*required = true;
		return vg_path(out, cap, "%s", explicit_path ? explicit_path : env);
	}
	user[0] = '\0';
	/* The XDG spec: a relative XDG_CONFIG_HOME is invalid and ignored. */
	if (xdg && xdg[0] == '/')
		rc = vg_path(user, sizeof(user), "%s/vigil/%s", xdg, CONFIG_FILE_NAME);
	else if (home && home[0] == '/')
		rc = vg_path(user, sizeof(user), "%s/.config/vigil/%s", home, CONFIG_FILE_NAME);
	else
		rc = 0;
	if (rc < 0)
		return rc;
	if (user[0]) {
		rc = probe(user);
		if (rc <= 0) {
			if (rc == 0 && vg_path(out, cap, "%s", user) < 0)
				return -ENAMETOOLONG;
			return rc;
		}
	}
	rc = probe(CONFIG_SYSTEM_PATH);
	if (rc <= 0) {
		if (rc == 0 && vg_path(out, cap, "%s", CONFIG_SYSTEM_PATH) < 0)
			return -ENAMETOOLONG;
		return rc;
	}
	return 1;
}

/* ---- the schema -------------------------------------------------------------------- */

enum ktype {
	K_SECTION,   /* a map of the keys in sub */
	K_BOOL,	     /* true / false */
	K_INT,	     /* an integer in [min, max] */
	K_SIZE,	     /* bytes: an integer or "64K", "16M" */
	K_DURATION,  /* seconds: an integer or "30s", "5m", "2h", "1d"; stored as seconds */
	K_TIMESPAN,  /* like K_DURATION but kept as text for the rules engine ("90s") */
	K_ENUM,	     /* one of choices */
	K_NAME,	     /* a user name: [A-Za-z_][A-Za-z0-9_.-]*, at most 32 bytes */
	K_PATH,	     /* a path: ~ expanded, relative to the config file's directory */
	K_PATH_LIST, /* a list of K_PATH */
	K_OVERRIDES, /* rule id or name -> map of override_keys */
	K_ALERTS,    /* judged by notify_check_config(); here only shape and expansion */
};

struct ckey {
	const char *name;
	enum ktype type;
	int64_t min, max;
	const struct ckey *sub; /* K_SECTION, K_OVERRIDES: keys of each map; NULL-name ended */
	const char *const *choices;
	/* the default, filled when the key is absent (has_def) */
	bool has_def;
	int64_t def;
};

static const char *const levels[] = { "informational", "low", "medium", "high", "critical", NULL };
static const char *const actions[] = { "alert", "ask", "block", NULL };
/* decisions.unparseable; the default (index 0) is deny. */
const char *const cfg_unparseable_policies[] = { "deny", "ask", "allow", NULL };

static const struct ckey override_keys[] = {
	{ .name = "disabled", .type = K_BOOL },
	{ .name = "level", .type = K_ENUM, .choices = levels },
	{ .name = "action", .type = K_ENUM, .choices = actions },
	{ .name = "threshold", .type = K_INT, .min = 0, .max = RULES_MAX_THRESHOLD },
	{ .name = "timespan", .type = K_TIMESPAN, .min = 1, .max = 366 * 86400 },
	{ 0 },
};

static const struct ckey rules_keys[] = {
	{ .name = "default_pack", .type = K_BOOL, .has_def = true, .def = 1 },
	{ .name = "paths", .type = K_PATH_LIST, .max = CONFIG_MAX_LIST },
	{ .name = "overrides", .type = K_OVERRIDES, .sub = override_keys },
	{ .name = "regex_match_limit",
	  .type = K_INT,
	  .min = 1000,
	  .max = 100000000,
	  .has_def = true,
	  .def = CONFIG_DEF_REGEX_MATCH_LIMIT },
	{ 0 },
};

static const struct ckey decisions_keys[] = {
	{ .name = "timeout_ms",
	  .type = K_INT,
	  .min = 10,
	  .max = 60000,
	  .has_def = true,
	  .def = CONFIG_DEF_TIMEOUT_MS },
	/* A blocking hook's payload vigil cannot parse (docs/config.md). */
	{ .name = "unparseable",
	  .type = K_ENUM,
	  .choices = cfg_unparseable_policies,
	  .has_def = true,
	  .def = 0 },
	{ 0 },
};

static const struct ckey daemon_keys[] = {
	{ .name = "workers", .type = K_INT, .min = 0, .max = 64, .has_def = true, .def = 0 },
	{ .name = "max_string",
	  .type = K_SIZE,
	  .min = 16,
	  .max = 1 << 24,
	  .has_def = true,
	  .def = CONFIG_DEF_MAX_STRING },
	{ .name = "abandon_after",
	  .type = K_DURATION,
	  .min = 1,
	  .max = 7 * 86400,
	  .has_def = true,
	  .def = CONFIG_DEF_ABANDON_S },
	{ .name = "client_timeout",
	  .type = K_DURATION,
	  .min = 1,
	  .max = 3600,
	  .has_def = true,
	  .def = CONFIG_DEF_CLIENT_TIMEOUT_S },
	{ .name = "state_dir", .type = K_PATH },
	{ .name = "user", .type = K_NAME },
	{ 0 },
};

static const struct ckey top_keys[] = {
	{ .name = "rules", .type = K_SECTION, .sub = rules_keys },
	{ .name = "decisions", .type = K_SECTION, .sub = decisions_keys },
	{ .name = "alerts", .type = K_ALERTS },
	{ .name = "daemon", .type = K_SECTION, .sub = daemon_keys },
	{ 0 },
};

/* ---- the load ------------------------------------------------------------------------ */

struct config {
	json_t *tree;
	char path[4096];
	struct yj_doc *doc; /* kept for locations (overrides, alerts) */
};

struct load {
	struct config_diags *d;
	const struct yj_doc *doc;
	char dir[4096]; /* relative paths are relative to this */
};

struct where {
	int line, col;
};

static struct where member_where(const struct load *ld, const json_t *obj, const char *key,
				 bool of_key)
{
	struct yj_loc l;
	struct where w = { 0, 0 };

	if (ld->doc && obj && yj_member(ld->doc, obj, key, &l) == 0) {
		w.line = of_key ? l.key_line : l.line;
		w.col = of_key ? l.key_col : l.col;
	}
	return w;
}

static struct where element_where(const struct load *ld, const json_t *arr, size_t i)
{
	struct yj_loc l;
	struct where w = { 0, 0 };

	if (ld->doc && arr && yj_element(ld->doc, arr, i, &l) == 0) {
		w.line = l.line;
		w.col = l.col;
	}
	return w;
}

static void err_at(struct load *ld, struct where w, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void err_at(struct load *ld, struct where w, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cfg_diag_v(ld->d, false, w.line, w.col, fmt, ap);
	va_end(ap);
}

static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "a map";
	case JSON_ARRAY:
		return "a list";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	case JSON_NULL:
		return "nothing";
	}
	return "a value";
}

static void unknown_key(struct load *ld, const json_t *obj, const char *key, const char *path,
			const struct ckey *keys)
{
	const char *names[32], *hint;
	size_t n = 0;
	char list[512];
	size_t off = 0;

	for (const struct ckey *k = keys; k->name && n < VG_ARRAY_LEN(names); k++) {
		names[n++] = k->name;
		off += (size_t)snprintf(list + off, off < sizeof(list) ? sizeof(list) - off : 0,
					"%s%s", off ? ", " : "", k->name);
	}
	hint = cfg_suggest(key, names, n);
	if (hint)
		err_at(ld, member_where(ld, obj, key, true),
		       "unknown key '%s%s%s'; did you mean '%s'?", path, *path ? "." : "", key,
		       hint);
	else
		err_at(ld, member_where(ld, obj, key, true), "unknown key '%s%s%s' (known: %s)",
		       path, *path ? "." : "", key, list);
}

/* ---- secret references and paths ------------------------------------------------------ */

/*
 * Expands ${env:NAME} and ${file:PATH} in s into out; "$${" is a literal
 * "${".  0, or -1 with a reason in err (naming the reference, never a value).
 */
static int expand_refs(const struct load *ld, const char *s, size_t len, struct vbuf *out,
		       char *err, size_t errcap)
{
	size_t i = 0;

	while (i < len) {
		const char *end, *ref;
		char spec[4200], *secret = NULL, why[512];
		size_t slen = 0, rlen;
		int rc;

		if (s[i] == '$' && i + 2 < len && s[i + 1] == '$' && s[i + 2] == '{') {
			if (vbuf_append(out, "${", 2) < 0)
				goto too_long;
			i += 3;
			continue;
		}
		if (!(s[i] == '$' && i + 1 < len && s[i + 1] == '{')) {
			if (vbuf_append(out, s + i, 1) < 0)
				goto too_long;
			i++;
			continue;
		}
		ref = s + i + 2;
		end = memchr(ref, '}', len - i - 2);
		if (!end) {
			snprintf(err, errcap, "unterminated '${' (write '$${' for a literal '${')");
			return -1;
		}
		rlen = (size_t)(end - ref);
		if (rlen > 4 && !memcmp(ref, "env:", 4)) {
			for (size_t k = 4; k < rlen; k++) {
				char c = ref[k];

				if (!(c == '_' || (c >= 'A' && c <= 'Z') ||
				      (c >= 'a' && c <= 'z') || (k > 4 && c >= '0' && c <= '9'))) {
					snprintf(err, errcap,
						 "'${%.*s}': an environment variable name has only "
						 "letters, digits and '_'",
						 (int)(rlen > 200 ? 200 : rlen), ref);
					return -1;
				}
			}
			if (vg_path(spec, sizeof(spec), "env:%.*s", (int)(rlen - 4), ref + 4) < 0)
				goto too_long;
		} else if (rlen > 5 && !memcmp(ref, "file:", 5)) {
			char p[4096], raw[4096];

			if (rlen - 5 >= sizeof(raw))
				goto too_long;
			memcpy(raw, ref + 5, rlen - 5);
			raw[rlen - 5] = '\0';
			if (cfg_expand_path(ld->dir, raw, p, sizeof(p), why, sizeof(why)) < 0) {
				(void)vg_path(err, errcap, "'${file:%s}': %s", raw, why);
				return -1;
			}
			if (vg_path(spec, sizeof(spec), "file:%s", p) < 0)
				goto too_long;
		} else {
			snprintf(err, errcap,
				 "unknown reference '${%.*s}': use ${env:NAME} or ${file:PATH} "
				 "(write '$${' for a literal '${')",
				 (int)(rlen > 200 ? 200 : rlen), ref);
			return -1;
		}
		rc = vg_secret_load(spec, &secret, &slen, why, sizeof(why));
		if (rc < 0) {
			snprintf(err, errcap, "%s", why);
			return -1;
		}
		rc = vbuf_append(out, secret, slen);
		vg_secret_free(secret, slen);
		if (rc < 0)
			goto too_long;
		i = (size_t)(end - s) + 1;
	}
	return 0;
too_long:
	snprintf(err, errcap, "longer than %u bytes once expanded", CONFIG_MAX_STRING);
	return -1;
}

int cfg_expand_path(const char *dir, const char *in, char *out, size_t cap, char *err,
		    size_t errcap)
{
	const char *home = getenv("HOME");

	if (!*in) {
		snprintf(err, errcap, "an empty path");
		return -EINVAL;
	}
	if (in[0] == '~') {
		if (in[1] && in[1] != '/') {
			snprintf(err, errcap,
				 "'~user' paths are not supported; write the full path");
			return -EINVAL;
		}
		if (!home || home[0] != '/') {
			snprintf(err, errcap, "'~' needs HOME set to an absolute path");
			return -EINVAL;
		}
		if (vg_path(out, cap, "%s%s", home, in + 1) < 0)
			goto too_long;
		return 0;
	}
	if (in[0] == '/' || !dir || !*dir) {
		if (vg_path(out, cap, "%s", in) < 0)
			goto too_long;
		return 0;
	}
	if (vg_path(out, cap, "%s/%s", dir, in) < 0)
		goto too_long;
	return 0;
too_long:
	snprintf(err, errcap, "path longer than %zu bytes", cap - 1);
	return -ENAMETOOLONG;
}

/*
 * Expands the references of every string under node (recursively), at most
 * CONFIG_MAX_DEPTH deep, replacing the strings that had any.  File names
 * (is_path_value()) also get ~ and relative-path expansion.  path is the key
 * path for messages ("alerts.channels[1].url").
 */
static int expand_node(struct load *ld, json_t *parent, const char *key, size_t idx, json_t *node,
		       const char *path, int depth);

static int expand_string(struct load *ld, json_t *parent, const char *key, size_t idx, json_t *node,
			 const char *path, bool is_path)
{
	const char *s = json_string_value(node);
	size_t len = json_string_length(node);
	struct where w =
		key ? member_where(ld, parent, key, false) : element_where(ld, parent, idx);
	char err[1024], p[4096];
	struct vbuf b;
	json_t *nv;
	int rc;

	/* Nothing to do: no reference, and not a path that needs ~ or a directory. */
	if (!memchr(s, '$', len) && !(is_path && s[0] != '/'))
		return 0;
	vbuf_init(&b, CONFIG_MAX_STRING);
	if (expand_refs(ld, s, len, &b, err, sizeof(err)) < 0) {
		err_at(ld, w, "%s: %s", path, err);
		rc = 0;
		goto out;
	}
	if (is_path) {
		if (cfg_expand_path(ld->dir, b.data ? (const char *)b.data : "", p, sizeof(p), err,
				    sizeof(err)) < 0) {
			err_at(ld, w, "%s: %s", path, err);
			rc = 0;
			goto out;
		}
		nv = json_string(p);
	} else {
		nv = json_stringn(b.data ? (const char *)b.data : "", b.len);
	}
	if (!nv) {
		/* not UTF-8 (a binary secret file) or no memory */
		err_at(ld, w, "%s: the expanded value is not valid UTF-8 text", path);
		rc = 0;
		goto out;
	}
	rc = key ? json_object_set_new(parent, key, nv) : json_array_set_new(parent, idx, nv);
	rc = rc < 0 ? -ENOMEM : 0;
out:
	if (b.data)
		vg_wipe(b.data, b.cap);
	vbuf_release(&b);
	return rc;
}

/* Whether path (e.g. "rules.paths[2]") is prefix, an index, then tail. */
static bool indexed(const char *path, const char *prefix, const char *tail)
{
	size_t n = strlen(prefix);
	const char *rb;

	if (strncmp(path, prefix, n))
		return false;
	rb = strchr(path + n, ']');
	return rb && !strcmp(rb + 1, tail);
}

/* Whether the string at path is a file name: rules.paths[N], daemon.state_dir
 * and alerts.channels[N].path (the file channel's). */
static bool is_path_value(const char *path)
{
	return indexed(path, "rules.paths[", "") || indexed(path, "alerts.channels[", ".path") ||
	       !strcmp(path, "daemon.state_dir");
}

static int expand_node(struct load *ld, json_t *parent, const char *key, size_t idx, json_t *node,
		       const char *path, int depth)
{
	char sub[512];
	int rc = 0;

	if (depth > CONFIG_MAX_DEPTH) {
		struct where w =
			key ? member_where(ld, parent, key, false) : element_where(ld, parent, idx);

		err_at(ld, w, "%s: nested more than %d levels deep", path, CONFIG_MAX_DEPTH);
		return 0;
	}
	if (json_is_string(node))
		return expand_string(ld, parent, key, idx, node, path, is_path_value(path));
	if (json_is_object(node)) {
		const char *k;
		json_t *v;
		void *it;

		/* json_object_set_new on the current key keeps iteration valid. */
		for (it = json_object_iter(node); it && rc == 0;
		     it = json_object_iter_next(node, it)) {
			k = json_object_iter_key(it);
			v = json_object_iter_value(it);
			(void)vg_path(sub, sizeof(sub), "%s%s%s", path, *path ? "." : "", k);
			rc = expand_node(ld, node, k, 0, v, sub, depth + 1);
		}
	} else if (json_is_array(node)) {
		size_t n = json_array_size(node);

		if (n > CONFIG_MAX_LIST) {
			struct where w = key ? member_where(ld, parent, key, false)
					     : element_where(ld, parent, idx);

			err_at(ld, w, "%s: a list of %zu entries (at most %d)", path, n,
			       CONFIG_MAX_LIST);
			return 0;
		}
		for (size_t i = 0; i < n && rc == 0; i++) {
			(void)vg_path(sub, sizeof(sub), "%s[%zu]", path, i);
			rc = expand_node(ld, node, NULL, i, json_array_get(node, i), sub,
					 depth + 1);
		}
	}
	return rc;
}

/* ---- validation against the schema ----------------------------------------------------- */

static int check_keys(struct load *ld, json_t *obj, const struct ckey *keys, const char *path);

bool cfg_in_choices(const char *s, const char *const *choices)
{
	for (size_t i = 0; choices[i]; i++)
		if (!strcmp(s, choices[i]))
			return true;
	return false;
}

static void choices_text(const char *const *choices, char *out, size_t cap)
{
	size_t off = 0;

	out[0] = '\0';
	for (size_t i = 0; choices[i] && off < cap; i++)
		off += (size_t)snprintf(out + off, cap - off, "%s%s", i ? ", " : "", choices[i]);
}

/* A number of seconds from an integer or a duration string; -1 with a message on error. */
static int get_seconds(struct load *ld, struct where w, const char *path, const json_t *v,
		       const struct ckey *k, uint64_t *out)
{
	uint64_t s = 0;

	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		s = (uint64_t)json_integer_value(v);
	} else if (!json_is_string(v) || vg_parse_duration(json_string_value(v), &s) < 0) {
		err_at(ld, w, "%s: expected a duration such as 30s, 5m, 2h or 1d, found %s", path,
		       json_is_string(v) ? "an unknown form" : type_name(v));
		return -1;
	}
	if ((int64_t)s < k->min || (int64_t)s > k->max) {
		err_at(ld, w,
		       "%s: %" PRIu64 " seconds is out of range (%" PRId64 "s to %" PRId64 "s)",
		       path, s, k->min, k->max);
		return -1;
	}
	*out = s;
	return 0;
}

/*
 * A string value as it may appear in a message: never what a ${...}
 * reference expanded to (it may be a secret), only what the file says.
 */
static const char *shown(const struct load *ld, const json_t *obj, const char *key, const json_t *v)
{
	struct yj_loc l;

	if (ld->doc && yj_member(ld->doc, obj, key, &l) == 0 && l.text && !strstr(l.text, "${"))
		return json_string_value(v);
	return "(the value of a reference)";
}

/* One member under check: obj's key, whose value v is checked against k. */
struct check {
	struct load *ld;
	json_t *obj, *v;
	const char *key, *path;
	const struct ckey *k;
	struct where w; /* the value's location */
};

static void check_bool(const struct check *c)
{
	bool str = json_is_string(c->v);

	if (!json_is_boolean(c->v))
		err_at(c->ld, c->w, "%s: expected true or false, found %s%s%s%s", c->path,
		       type_name(c->v), str ? " '" : "",
		       str ? shown(c->ld, c->obj, c->key, c->v) : "", str ? "'" : "");
}

static void check_int(const struct check *c)
{
	json_int_t n = json_integer_value(c->v);

	if (!json_is_integer(c->v))
		err_at(c->ld, c->w, "%s: expected an integer, found %s", c->path, type_name(c->v));
	else if (n < c->k->min || n > c->k->max)
		err_at(c->ld, c->w,
		       "%s: %" JSON_INTEGER_FORMAT " is out of range (%" PRId64 " to %" PRId64 ")",
		       c->path, n, c->k->min, c->k->max);
}

/* A size in bytes, normalized to an integer; NULL after an error. */
static json_t *size_value(const struct check *c)
{
	uint64_t u;

	if (json_is_integer(c->v) && json_integer_value(c->v) >= 0) {
		u = (uint64_t)json_integer_value(c->v);
	} else if (!json_is_string(c->v) || vg_parse_size(json_string_value(c->v), &u) < 0) {
		err_at(c->ld, c->w, "%s: expected a size such as 2000, 64K or 16M, found %s",
		       c->path, json_is_string(c->v) ? "an unknown form" : type_name(c->v));
		return NULL;
	}
	if ((int64_t)u < c->k->min || (int64_t)u > c->k->max) {
		err_at(c->ld, c->w,
		       "%s: %" PRIu64 " bytes is out of range (%" PRId64 " to %" PRId64 ")",
		       c->path, u, c->k->min, c->k->max);
		return NULL;
	}
	return json_integer((json_int_t)u);
}

/* A duration, normalized to an integer number of seconds; NULL after an error. */
static json_t *duration_value(const struct check *c)
{
	uint64_t u;

	if (get_seconds(c->ld, c->w, c->path, c->v, c->k, &u) < 0)
		return NULL;
	return json_integer((json_int_t)u);
}

/* A timespan for the rules engine: an integer becomes "<n>s", a string
 * stays as written (NULL: nothing to replace, or an error). */
static json_t *timespan_value(const struct check *c)
{
	char buf[32];
	uint64_t u;

	if (get_seconds(c->ld, c->w, c->path, c->v, c->k, &u) < 0 || !json_is_integer(c->v))
		return NULL;
	snprintf(buf, sizeof(buf), "%" PRIu64 "s", u);
	return json_string(buf);
}

static void check_enum(const struct check *c)
{
	char buf[256];

	if (json_is_string(c->v) && cfg_in_choices(json_string_value(c->v), c->k->choices))
		return;
	choices_text(c->k->choices, buf, sizeof(buf));
	if (json_is_string(c->v))
		err_at(c->ld, c->w, "%s: '%s' is not one of %s", c->path,
		       shown(c->ld, c->obj, c->key, c->v), buf);
	else
		err_at(c->ld, c->w, "%s: expected one of %s, found %s", c->path, buf,
		       type_name(c->v));
}

/* A user name as useradd takes it (and no more: it is looked up, never
 * used as a path or a command). */
static void check_name(const struct check *c)
{
	const char *n = json_string_value(c->v);
	size_t len = n ? strlen(n) : 0;
	bool ok = len > 0 && len <= 32 && n[0] != '-' && n[0] != '.' &&
		  !(n[0] >= '0' && n[0] <= '9');

	for (size_t i = 0; ok && i < len; i++)
		ok = (n[i] >= 'a' && n[i] <= 'z') || (n[i] >= 'A' && n[i] <= 'Z') ||
		     (n[i] >= '0' && n[i] <= '9') || n[i] == '_' || n[i] == '-' || n[i] == '.';
	if (ok)
		return;
	if (json_is_string(c->v))
		err_at(c->ld, c->w, "%s: '%s' is not a user name", c->path,
		       shown(c->ld, c->obj, c->key, c->v));
	else
		err_at(c->ld, c->w, "%s: expected a user name, found %s", c->path,
		       type_name(c->v));
}

static void check_path_list(const struct check *c)
{
	if (!json_is_array(c->v)) {
		err_at(c->ld, c->w, "%s: expected a list of paths, found %s", c->path,
		       type_name(c->v));
		return;
	}
	for (size_t i = 0; i < json_array_size(c->v); i++) {
		const json_t *e = json_array_get(c->v, i);

		if (!json_is_string(e))
			err_at(c->ld, element_where(c->ld, c->v, i),
			       "%s[%zu]: expected a path, found %s", c->path, i, type_name(e));
	}
}

/* rules.overrides: each rule id or name maps to a section of override_keys. */
static int check_overrides(const struct check *c)
{
	const char *rk;
	json_t *rv;

	if (!json_is_object(c->v)) {
		err_at(c->ld, c->w, "%s: expected a map from rule id or name to settings, found %s",
		       c->path, type_name(c->v));
		return 0;
	}
	if (json_object_size(c->v) > CONFIG_MAX_OVERRIDES) {
		err_at(c->ld, c->w, "%s: %zu entries (at most %d)", c->path, json_object_size(c->v),
		       CONFIG_MAX_OVERRIDES);
		return 0;
	}
	json_object_foreach(c->v, rk, rv) {
		char sub[512];
		int rc;

		(void)vg_path(sub, sizeof(sub), "%s.%s", c->path, rk);
		if (!json_is_object(rv)) {
			err_at(c->ld, member_where(c->ld, c->v, rk, false),
			       "%s: expected a map such as {disabled: true} or {level: high}, "
			       "found %s",
			       sub, type_name(rv));
			continue;
		}
		if ((rc = check_keys(c->ld, rv, c->k->sub, sub)) < 0)
			return rc;
	}
	return 0;
}

/* Checks member key (value v) of obj against k; may replace the value
 * (normalized).  Errors in the file go to ld's diagnostics; -ENOMEM. */
static int check_value(struct load *ld, json_t *obj, const char *key, json_t *v,
		       const struct ckey *k, const char *path)
{
	struct check c = { .ld = ld,
			   .obj = obj,
			   .v = v,
			   .key = key,
			   .path = path,
			   .k = k,
			   .w = member_where(ld, obj, key, false) };
	json_t *nv = NULL;

	switch (k->type) {
	case K_SECTION:
		if (!json_is_object(v)) {
			err_at(ld, c.w, "%s: expected a map of settings, found %s", path,
			       type_name(v));
			return 0;
		}
		return check_keys(ld, v, k->sub, path);
	case K_BOOL:
		check_bool(&c);
		return 0;
	case K_INT:
		check_int(&c);
		return 0;
	case K_SIZE:
		nv = size_value(&c);
		break;
	case K_DURATION:
		nv = duration_value(&c);
		break;
	case K_TIMESPAN:
		nv = timespan_value(&c);
		break;
	case K_ENUM:
		check_enum(&c);
		return 0;
	case K_NAME:
		check_name(&c);
		return 0;
	case K_PATH:
		/* expansion already made it absolute */
		if (!json_is_string(v))
			err_at(ld, c.w, "%s: expected a path, found %s", path, type_name(v));
		return 0;
	case K_PATH_LIST:
		check_path_list(&c);
		return 0;
	case K_OVERRIDES:
		return check_overrides(&c);
	case K_ALERTS:
		if (!json_is_object(v))
			err_at(ld, c.w, "%s: expected a map (window, channels), found %s", path,
			       type_name(v));
		return 0;
	}
	if (nv && json_object_set_new(obj, key, nv) < 0)
		return -ENOMEM;
	return 0;
}

static json_t *default_value(const struct ckey *k)
{
	switch (k->type) {
	case K_BOOL:
		return json_boolean(k->def);
	case K_INT:
	case K_SIZE:
	case K_DURATION:
		return json_integer(k->def);
	case K_SECTION:
	case K_OVERRIDES:
		return json_object();
	case K_PATH_LIST:
		return json_array();
	case K_ENUM:
		return json_string(k->choices[k->def]);
	default:
		return NULL;
	}
}

/* Fills the defaults of a section (recursively) into obj. */
static int fill_defaults(json_t *obj, const struct ckey *keys)
{
	for (const struct ckey *k = keys; k->name; k++) {
		json_t *v = json_object_get(obj, k->name), *nv;

		if (!v) {
			if (!k->has_def && k->type != K_SECTION && k->type != K_PATH_LIST &&
			    k->type != K_OVERRIDES)
				continue;
			nv = default_value(k);
			if (!nv || json_object_set_new(obj, k->name, nv) < 0)
				return -ENOMEM;
			v = nv;
		}
		if (k->type == K_SECTION && json_is_object(v)) {
			int rc = fill_defaults(v, k->sub);

			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

static int check_keys(struct load *ld, json_t *obj, const struct ckey *keys, const char *path)
{
	const char *key;
	json_t *v;
	void *it;
	int rc;

	/* Null values ("key:" with nothing after it) mean the default: drop them
	 * first, so the walk below never sees them. */
	for (it = json_object_iter(obj); it;) {
		void *next = json_object_iter_next(obj, it);

		if (json_is_null(json_object_iter_value(it)))
			json_object_del(obj, json_object_iter_key(it));
		it = next;
	}
	for (it = json_object_iter(obj); it; it = json_object_iter_next(obj, it)) {
		const struct ckey *k;
		char sub[512];

		key = json_object_iter_key(it);
		v = json_object_iter_value(it);
		for (k = keys; k->name && strcmp(k->name, key); k++)
			;
		if (!k->name) {
			unknown_key(ld, obj, key, path, keys);
			continue;
		}
		(void)vg_path(sub, sizeof(sub), "%s%s%s", path, *path ? "." : "", key);
		if ((rc = check_value(ld, obj, key, v, k, sub)) < 0)
			return rc;
	}
	return 0;
}

static int load_tree(struct load *ld, json_t *root)
{
	int rc;

	if ((rc = expand_node(ld, NULL, NULL, 0, root, "", 0)) < 0)
		return rc;
	if ((rc = check_keys(ld, root, top_keys, "")) < 0)
		return rc;
	return fill_defaults(root, top_keys);
}

static void dir_of(const char *path, char *out, size_t cap)
{
	const char *slash = strrchr(path, '/');
	char cwd[PATH_MAX];

	if (slash == path) {
		vg_path(out, cap, "/");
	} else if (slash) {
		if (path[0] == '/' || !getcwd(cwd, sizeof(cwd)))
			vg_path(out, cap, "%.*s", (int)(slash - path), path);
		else
			vg_path(out, cap, "%s/%.*s", cwd, (int)(slash - path), path);
	} else if (getcwd(cwd, sizeof(cwd))) {
		vg_path(out, cap, "%s", cwd);
	} else if (cap) {
		out[0] = '\0';
	}
}

/* Parses "file:LINE:COL: reason" from src/yaml into a located diagnostic. */
static void yaml_error(struct config_diags *d, const char *file, const char *err)
{
	size_t fl = strlen(file);
	int line = 0, col = 0, used = 0;

	if (!strncmp(err, file, fl) && err[fl] == ':') {
		err += fl + 1;
		if (sscanf(err, "%d:%d: %n", &line, &col, &used) == 2 && used > 0)
			err += used;
		else if (*err == ' ')
			err++;
	}
	cfg_diag(d, false, line, col, "%s", err);
}

int config_load_text(const char *name, const char *text, size_t len, struct config **out,
		     struct config_diags *d)
{
	struct yj_limits lim = { .max_input = CONFIG_MAX_BYTES,
				 .max_depth = CONFIG_MAX_DEPTH + 1,
				 .max_scalar = CONFIG_MAX_STRING };
	struct load ld = { .d = d };
	struct config *c = NULL;
	size_t errors_before = d->errors;
	char err[1024];
	json_t *root;
	int rc;

	*out = NULL;
	if (!d->file[0])
		vg_path(d->file, sizeof(d->file), "%s", name);
	c = vg_calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	vg_path(c->path, sizeof(c->path), "%s", name);
	if (len > CONFIG_MAX_BYTES) {
		cfg_diag(d, false, 0, 0, "larger than %u bytes", CONFIG_MAX_BYTES);
		rc = -EFBIG;
		goto out;
	}
	rc = yj_parse(text, len, name, &lim, &c->doc, err, sizeof(err));
	if (rc == -ENOMEM)
		goto out;
	if (rc < 0) {
		yaml_error(d, name, err);
		rc = -EINVAL;
		goto out;
	}
	if (yj_count(c->doc) > 1) {
		int line = 0, col = 0;

		yj_doc_where(c->doc, 1, &line, &col);
		cfg_diag(d, false, line, col, "a second YAML document: the config is one document");
		rc = -EINVAL;
		goto out;
	}
	root = yj_count(c->doc) ? yj_root(c->doc, 0) : NULL;
	if (root && !json_is_null(root) && !json_is_object(root)) {
		int line = 0, col = 0;

		yj_doc_where(c->doc, 0, &line, &col);
		cfg_diag(d, false, line, col,
			 "expected a map of sections (rules, decisions, alerts, daemon), found %s",
			 type_name(root));
		rc = -EINVAL;
		goto out;
	}
	/* The tree is the doc's own (locations stay valid while we edit it). */
	c->tree = json_is_object(root) ? json_incref(root) : json_object();
	if (!c->tree) {
		rc = -ENOMEM;
		goto out;
	}
	ld.doc = c->doc;
	dir_of(name, ld.dir, sizeof(ld.dir));
	rc = load_tree(&ld, c->tree);
	/* The notifier judges the alerts section (once it has the right shape). */
	if (rc == 0 && json_is_object(json_object_get(c->tree, "alerts")))
		rc = cfg_check_alerts(c, d);
	if (rc > 0)
		rc = 0;
	if (rc == 0 && d->errors > errors_before)
		rc = -EINVAL;
out:
	if (rc < 0) {
		config_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

int config_load(const char *explicit_path, struct config **out, struct config_diags *d)
{
	char path[4096];
	bool required;
	char *text = NULL;
	size_t len = 0;
	int rc;

	*out = NULL;
	rc = config_find(explicit_path, path, sizeof(path), &required);
	if (rc == 1) {
		/* No file: the defaults. */
		struct config *c = vg_calloc(1, sizeof(*c));

		if (!c || !(c->tree = json_object()) || fill_defaults(c->tree, top_keys) < 0) {
			config_free(c);
			return -ENOMEM;
		}
		*out = c;
		return 0;
	}
	if (rc < 0) {
		vg_path(d->file, sizeof(d->file), "%s", path[0] ? path : CONFIG_FILE_NAME);
		cfg_diag(d, false, 0, 0, "cannot examine the config file: %s", strerror(-rc));
		return rc;
	}
	vg_path(d->file, sizeof(d->file), "%s", path);
	if (!path[0]) {
		cfg_diag(d, false, 0, 0, "an empty config file name");
		return -EINVAL;
	}
	rc = vg_read_file(path, CONFIG_MAX_BYTES, &text, &len);
	if (rc == -EFBIG) {
		cfg_diag(d, false, 0, 0, "the config file is larger than %u bytes",
			 CONFIG_MAX_BYTES);
		return rc;
	}
	if (rc < 0) {
		cfg_diag(d, false, 0, 0, "cannot read the config file: %s%s", strerror(-rc),
			 rc == -ENOENT && required && !explicit_path ? " (named by VIGIL_CONFIG)"
								     : "");
		return rc;
	}
	rc = config_load_text(path, text, len, out, d);
	vg_free(text);
	return rc;
}

void config_free(struct config *c)
{
	if (!c)
		return;
	json_decref(c->tree);
	yj_free(c->doc);
	vg_free(c);
}

const json_t *config_tree(const struct config *c)
{
	return c ? c->tree : NULL;
}

json_t *config_tree_ref(const struct config *c)
{
	return c ? json_incref(c->tree) : NULL;
}

const char *config_path(const struct config *c)
{
	return c ? c->path : "";
}

const struct yj_doc *cfg_doc(const struct config *c)
{
	return c ? c->doc : NULL;
}
