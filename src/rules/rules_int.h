/*
 * rules_int.h - the rules engine's internal structures, shared by its files:
 *   load.c      YAML documents -> struct rule (every check, with locations)
 *   match.c     compiled values and field matching (the hot path)
 *   cond.c      the condition language (parser and evaluator)
 *   set.c       the set: diagnostics, finish (references, overrides, index)
 *   eval.c      rules_eval, "why" texts, actions
 *   corr.c      correlation windows (struct rules_state)
 *   selftest.c  embedded test cases
 *
 * Names: rules_ is the public interface (rules.h); every function shared
 * between these files but not public is rint_ (tests/names checks).
 */
#ifndef VIGIL_RULES_INT_H
#define VIGIL_RULES_INT_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>

#include "rules.h"
#include "schema.h"

#define RULES_MAX_PATH 16u	/* components of a field path */
#define RULES_MAX_FIELD 256u	/* bytes of a field name */
#define RULES_MAX_GROUP_BY 8u
#define RULES_MAX_TESTS 256u	/* test cases per list */
#define RULES_MAX_CASE_EVENTS 1024u
#define RULES_WALK_DEPTH 32u	/* keyword search into payload */

/* Glob tokens above the byte range. */
#define TOK_STAR 256u
#define TOK_ANY 257u  /* one UTF-8 character */
#define TOK_DASH 258u /* windash: - / en dash, em dash, horizontal bar */

enum pat_op {
	P_EQ,	    /* whole string equals lit */
	P_STARTS,   /* starts with lit */
	P_ENDS,	    /* ends with lit */
	P_CONTAINS, /* contains lit */
	P_GLOB,	    /* tokens */
	P_RE,
	P_CIDR,
	P_NUM_EQ,   /* number (lit keeps the written text for string fields) */
	P_NUM_CMP,  /* gt/gte/lt/lte */
	P_BOOL,
	P_NULL,	    /* field absent or null */
	P_EXISTS,
};

enum num_cmp { CMP_GT, CMP_GTE, CMP_LT, CMP_LTE, CMP_EQ };

/* One compiled alternative of a value. */
struct pat {
	enum pat_op op;
	bool cased; /* case-sensitive (lit is as written, else lowercased) */
	bool flag;  /* P_BOOL / P_EXISTS: the wanted value */
	enum num_cmp cmp;
	char *lit;
	size_t litlen;
	uint16_t *tok;
	size_t ntok;
	pcre2_code *re;
	double num;
	int family; /* P_CIDR: AF_INET or AF_INET6 */
	uint8_t addr[16];
	unsigned prefix;
};

/* One value as written: an OR of alternatives (base64offset makes three). */
struct val {
	struct pat *p;
	size_t np;
	char *display; /* the value as written, for "why" texts */
};

/* A field path split at dots (components point into buf). */
struct fpath {
	char *buf;
	char **c;
	size_t n;
};

/* One `field|modifiers: values` entry. */
struct fcond {
	char *key; /* as written, "payload.tool_input.command|contains" */
	struct fpath path;
	size_t pid;   /* the path's slot in the per-event lookup cache (rules_finish) */
	bool keyword; /* no field: target and the strings of payload */
	bool all;
	struct val *v;
	size_t nv;
};

/* A map of field conditions (AND). */
struct selmap {
	struct fcond *f;
	size_t nf;
};

/* A named selection: an OR of maps. */
struct sel {
	char *name;
	struct selmap *alt;
	size_t nalt;
};

enum cnode_type { CN_SEL, CN_AND, CN_OR, CN_NOT, CN_ONE_OF, CN_ALL_OF };

struct cnode {
	enum cnode_type type;
	int sel;	  /* CN_SEL */
	uint64_t mask;	  /* CN_ONE_OF / CN_ALL_OF: the selections */
	struct cnode **kids;
	size_t nkids;
};

struct corr_def {
	enum rules_corr_type type;
	char **ref_text; /* as written */
	int *ref_line, *ref_col;
	size_t nref_text;
	struct rule **refs; /* resolved (globs expanded) */
	size_t nrefs;
	struct fpath *gb; /* group-by */
	char **gb_name;
	size_t ngb;
	/* aliases: alias name -> (rule name -> field) */
	struct corr_alias {
		char *alias;
		char **rule;
		struct fpath *field;
		size_t n;
	} *aliases;
	size_t naliases;
	uint64_t timespan_ns;
	struct {
		enum num_cmp op;
		uint64_t v;
	} c[2];
	size_t nc;
	bool has_cond;
	struct fpath field; /* value_count */
	char *field_name;
	size_t slot; /* index among the set's correlation rules */
	size_t cap;  /* timestamps / values kept per group */
};

struct tcase {
	json_t *ev; /* an object (detection) or a list of objects (correlation) */
	int line, col;
	bool tp;
	size_t index;
};

struct rule {
	char *id, *name, *title, *description, *status, *author, *file;
	int line;
	char **tags;
	size_t ntags;
	enum rules_level level;
	enum rules_action action;
	enum rules_kind kind;
	bool generate, disabled, broken;
	char *product, *category, *service; /* logsource (lowercase); NULL: any */
	char **cat_index;		    /* categories for the index (lowercase) */
	size_t ncat_index;
	struct sel *sels;
	size_t nsels;
	struct cnode *cond;
	struct corr_def *corr;
	struct tcase *tests;
	size_t ntests;
	size_t index;
	_Atomic uint64_t evals, hits, relimit;
};

struct ovr {
	char *key;
	int line, col;
	bool has_disabled, disabled;
	bool has_level, has_action, has_threshold, has_timespan;
	enum rules_level level;
	enum rules_action action;
	uint64_t threshold, timespan_ns;
};

struct bucket {
	char *category;
	size_t *rules; /* detection rule indices, ascending */
	size_t n, cap;
};

struct rules_set {
	struct rules_options o;
	struct rule **rules;
	size_t nrules, cap;
	struct rules_diag *diags;
	size_t ndiags, diags_cap, nerrors;
	struct ovr *ovr;
	size_t novr;
	char *ovr_file; /* where the overrides came from (diagnostics) */
	bool finished;
	pcre2_match_context *mctx;
	/* index (rules_finish) */
	struct bucket *buckets; /* sorted by category */
	size_t nbuckets;
	size_t *any; /* detection rules without an indexable category */
	size_t nany;
	size_t *corr; /* correlation rules, dependencies first */
	size_t ncorr;
	size_t npaths; /* distinct field paths (the lookup cache's size) */
	_Atomic uint64_t events;
};

#define RULES_GROUP_MAX 512u /* bytes of a correlation group key */

/* Storage behind one correlation hit's group and event ids. */
struct hit_store {
	char group[RULES_GROUP_MAX];
	char ids[RULES_MAX_EVENT_IDS][37];
};

/* Per-call scratch kept in struct rules_result. */
struct rules_scratch {
	pcre2_match_data *md;
	uint8_t *matched; /* one per rule: matched this event */
	size_t nmatched;
	struct hit_store **store; /* one per hit slot, allocated on first use */
	size_t nstore;
	/*
	 * Field lookups of the current event, by path slot: 0 not looked up,
	 * 1 done (pc_val is the value or NULL when absent), 2 an array lies on
	 * the path (walk it every time).
	 */
	uint8_t *pc_state;
	const json_t **pc_val;
	size_t npc;
	/* logsource fields of the current event (rules_eval) */
	const char *agent, *event_type, *hook;
	bool ls_cached;
};

/* Why a field condition matched (explain mode). */
struct explain {
	const struct fcond *fc;
	const struct val *v;
	const char *s; /* the event's value (string form) */
	size_t slen;
	char num[40];
};

/* match context for one event */
struct mctx {
	const struct rules_set *set;
	struct rules_scratch *scratch;
	struct rule *rule;
	struct explain *ex; /* non-NULL: record what matched */
};

/*
 * jansson's iteration macros take non-const values although they only read;
 * this documents the one place rules code drops const for them.
 */
static inline json_t *rint_jro(const json_t *v)
{
	return (json_t *)(uintptr_t)v;
}

/* set.c */
void rint_diag(struct rules_set *set, enum rules_severity sev, const char *file, int line,
		int col, const char *rule, const char *fmt, ...)
	__attribute__((format(printf, 7, 8)));
void rint_rule_free(struct rule *r);
struct rule *rint_set_lookup(const struct rules_set *set, const char *id_or_name);

/* load.c */
int rint_load_text(struct rules_set *set, const char *name, const char *text, size_t len);

/* match.c */
int rint_fpath_init(struct fpath *p, const char *s);
void rint_fpath_release(struct fpath *p);
const json_t *rint_fpath_get(const json_t *ev, const struct fpath *p);
void rint_val_release(struct val *v);
bool rint_fcond_match(struct mctx *m, const struct fcond *fc, const json_t *ev);
bool rint_selmap_match(struct mctx *m, const struct selmap *sm, const json_t *ev);
bool rint_sel_match(struct mctx *m, const struct sel *s, const json_t *ev);
int rint_scalar_text(const json_t *v, char *buf, size_t cap, const char **s, size_t *n);
/* compile helpers used by load.c */
int rint_pat_compile_string(const char *s, size_t n, unsigned mods, struct pat *out, char *err,
		       size_t errcap);
int rint_pat_compile_re(const struct rules_set *set, const char *s, size_t n, unsigned mods,
		   struct pat *out, char *err, size_t errcap);
int rint_pat_compile_cidr(const char *s, struct pat *out, char *err, size_t errcap);
void rint_pat_release(struct pat *p);

/* modifier bits */
#define MOD_CONTAINS (1u << 0)
#define MOD_STARTS (1u << 1)
#define MOD_ENDS (1u << 2)
#define MOD_ALL (1u << 3)
#define MOD_RE (1u << 4)
#define MOD_RE_I (1u << 5)
#define MOD_RE_M (1u << 6)
#define MOD_RE_S (1u << 7)
#define MOD_CIDR (1u << 8)
#define MOD_WINDASH (1u << 9)
#define MOD_EXISTS (1u << 10)
#define MOD_GT (1u << 11)
#define MOD_GTE (1u << 12)
#define MOD_LT (1u << 13)
#define MOD_LTE (1u << 14)
#define MOD_CASED (1u << 15)
#define MOD_BASE64 (1u << 16)
#define MOD_BASE64OFF (1u << 17)
#define MOD_KEYWORD (1u << 18) /* internal: keyword search (implicit contains) */

/* cond.c */
int rint_cond_parse(struct rule *r, const char *text, struct cnode **out, char *err, size_t errcap,
	       size_t *errpos, uint64_t *used);
void rint_cond_free(struct cnode *n);
bool rint_cond_eval(struct mctx *m, const struct cnode *n, const json_t *ev, uint64_t *done,
	       uint64_t *val);

/* eval.c */
bool rint_rule_match_detection(struct mctx *m, struct rule *r, const json_t *ev, bool lenient);
void rint_rule_explain(struct mctx *m, struct rule *r, const json_t *ev, char *out, size_t cap);
int rint_scratch_prepare(const struct rules_set *set, struct rules_result *res);

/* corr.c: updates rule r's window with the event (st is locked by the caller). */
struct corr_out {
	uint64_t count, first_ns, last_ns;
	size_t nids;
};
int rint_corr_update(struct rules_state *st, const struct rule *r, const json_t *ev, uint64_t t,
		const uint8_t *matched, bool *fired, struct corr_out *out,
		struct hit_store *store);
void rint_corr_lock(struct rules_state *st);
void rint_corr_unlock(struct rules_state *st);

#endif /* VIGIL_RULES_INT_H */
