/*
 * config.h - vigil.yaml, the one configuration file of vigild and of the
 * commands that must see what the daemon sees (`vigil rules ...`).
 *
 * Loading finds the file (config_find()), parses it with src/yaml (so every
 * value keeps its line and column), checks every key against the schema in
 * config.c (type, range, unknown keys with a "did you mean" suggestion: a
 * typo in a security setting must not pass silently), expands secret
 * references `${env:NAME}` / `${file:PATH}` in string values, expands `~`
 * and makes relative paths absolute (relative to the file's directory), and
 * fills in every default.  The result is a plain jansson tree that the
 * daemon can keep (json_incref) after the config object is gone; the typed
 * accessors below read that tree and accept NULL for "no file: defaults".
 *
 * The tree holds expanded secrets (webhook URLs, tokens, passwords): never
 * print or log it, or any string of it, whole.
 *
 * Errors: every problem found is collected (loading does not stop at the
 * first) as `file:line:column: reason`; reasons name the key, never the
 * value of a secret.
 *
 * Thread-safety: loading touches no shared state; a loaded tree is
 * immutable and may be read by any thread.
 */
#ifndef VIGIL_CONFIG_H
#define VIGIL_CONFIG_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CONFIG_FILE_NAME     "vigil.yaml"
#define CONFIG_SYSTEM_PATH   "/etc/vigil/vigil.yaml"
#define CONFIG_MAX_BYTES     (1u << 20) /* larger files are refused */
#define CONFIG_MAX_DEPTH     16		/* nesting of maps and lists */
#define CONFIG_MAX_LIST	     256	/* entries of any list (rules.paths, channels, ...) */
#define CONFIG_MAX_OVERRIDES 10000	/* entries of rules.overrides */
#define CONFIG_MAX_STRING    65536	/* bytes of one string, after expansion */
#define CONFIG_MAX_DIAGS     100	/* diagnostics kept; the rest are counted */

/* Defaults (docs/config.md lists them; keep the two in step). */
#define CONFIG_DEF_REGEX_MATCH_LIMIT 100000
#define CONFIG_DEF_TIMEOUT_MS	     2000
#define CONFIG_DEF_MAX_STRING	     2000
#define CONFIG_DEF_ABANDON_S	     600
#define CONFIG_DEF_CLIENT_TIMEOUT_S 10
#define CONFIG_DEF_ALERT_WINDOW_S    300

/** One problem, located in the config file (line/col 0 when unknown). */
struct config_diag {
	int line, col;
	bool warning; /* printed, but does not fail the load */
	char msg[480];
};

/** The problems of one load.  Zero-initialize; release with config_diags_release(). */
struct config_diags {
	char file[4096]; /* the file they refer to ("" before one was chosen) */
	struct config_diag *v;
	size_t n, cap;
	size_t errors;	/* entries of v that are not warnings */
	size_t dropped; /* diagnostics past CONFIG_MAX_DIAGS (counted, not kept) */
};

void config_diags_release(struct config_diags *d);
/** "file:line:col: reason" (or "file: reason" without a location) into out. */
void config_diag_format(const struct config_diags *d, const struct config_diag *g, char *out,
			size_t cap);
/** Prints every diagnostic, one a line, each prefixed by prefix ("" for none). */
void config_diags_print(const struct config_diags *d, FILE *f, const char *prefix);
/** The diagnostics as a JSON array of {file, line, column, severity, message}; NULL on ENOMEM. */
json_t *config_diags_json(const struct config_diags *d);

/**
 * Chooses the config file: explicit (a --config value) when not NULL, else
 * $VIGIL_CONFIG when set and not empty, else $XDG_CONFIG_HOME/vigil/vigil.yaml
 * (XDG_CONFIG_HOME unset, empty or relative: ~/.config), else
 * /etc/vigil/vigil.yaml.  An explicit path or $VIGIL_CONFIG is returned as
 * given with *required set (a missing file is then an error); the implicit
 * ones only when they exist.  Returns 0 with out set, 1 when no file was
 * found (out empty: use the defaults), -ENAMETOOLONG, or -errno when an
 * implicit file exists but cannot be examined.
 */
int config_find(const char *explicit_path, char *out, size_t cap, bool *required);

struct config;

/**
 * Finds (see config_find()), reads, validates and expands the config file.
 * On success (0) *out is a new config, also when no file exists (the
 * defaults; config_path() is then "").  Warnings may have been added to d.
 * On failure d holds at least one error and the return value is -EINVAL
 * (the file is wrong), -ENOENT (an explicit file is missing), -EFBIG,
 * -EACCES/-errno (cannot read it) or -ENOMEM.
 */
int config_load(const char *explicit_path, struct config **out, struct config_diags *d);
/** Like config_load() over text already in memory; name is used in diagnostics
 * and relative paths are relative to its directory. */
int config_load_text(const char *name, const char *text, size_t len, struct config **out,
		     struct config_diags *d);
void config_free(struct config *c);

/** The validated tree (owned by c; json_incref it to keep it past config_free()). */
const json_t *config_tree(const struct config *c);
/** A new reference to the tree, for keeping it past config_free() (json_decref it). */
json_t *config_tree_ref(const struct config *c);
/** The file loaded, "" when none was found. */
const char *config_path(const struct config *c);

/*
 * Typed accessors over a validated tree (config_tree()); conf may be NULL,
 * meaning the defaults.  Strings point into the tree.
 */
bool config_rules_default_pack(const json_t *conf);
size_t config_rules_path_count(const json_t *conf);
const char *config_rules_path(const json_t *conf, size_t i); /* absolute */
const json_t *config_rules_overrides(const json_t *conf);    /* object, NULL when none */
uint64_t config_rules_regex_match_limit(const json_t *conf);
uint32_t config_decisions_timeout_ms(const json_t *conf);
/* decisions.unparseable: "deny" (the default), "ask" or "allow". */
const char *config_decisions_unparseable(const json_t *conf);
const json_t *config_alerts(const json_t *conf);	 /* the alerts object, NULL when absent */
unsigned config_daemon_workers(const json_t *conf);	 /* 0: one per CPU */
size_t config_daemon_max_string(const json_t *conf);	 /* bytes */
uint64_t config_daemon_abandon_ns(const json_t *conf);	 /* ns */
uint64_t config_daemon_client_timeout_ns(const json_t *conf); /* ns */
const char *config_daemon_state_dir(const json_t *conf); /* NULL when not set */
const char *config_daemon_user(const json_t *conf);	 /* NULL when not set */

/* ---- what is built from the config (config_rules.c) ------------------------------- */

struct rules_set;

/** Which rules to load; zero-initialized means "as configured". */
struct config_rules_opts {
	const char *const *paths; /* rule files or directories instead of rules.paths */
	size_t npaths;		  /* (paths is used when npaths > 0) */
	int default_pack;	  /* CONFIG_PACK_* */
	bool no_overrides;	  /* leave rules.overrides out */
};
/* default_pack values: */
#define CONFIG_PACK_AS_CONFIGURED 0 /* rules.default_pack; but not with paths */
#define CONFIG_PACK_YES		  1
#define CONFIG_PACK_NO		  2

/**
 * Builds the rule set the daemon runs: the embedded default pack (when
 * rules.default_pack), every file or directory of rules.paths, and
 * rules.overrides, with the regex match limit of rules.regex_match_limit;
 * then rules_finish().  conf may be NULL (the defaults); located (may be
 * NULL) is the config conf came from, so that override problems point into
 * the file.  o may be NULL.  Returns 0 with *out a finished set, which may
 * hold diagnostics (rules_error_count(): with errors, bad rules are left
 * out); -ENOMEM.  The daemon and `vigil rules` both build their set here.
 */
int config_build_rules(const json_t *conf, const struct config *located,
		       const struct config_rules_opts *o, struct rules_set **out);

#endif /* VIGIL_CONFIG_H */
