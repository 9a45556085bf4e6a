/*
 * rules.h - vigil's Sigma rules engine: detection rules and Sigma correlation
 * rules over the normalized event (docs/event-schema.md), with vigil's
 * extensions (action: alert|ask|block, embedded test cases).  The rule format
 * is documented in docs/rules.md ("Rule format").
 *
 * Life cycle of a rule set:
 *   rules_set_new()                      empty set with options
 *   rules_add_file/_path/_text/_default_pack()   load rules; every problem becomes
 *                                        a diagnostic and loading goes on, so one
 *                                        pass reports ALL errors
 *   rules_set_overrides()                optional: config `rules.overrides`
 *   rules_finish()                       resolve correlation references, apply
 *                                        overrides, build the match index
 *   rules_eval() ...                     any number of threads at once
 *   rules_set_free()
 * A rule with an error is left out of the set; the rest still works.  Callers
 * that must not run a partial set (a reload) check rules_error_count() first.
 *
 * Thread safety: a finished set is immutable (only atomic statistics change)
 * and may be shared by threads.  rules_eval() needs a struct rules_result per
 * thread (it doubles as scratch memory) and may share one rules_state, which
 * has its own mutex.
 *
 * Errors: functions return 0 or a negative errno.  Rule problems are never
 * return codes: they are diagnostics.
 */
#ifndef VIGIL_RULES_H
#define VIGIL_RULES_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "yj.h"

#define RULES_MAX_FILE (1024u * 1024u)	  /* bytes of one rule file */
#define RULES_MAX_RULES 100000u		  /* rules in one set */
#define RULES_MAX_SELECTIONS 64u	  /* named selections in one rule */
#define RULES_MAX_VALUES 1024u		  /* values under one field (after expansion) */
#define RULES_MAX_FIELDS 256u		  /* field conditions in one selection */
#define RULES_MAX_CONDITION 4096u	  /* bytes of one condition */
#define RULES_MAX_COND_DEPTH 32u	  /* parentheses / not nesting */
#define RULES_MAX_REGEX 4096u		  /* bytes of one regex pattern */
#define RULES_MAX_REFS 64u		  /* rules referenced by one correlation (globs expanded) */
#define RULES_MAX_THRESHOLD 10000u	  /* correlation condition values */
#define RULES_MAX_EVENT_IDS 50u		  /* event ids a correlation hit carries */
#define RULES_WHY_MAX 512u		  /* bytes of a hit's explanation */
#define RULES_DEFAULT_REGEX_MATCH_LIMIT 100000u
#define RULES_DEFAULT_REGEX_DEPTH_LIMIT 5000u

enum rules_level {
	RULES_LEVEL_INFORMATIONAL = 0,
	RULES_LEVEL_LOW,
	RULES_LEVEL_MEDIUM,
	RULES_LEVEL_HIGH,
	RULES_LEVEL_CRITICAL,
};

/* Ordered by strength: the strongest action among hits wins. */
enum rules_action {
	RULES_ACTION_ALERT = 0,
	RULES_ACTION_ASK,
	RULES_ACTION_BLOCK,
};

enum rules_kind { RULES_KIND_DETECTION = 0, RULES_KIND_CORRELATION };

enum rules_corr_type {
	RULES_CORR_NONE = 0,
	RULES_CORR_EVENT_COUNT,
	RULES_CORR_VALUE_COUNT,
	RULES_CORR_TEMPORAL,
	RULES_CORR_TEMPORAL_ORDERED,
};

const char *rules_level_name(enum rules_level l);   /* "informational", ... */
const char *rules_action_name(enum rules_action a); /* "alert", "ask", "block" */
const char *rules_kind_name(enum rules_kind k);	    /* "detection", "correlation" */
const char *rules_corr_type_name(enum rules_corr_type t); /* "event_count", ... or NULL */
/** Parses a level or action name; -EINVAL if unknown. */
int rules_level_parse(const char *s, enum rules_level *out);
int rules_action_parse(const char *s, enum rules_action *out);

/** Options; zero values mean the defaults. */
struct rules_options {
	uint32_t regex_match_limit; /* PCRE2 match limit; 100,000 */
	uint32_t regex_depth_limit; /* PCRE2 depth limit; 5,000 */
	size_t max_file;	    /* bytes of one rule file; 1 MiB (RULES_MAX_FILE) */
	size_t max_rules;	    /* rules in the set; 100,000 */
};

struct rules_set;

int rules_set_new(const struct rules_options *o, struct rules_set **out);
void rules_set_free(struct rules_set *set);

/* ---- loading ------------------------------------------------------------------- */

/**
 * Loads the rules of one YAML text (one or more `---` separated documents);
 * name is the file name used in diagnostics and rules_info.file.  Returns 0
 * even when rules in it were bad (see the diagnostics); -ENOMEM, or -EBUSY
 * after rules_finish().
 */
int rules_add_text(struct rules_set *set, const char *name, const char *text, size_t len);
/** Loads one file.  A file that cannot be read is a diagnostic, not an error. */
int rules_add_file(struct rules_set *set, const char *path);
/**
 * Loads a file, or every *.yml and *.yaml file of a directory and its
 * subdirectories (sorted by name; hidden entries skipped; at most 10,000
 * files and 8 levels).
 */
int rules_add_path(struct rules_set *set, const char *path);
/** Loads the default pack embedded at build time (the .yml files of rules/). */
int rules_add_default_pack(struct rules_set *set);
/** The embedded pack's files (name and text), for listing and tests. */
size_t rules_pack_count(void);
int rules_pack_file(size_t i, const char **name, const char **text, size_t *len);

/**
 * Records overrides (config `rules.overrides`): an object keyed by rule id
 * or name whose values are objects with any of disabled (bool), level,
 * action, threshold (correlation condition value), timespan (duration).
 * They are applied by rules_finish().  doc and file (both may be NULL) give
 * diagnostics a location in the config file.  The object is copied.
 * Unknown rules are warnings; bad values are errors.
 */
int rules_set_overrides(struct rules_set *set, const json_t *overrides,
			const struct yj_doc *doc, const char *file);

/**
 * Resolves correlation references (ids, names and `*` globs over detection
 * rules), applies overrides and builds the index.  After it the set is
 * immutable.  0, -ENOMEM, -EBUSY (twice).
 */
int rules_finish(struct rules_set *set);

/* ---- diagnostics ------------------------------------------------------------------ */

enum rules_severity { RULES_ERROR = 0, RULES_WARNING };

struct rules_diag {
	enum rules_severity severity;
	const char *file; /* never NULL ("<string>" for unnamed text) */
	int line, col;	  /* 1-based; 0 when unknown */
	const char *rule; /* the rule's id or title when known, else NULL */
	const char *msg;  /* one line, no trailing newline */
};

size_t rules_diag_count(const struct rules_set *set);
size_t rules_error_count(const struct rules_set *set);
/** Diagnostic i in load order (pointers live as long as the set). */
const struct rules_diag *rules_diag_get(const struct rules_set *set, size_t i);
/** "file:line:col: error: msg" (or "warning"); returns snprintf's length. */
int rules_diag_format(const struct rules_diag *d, char *buf, size_t cap);

/* ---- the rules ------------------------------------------------------------------ */

struct rules_info {
	const char *id, *name, *title; /* id and title always set; name may be NULL */
	const char *description, *status, *author; /* may be NULL */
	const char *file;
	int line;
	enum rules_level level;
	enum rules_action action;
	enum rules_kind kind;
	enum rules_corr_type corr_type;
	const char *const *tags;
	size_t ntags;
	bool disabled;	/* by an override */
	bool generate;	/* false: no hit of its own (only feeds correlations) */
	size_t ntests;	/* embedded test cases */
};

/** Number of (valid) rules, in load order. */
size_t rules_count(const struct rules_set *set);
int rules_get(const struct rules_set *set, size_t i, struct rules_info *out);
/** Index of the rule with this id or name; -ENOENT. */
long rules_find(const struct rules_set *set, const char *id_or_name);

/**
 * Per rule: evaluations (approximate while several threads evaluate: it is
 * kept without a locked add), hits, regex limit hits (for `vigil status`).
 */
struct rules_stats {
	uint64_t evals, hits, regex_limit_hits;
};
int rules_get_stats(const struct rules_set *set, size_t i, struct rules_stats *out);
/** Totals over the set, plus events evaluated. */
void rules_total_stats(const struct rules_set *set, uint64_t *events, uint64_t *hits,
		       uint64_t *regex_limit_hits);

/* ---- correlation state ------------------------------------------------------------ */

struct rules_state_options {
	size_t max_groups;    /* per correlation rule (LRU evicted); 10,000 */
	size_t max_event_ids; /* per group; RULES_MAX_EVENT_IDS */
};

struct rules_state;

/**
 * State of the correlation windows of one finished set (it refers to the
 * set's rules: free it before the set).  Reloading rules means a new set
 * and a new state.  o may be NULL.
 */
int rules_state_new(const struct rules_set *set, const struct rules_state_options *o,
		    struct rules_state **out);
void rules_state_free(struct rules_state *st);
/** Groups currently held and groups evicted so far. */
void rules_state_stats(struct rules_state *st, size_t *groups, uint64_t *evicted);

/* ---- evaluation ------------------------------------------------------------------- */

struct rules_hit {
	size_t rule; /* index for rules_get() */
	const char *rule_id, *title, *name;
	enum rules_level level;
	enum rules_action action; /* the rule's action (see rules_result.action) */
	enum rules_kind kind;
	char why[RULES_WHY_MAX];  /* "rule 'x': selection 'sel': field|mod 'v' matched \"...\"" */
	/* correlation hits only: */
	const char *group;	   /* group-by values "field=value, ..." ("" without group-by) */
	uint64_t count;		   /* events, distinct values or rules seen in the window */
	uint64_t first_ns, last_ns;
	char (*event_ids)[37];	   /* the group's most recent event ids, oldest first */
	size_t nevent_ids;
};

/**
 * Results of one rules_eval(); reusable across calls (it keeps its memory).
 * One per thread.  Initialize with rules_result_init() and release with
 * rules_result_release().
 */
struct rules_result {
	struct rules_hit *hits;	  /* in rule order, correlation hits after detection hits */
	size_t nhits;
	/*
	 * The strongest action among the hits that applies to this event: ask and
	 * block only count on blocking hooks (PreToolUse, UserPromptSubmit,
	 * PermissionRequest); elsewhere every hit is an alert.
	 */
	enum rules_action action;
	long action_hit;	  /* index in hits of the hit that decided action; -1 */
	bool blocking;		  /* the event's hook is a blocking hook */
	struct rules_scratch *scratch; /* internal */
	size_t cap;
};

void rules_result_init(struct rules_result *r);
void rules_result_release(struct rules_result *r);

/**
 * Evaluates every enabled rule against event (a normalized event object).
 * time_ns is the event's time for correlation windows.  state may be NULL
 * (then correlation rules are skipped).  Returns 0 (with out->nhits >= 0) or
 * -ENOMEM / -EINVAL (event not an object, set not finished).  The hits'
 * strings point into the set and out; they stay valid until the next call
 * with out or until the set is freed.
 */
int rules_eval(const struct rules_set *set, struct rules_state *state, const json_t *event,
	       uint64_t time_ns, struct rules_result *out);

/** True when hook names a blocking hook (PreToolUse, UserPromptSubmit, PermissionRequest). */
bool rules_hook_blocking(const char *hook);

/* ---- embedded test cases ----------------------------------------------------------- */

struct rules_test_report {
	size_t rule;	     /* index for rules_get() */
	const char *rule_id;
	bool true_positive;  /* the case is a true positive (must hit) */
	size_t index;	     /* the case's position in its list */
	const char *file;
	int line, col;	     /* where the case is written */
	bool passed;
	const char *msg;     /* what happened: "matched: <why>", "did not match", ... */
};

typedef void (*rules_selftest_fn)(void *arg, const struct rules_test_report *r);

/**
 * Runs every rule's `tests`: each true positive must make the rule hit and
 * each false positive must not.  A detection case is one event object
 * (partial events are fine: logsource fields it lacks are not checked); a
 * correlation case is a list of events run in order through a fresh state,
 * each optionally carrying "time" (RFC 3339) or "dt" (seconds since the
 * case's first event); events without either come one second after the
 * previous one.  fn (may be NULL) sees every case.  Returns the number of
 * failed cases (>= 0), or -ENOMEM / -EINVAL (set not finished).  Rules
 * disabled by overrides are tested too (the tests are about the rule).
 */
long rules_selftest(const struct rules_set *set, rules_selftest_fn fn, void *arg,
		    size_t *ncases);

#endif /* VIGIL_RULES_H */
