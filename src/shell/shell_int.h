/*
 * shell_int.h - what the files of src/shell share (nothing outside includes
 * it).  Internal names carry the prefix shx_.
 *
 * The way through: sh_parse (shell.c) reads the input with the parser
 * (lex.c: tokens and the parts of words; parse.c: the grammar, into a tree
 * of struct shx_node), then walks the tree (eval.c) with a model of the
 * shell's state (variables, functions, the directory: vars.c), expanding
 * words (expand.c, arith.c) and emitting one struct sh_cmd per simple
 * command.  Commands that run other commands are resolved by table
 * (wrap.c), commands whose output is known literally (echo, printf,
 * base64 -d, ...) are computed (literal.c).
 *
 * Memory: everything lives in one arena per call (arena.c), bounded by
 * SH_MAX_MEMORY.  Reaching any hard bound (memory, SH_MAX_CMDS, SH_MAX_STEPS)
 * longjmps back to sh_parse, which reports what was emitted so far with
 * SH_U_LIMIT; nothing else is allocated on the heap, so nothing leaks.
 */
#ifndef VIGIL_SHELL_INT_H
#define VIGIL_SHELL_INT_H

#include "shell.h"

#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* The same bans as src/common/banned.h; src/shell cannot include common.h. */
#undef strcpy
#define strcpy(x, y) sorry_strcpy_is_banned
#undef strcat
#define strcat(x, y) sorry_strcat_is_banned
#undef strncpy
#define strncpy(x, y, n) sorry_strncpy_is_banned
#undef sprintf
#define sprintf(...) sorry_sprintf_is_banned
#undef strtok
#define strtok(x, y) sorry_strtok_is_banned

#define SHX_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define SHX_CHUNK 32u /* commands per chunk of the output */

/* ---- arena -------------------------------------------------------------------------------- */

struct shx_chunk {
	struct shx_chunk *next;
	size_t used, cap;
	max_align_t data[];
};

struct shx_arena {
	struct shx_chunk *head;
	size_t total; /* bytes of all chunks */
};

/* ---- words --------------------------------------------------------------------------------- */

enum shx_seg_kind {
	SEG_LIT,     /* literal text */
	SEG_PARAM,   /* $x, ${x...}, $1, $@ */
	SEG_CMDSUB,  /* $(...) or `...` */
	SEG_ARITH,   /* $((...)) or $[...] */
	SEG_PROCIN,  /* <(...) */
	SEG_PROCOUT, /* >(...) */
};

struct shx_param;
struct shx_node;
struct shx_word;

struct shx_seg {
	uint8_t kind;
	uint8_t quoted;	 /* LIT: in quotes or escaped; others: inside double quotes */
	uint8_t decoded; /* LIT from $'...' with \x, \NNN or \u escapes */
	uint32_t len;	 /* of s */
	const char *s;	 /* LIT: the text; others: the spelling */
	union {
		struct shx_param *param;
		struct shx_node *ast; /* CMDSUB, PROCIN, PROCOUT; NULL when empty */
		struct shx_word *arith;
	} u;
};

struct shx_word {
	struct shx_seg *segs;
	uint32_t nsegs;
	uint32_t rawlen;
	const char *raw; /* the spelling, for what cannot be expanded */
	struct shx_word *next;
	struct shx_word *elems; /* NAME=(...) array elements, else NULL */
	bool array;
};

enum shx_pop {
	PARAM_PLAIN,
	PARAM_LEN,	/* ${#x} */
	PARAM_DEFAULT,	/* ${x-w} ${x:-w} */
	PARAM_ASSIGN,	/* ${x=w} ${x:=w} */
	PARAM_ALT,	/* ${x+w} ${x:+w} */
	PARAM_ERROR,	/* ${x?w} ${x:?w} */
	PARAM_TRIM_SL,	/* ${x#p} */
	PARAM_TRIM_LL,	/* ${x##p} */
	PARAM_TRIM_SR,	/* ${x%p} */
	PARAM_TRIM_LR,	/* ${x%%p} */
	PARAM_REPL,	/* ${x/p/r} */
	PARAM_REPL_ALL, /* ${x//p/r} */
	PARAM_REPL_PRE, /* ${x/#p/r} */
	PARAM_REPL_SUF, /* ${x/%p/r} */
	PARAM_SUBSTR,	/* ${x:o:l} */
	PARAM_UPPER1,	/* ${x^} */
	PARAM_UPPER,	/* ${x^^} */
	PARAM_LOWER1,	/* ${x,} */
	PARAM_LOWER,	/* ${x,,} */
	PARAM_INDIRECT, /* ${!x} */
	PARAM_UNSUPPORTED,
};

enum shx_subscript { SUB_NONE, SUB_AT, SUB_STAR, SUB_EXPR };

struct shx_param {
	const char *name;
	uint8_t nlen;
	uint8_t op;	       /* enum shx_pop */
	uint8_t colon;	       /* the ':' forms: also when set but empty */
	uint8_t subscript;     /* enum shx_subscript */
	struct shx_word *sub;  /* SUB_EXPR: the subscript */
	struct shx_word *arg;  /* the word, pattern or offset */
	struct shx_word *arg2; /* the replacement or length */
	bool has_arg2;
};

/* ---- the syntax tree ----------------------------------------------------------------------- */

enum shx_node_kind {
	N_SIMPLE,
	N_PIPE,	 /* children: the commands */
	N_ANDOR, /* children: the pipelines, each with its operator */
	N_LIST,	 /* children: and-or lists, each with bg */
	N_SUBSHELL,
	N_GROUP,
	N_IF,
	N_WHILE,
	N_UNTIL,
	N_FOR,
	N_ARITHFOR,
	N_CASE,
	N_FUNCDEF,
	N_DBRACK, /* [[ ... ]] */
	N_ARITH,  /* (( ... )) */
};

enum shx_rop {
	ROP_IN,
	ROP_OUT,
	ROP_APPEND,
	ROP_CLOBBER,
	ROP_RW,
	ROP_DUP_IN,
	ROP_DUP_OUT,
	ROP_ALL,
	ROP_ALL_APPEND,
	ROP_HEREDOC,
	ROP_HERESTR,
};

struct shx_redir_node {
	uint8_t op;	    /* enum shx_rop, which matches enum sh_redir_op */
	uint8_t quoted;	    /* here-document with a quoted delimiter: no expansion */
	uint8_t strip_tabs; /* <<- */
	int fd;
	struct shx_word *target; /* here-documents: the body, filled at the next newline */
	const char *delim;
	uint32_t dlen;
	struct shx_redir_node *next;
	struct shx_redir_node *next_pending; /* here-documents waiting for their body */
};

struct shx_assign {
	const char *name;
	uint32_t nlen;
	bool append;		/* NAME+=value */
	struct shx_word *index; /* NAME[i]=value */
	struct shx_word *value;
	struct shx_assign *next;
};

struct shx_arm {
	struct shx_word *patterns;
	struct shx_node *body;
	uint8_t term; /* 0 ;;  1 ;&  2 ;;& */
	struct shx_arm *next;
};

enum shx_andor_op { AO_FIRST, AO_AND, AO_OR };

struct shx_node {
	uint8_t kind;
	uint8_t bang;	       /* ! pipeline */
	uint8_t bg;	       /* list item followed by & */
	uint8_t op;	       /* and-or item: the operator before it */
	uint8_t pipe_err;      /* pipe item followed by |& */
	uint32_t off, end;     /* span in the text it was parsed from */
	struct shx_node *next; /* next item of a list, and-or or pipeline */
	struct shx_redir_node *redirs;
	union {
		struct {
			struct shx_assign *assigns;
			struct shx_word *words;
		} simple;
		struct shx_node *first; /* PIPE, ANDOR, LIST, SUBSHELL, GROUP */
		struct {
			struct shx_node *cond, *then, *els;
		} if_;
		struct {
			struct shx_node *cond, *body;
		} loop;
		struct {
			const char *var;
			uint32_t vlen;
			bool has_in;
			bool select; /* select: the variable is what the user picks */
			struct shx_word *words;
			struct shx_node *body;
		} for_;
		struct {
			struct shx_word *init, *cond, *step;
			struct shx_node *body;
		} afor;
		struct {
			struct shx_word *subject;
			struct shx_arm *arms;
		} case_;
		struct {
			const char *name;
			uint32_t nlen;
			struct shx_node *body;
		} func;
		struct shx_word *words; /* DBRACK: its words; ARITH: one word */
	} u;
};

/* ---- the state of one call ------------------------------------------------------------------- */

/* A growable string that starts in caller storage and moves to the arena. */
struct shx_buf {
	char *p;
	size_t len, cap;
};

enum shx_bind_kind { BIND_VAR, BIND_ARRAY, BIND_FUNC, BIND_CWD };

/* One binding: variables, arrays, functions and the directory are a stack, so that a
 * subshell's changes are undone by popping back to a mark. */
struct shx_bind {
	const char *name;
	uint32_t nlen;
	uint8_t kind;
	uint8_t state;	  /* VAL_SET, VAL_UNSET, VAL_UNKNOWN */
	uint8_t exported; /* passed to child processes */
	uint8_t local;	  /* `local` in a function: dropped when it returns */
	uint8_t dead;
	uint8_t decoded;
	unsigned unres;	   /* reasons the value is uncertain (SH_U_COND, SH_U_LOOP, ...) */
	const char *value; /* VAR, CWD (NULL: not known) */
	uint32_t vlen;
	const char **elems; /* ARRAY */
	uint32_t nelems;
	struct shx_node *body; /* FUNC */
	bool *called;	       /* FUNC: set when called */
};

enum { VAL_SET, VAL_UNSET, VAL_UNKNOWN };

struct shx_funcdef {
	struct shx_bind *b;
	struct shx_node *body;
	const char *name;
	bool called;
	int active; /* calls under way: a call while active is recursion, not followed */
	int shell;  /* the shell it belongs to */
	struct shx_funcdef *next;
};

/* A process substitution: the command whose word holds it, its first command,
 * and for <(...) its output when literal (a shell or source may read it). */
struct shx_procsub {
	int owner;
	int first;
	const char *text; /* literal output, or NULL */
	size_t len;
	bool decoded;
};

struct shx {
	struct shx_arena arena;
	const struct sh_opts *o;
	struct sh_opts none;
	jmp_buf fail;
	/* Commands in chunks, so that a pointer to one stays valid while more are
	 * emitted; sh_parse copies them into one array at the end. */
	struct sh_cmd *chunks[SH_MAX_CMDS / SHX_CHUNK];
	size_t ncmds;
	unsigned unres;
	size_t error_off;
	size_t steps;
	struct shx_bind *binds; /* heap (realloc), freed by sh_parse */
	size_t nbinds, capbinds;
	size_t mark_floor;	  /* bindings below were made before the current region */
	struct shx_seg *segstack; /* the lexer's scratch stack of segments */
	size_t nsegstack, capsegstack;
	struct shx_funcdef *funcs;
	struct shx_procsub procsubs[16];
	size_t nprocsubs;
	/* Files this input writes with known content (echo X > f), so that running
	 * them later in the same input (sh f, . f, ./f) is read like the rest. */
	struct shx_file {
		const char *path;
		const char *text; /* NULL: written, content not known */
		size_t len;
		bool decoded;
	} files[16];
	size_t nfiles;
	/* alias NAME=VALUE: bash expands them only with expand_aliases and on a later
	 * line, so what they would run is reported as conditional. */
	struct {
		const char *name, *value;
	} aliases[16];
	size_t naliases;
	int next_shell;
};

/* A shell process being modelled: bindings below base belong to another process. */
struct shx_shell {
	size_t base;
	bool unknown_default; /* names without a binding: unknown (else unset) */
	bool posix;	      /* sh, dash, ...: echo's escapes differ from bash's */
	int id;
	const char *arg0; /* $0, or NULL when not known */
	bool remote;	  /* another host or a container: $HOME and ~ are not ours */
};

/* The positional parameters of a shell or a function call. */
struct shx_pos {
	const struct sh_word *v;
	int n;
	bool known;
};

/* Where the output of the commands being evaluated goes, when it is captured
 * (a pipe to the next command, a command substitution). */
struct shx_out {
	struct shx_buf b;
	bool known;
	bool decoded;
	bool used;
};

/* The context commands are evaluated in. */
struct shx_ctx {
	struct shx *x;
	struct shx_shell *sh;
	struct shx_pos pos;
	int parent;
	enum sh_via via;
	int depth;	/* interpretation depth (SH_MAX_DEPTH) */
	int nest;	/* evaluator recursion (SH_MAX_NEST) */
	unsigned flags; /* SH_C_* inherited by every command emitted */
	unsigned unres; /* SH_U_* inherited (SH_U_REMOTE) */
	const char *user, *host, *container, *root;
	const struct sh_word *mounts;
	int nmounts;
	/* stdin */
	int in_from;
	const char *in_text;
	size_t in_len;
	bool in_decoded;
	/* stdout */
	struct shx_out *out;
	int last_out; /* the last command writing to this context's stdout */
	bool exited;  /* exit, exec or return ran: what follows does not */
	bool loop_var_unknown;
	size_t func_mark; /* bindings of the running function start here */
	bool in_func;
	bool no_function; /* command/builtin: names are not functions */
	/* Redirections of enclosing compound commands and of exec: each command
	 * emitted lists them before its own. */
	const struct sh_redir *redirs;
	int nredirs;
	/* A wrapper that sets the directory of what it runs (env -C, sudo -D,
	 * find -execdir): used instead of the shell's when cwd_set. */
	const char *cwd;
	bool cwd_set;
	/* Prefix assignments and env VAR=x for the command about to be emitted. */
	const struct sh_assign *env;
	int nenv;
	/* env -u NAME for the command being run: a shell it is starts without them. */
	const char *const *unset;
	int nunset;
};

/* ---- arena.c --------------------------------------------------------------------------------- */

void *shx_alloc(struct shx *x, size_t n); /* zeroed; longjmps at SH_MAX_MEMORY */
char *shx_strndup(struct shx *x, const char *s, size_t n);
void shx_arena_free(struct shx_arena *a);
void shx_limit(struct shx *x) __attribute__((noreturn)); /* longjmp: a hard bound */

void shx_buf_init(struct shx_buf *b, char *stack, size_t cap);
void shx_buf_add(struct shx *x, struct shx_buf *b, const char *s, size_t n);
void shx_buf_addc(struct shx *x, struct shx_buf *b, char c);
/* The text as an arena string (NUL-terminated). */
char *shx_buf_done(struct shx *x, struct shx_buf *b);

/* ---- lex.c / parse.c --------------------------------------------------------------------------- */

/*
 * Parses len bytes of text into a list.  On a syntax error *err_off gets the
 * offset where it stopped (else it is left alone) and the tree holds what
 * parsed before it.  nest is the syntactic nesting already used.
 */
struct shx_node *shx_parse_text(struct shx *x, const char *text, size_t len, int nest,
				size_t *err_off, bool *error);
bool shx_valid_name(const char *s, size_t n);
/* Splits an unquoted NAME=value word: fills a (name, append, value) and returns true. */
bool shx_word_assign(struct shx *x, const struct shx_word *w, struct shx_assign *a);
/* A word made of one literal segment. */
struct shx_word *shx_word_lit(struct shx *x, const char *s, size_t n, bool quoted);
/* The word as plain text when it is one unquoted literal, else NULL. */
const char *shx_word_plain(const struct shx_word *w, size_t *len);

/* ---- vars.c ------------------------------------------------------------------------------------ */

struct shx_val {
	uint8_t state; /* VAL_* */
	bool decoded;
	unsigned unres;
	const char *s;
	size_t len;
	const char **elems; /* arrays */
	uint32_t nelems;
	bool array;
};

struct shx_bind *shx_lookup(struct shx_ctx *c, const char *name, size_t n, uint8_t kind);
void shx_get(struct shx_ctx *c, const char *name, size_t n, struct shx_val *v);
struct shx_bind *shx_set(struct shx_ctx *c, const char *name, size_t n, const char *val,
			 size_t vlen, uint8_t state, unsigned unres);
void shx_set_array(struct shx_ctx *c, const char *name, size_t n, const char **elems,
		   uint32_t nelems, bool append, unsigned unres);
void shx_export(struct shx_ctx *c, const char *name, size_t n);
void shx_set_func(struct shx_ctx *c, const char *name, size_t n, struct shx_node *body);
/* A new exported binding for a prefix assignment (VAR=x cmd): the caller marks it
 * dead when the command is done. */
void shx_push_temp(struct shx_ctx *c, const char *name, size_t n, const struct sh_word *v);
/* The directory: NULL when not known (*unres says why). */
const char *shx_cwd(struct shx_ctx *c, unsigned *unres);
void shx_set_cwd(struct shx_ctx *c, const char *dir, unsigned unres);
/* Marks what was bound since mark as uncertain for reason (the end of a branch). */
void shx_uncertain_since(struct shx_ctx *c, size_t mark, unsigned reason);
/* Starts a new shell process inheriting the exported bindings of the current one. */
void shx_shell_start(struct shx_ctx *c, struct shx_shell *sh, bool clear_env);
/* A path made absolute against dir and normalized (., .., //); NULL when dir is NULL
 * and path is relative. */
char *shx_path_join(struct shx *x, const char *dir, const char *path, size_t plen);
/* $HOME for ~ (NULL: not known; *unres says why). */
const char *shx_home(struct shx_ctx *c, unsigned *unres);
const char *shx_home_of(struct shx_ctx *c, const char *user, size_t n);

/* ---- expand.c ---------------------------------------------------------------------------------- */

enum shx_xmode {
	XM_ARGV,    /* brace expansion, field splitting, globs */
	XM_STRING,  /* one field: assignments, redirection targets, case subjects */
	XM_ASSIGN,  /* XM_STRING with ~ after = and : */
	XM_PATTERN, /* one field with quoted glob characters escaped (case, ${x#p}) */
	XM_HEREDOC, /* one field, no ~: here-document bodies */
};

struct shx_wvec {
	struct sh_word *v;
	size_t n, cap;
};

void shx_wvec_push(struct shx *x, struct shx_wvec *wv, const struct sh_word *w);
/* Expands w into fields appended to out; cmd is the index substitutions report to. */
void shx_expand(struct shx_ctx *c, const struct shx_word *w, enum shx_xmode mode, int cmd,
		struct shx_wvec *out);
/* Expands w into one string (XM_STRING rules); the word it gives is arena memory. */
struct sh_word shx_expand_one(struct shx_ctx *c, const struct shx_word *w, enum shx_xmode mode,
			      int cmd);
/* Evaluates a command substitution's tree; returns its output if literal. */
bool shx_cmdsub(struct shx_ctx *c, struct shx_node *ast, int cmd, enum sh_via via, bool in,
		struct shx_buf *out, bool *decoded, int *first);

/* ---- arith.c ----------------------------------------------------------------------------------- */

/* Evaluates an arithmetic expression; false with *unres set when it cannot. */
bool shx_arith(struct shx_ctx *c, const char *s, size_t n, long long *val, unsigned *unres);

/* ---- eval.c ------------------------------------------------------------------------------------ */

/* A simple command: emitted, expanded, run. */
void shx_eval_simple(struct shx_ctx *c, struct shx_node *n);
/* compound.c: evaluates a tree (EVAL_NEST bounds the recursion). */
void shx_eval_node(struct shx_ctx *c, struct shx_node *n);
bool shx_stdout_redirected(const struct sh_redir *r, int n);
/* The redirections of a command expanded (inherited ones first); sets rc's stdin. */
void shx_redirs(struct shx_ctx *c, const struct shx_redir_node *rn, int cmd, struct shx_ctx *rc,
		struct sh_redir **out, int *nout);
/* Evaluates the input's tree (then the bodies of functions never called). */
void shx_eval_top(struct shx_ctx *c, struct shx_node *n);
/* Parses and evaluates text as a shell would (sh -c, eval, a decoded script). */
void shx_eval_text(struct shx_ctx *c, int cmd, const char *text, size_t len, enum sh_via via,
		   bool decoded);
/* Reserves the next command, a child of c->parent; longjmps at SH_MAX_CMDS. */
int shx_emit(struct shx_ctx *c);
struct sh_cmd *shx_cmd(struct shx *x, int i);
/* Runs command i's argv: builtins, functions, wrappers, literal output. */
void shx_run(struct shx_ctx *c, int i);
/* A child command of parent running argv[0..argc) (shared words) with via. */
/* What a wrapper changes for the command it runs. */
struct shx_spawn {
	const struct sh_assign *env; /* VAR=x it sets */
	int nenv;
	unsigned flags;	 /* SH_C_* added */
	unsigned unres;	 /* SH_U_* added */
	const char *cwd; /* its directory when cwd_set (NULL: not known) */
	bool cwd_set;
	const char *user; /* SH_C_PRIV: the user it runs as */
	const char *host;
	const char *container;
	const char *root;
	const struct sh_word *mounts;
	int nmounts;
	bool no_function;     /* command, builtin: not a function of the shell */
	bool stdin_none;      /* its stdin is not the wrapper's (xargs) */
	bool clear_env;	      /* env -i */
	const char *unset[8]; /* env -u NAME */
	int nunset;
};

/* A child command of parent running argv[0..argc) (words shared) with via and
 * what sp changes (NULL: nothing); returns its index or -1. */
int shx_spawn(struct shx_ctx *c, int parent, const struct sh_word *argv, int argc, enum sh_via via,
	      const struct shx_spawn *sp);
/* The context for what command i runs (its children). */
void shx_child_ctx(struct shx_ctx *c, int i, enum sh_via via, struct shx_ctx *out);
/* What a wrapper set for the command it runs (its user, host, container,
 * mounts, flags, an emptied stdin) applied to that command's context; the
 * directory and the root are the caller's to apply where they hold. */
void shx_spawn_apply(const struct shx_spawn *sp, struct shx_ctx *cc);
void shx_note_procsub(struct shx *x, int owner, int first, const char *text, size_t len,
		      bool decoded);
/* The process substitution whose first command is first, or NULL. */
const struct shx_procsub *shx_find_procsub(struct shx *x, int first);

/* ---- builtin.c --------------------------------------------------------------------------------- */

/* The shell's own commands that change its state or run text (cd, export, eval,
 * source, exec, command, trap, read, set, ...); false when name is none of them. */
bool shx_builtin(struct shx_ctx *c, int i, struct shx_ctx *caller);
/* Whether name's arguments are assignments (export, local, declare, ...). */
bool shx_is_decl(const char *name, size_t n);
/* Names a loop body assigns (for marking them uncertain before it runs). */
void shx_loop_vars(struct shx_ctx *c, const struct shx_node *n, unsigned reason, int depth);

/* The content this input wrote to path (absolute), or NULL. */
const struct shx_file *shx_file_get(struct shx *x, const char *path);
/* Whether a text with these reasons may be parsed as code (its unknown parts are
 * plain values, not substitutions whose spelling would read as commands). */
bool shx_text_parsable(unsigned unres);

/* ---- wrap.c ------------------------------------------------------------------------------------ */

/* What command i runs through its wrapper or interpreter; false when it is no wrapper. */
bool shx_wrap(struct shx_ctx *c, int i);
bool shx_is_builtin(const char *name);
bool shx_is_shell(const char *name);
/* A shell running text: evaluates it in a new shell process with $0 and args. */
void shx_run_shell_text(struct shx_ctx *c, int i, const char *text, size_t len,
			const struct sh_word *args, int nargs, const char *arg0, enum sh_via via,
			bool decoded, bool posix, const struct shx_spawn *sp);

/* ---- literal.c --------------------------------------------------------------------------------- */

/*
 * The output of command i when it is known from its argv and stdin alone (echo,
 * printf, cat, base64, xxd -r, ...): appended to out; false when not known.
 * *decoded says the output was decoded from an encoding.
 */
bool shx_literal(struct shx_ctx *c, int i, struct shx_buf *out, bool *decoded);
/* printf's format applied to args (also printf -v). */
bool shx_printf(struct shx_ctx *c, const struct sh_word *argv, int argc, struct shx_buf *out,
		bool *decoded);
enum shx_esc {
	SHX_ESC_DOLLAR, /* $'...': \' \" \? \cX \E too; \NNN octal */
	SHX_ESC_ECHO,	/* echo -e and printf %b: \0NNN octal, \c stops the output */
	SHX_ESC_PRINTF, /* printf's format: \NNN octal, \" */
};

/* Backslash escapes of n bytes of s into out; *decoded when \x, octal or \u
 * escapes were used (a way to hide text), *stop on \c. */
void shx_unescape_c(struct shx *x, const char *s, size_t n, struct shx_buf *out, enum shx_esc mode,
		    bool *decoded, bool *stop);

#endif /* VIGIL_SHELL_INT_H */
