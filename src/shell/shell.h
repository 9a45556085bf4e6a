/*
 * shell.h - what a shell command line runs, read the way bash reads it.
 *
 * sh_parse() takes the text an agent hands to a shell (a Bash tool call's
 * command) and returns every simple command it would run, with its argv
 * after expansion and quote removal, recursively through the wrappers and
 * interpreters that run other commands: sh/bash -c, eval, source, env,
 * sudo, xargs, find -exec, ssh, docker run, a shell reading a pipe, and the
 * base64/hex/printf text decoded into one of them.  Nothing is executed and
 * no file is read: the caller gives the directory, $HOME and what else it
 * knows; a value the parser cannot know (a variable set elsewhere, a command
 * substitution whose output is not literal, a file's content) is reported
 * as unresolved with the reason, never guessed.  Glob characters are kept
 * and flagged for the caller to resolve against the file system.
 *
 * Contracts: sh_parse returns 0 or a negative errno (-EINVAL, -E2BIG for an
 * input over SH_MAX_INPUT, -ENOMEM); everything a result points to is owned
 * by the result and lives until sh_result_free().  A result is read-only and
 * may be read from any thread; sh_parse keeps no state between calls and is
 * thread-safe.  Every size and every recursion is bounded (the SH_MAX_*
 * below); reaching a bound is reported (SH_U_LIMIT), never silent.
 */
#ifndef VIGIL_SHELL_H
#define VIGIL_SHELL_H

#include <stdbool.h>
#include <stddef.h>

/* ---- bounds (each reached bound is reported as SH_U_LIMIT) ------------------------------ */

/* The longest command line read: agents' commands, here-documents included, are
 * far below this; a longer one is refused (-E2BIG), not read in part. */
#define SH_MAX_INPUT (256u * 1024u)
/* Simple commands reported per input: enough for a long script; bounds the output. */
#define SH_MAX_CMDS 1024u
/* Syntactic nesting (parentheses, groups, substitutions, quotes within quotes):
 * bounds the parser's recursion and so its stack. */
#define SH_MAX_NEST 64u
/* Interpretation depth: a text run by a shell, eval, a wrapper or a function
 * inside another (sh -c "sudo sh -c '...'" is 4).  Real uses stay below 6;
 * each level is a recursion of the evaluator. */
#define SH_MAX_DEPTH 16u
/* Words in one command's argv (git add of many files stays far below). */
#define SH_MAX_WORDS 4096u
/* One expanded word or variable value, in bytes. */
#define SH_MAX_VALUE (64u * 1024u)
/* Fields one brace expansion ({a,b}, {1..9}) may produce. */
#define SH_MAX_BRACE 256u
/* Iterations of a for loop over a literal list that are unrolled; longer loops
 * are evaluated once with the loop variable unresolved. */
#define SH_MAX_UNROLL 32u
/* Simple commands evaluated in all (function calls and unrolled loops count
 * each time): bounds the time spent on any input. */
#define SH_MAX_STEPS 20000u
/* Memory for one result (syntax tree, expansions, output), in bytes. */
#define SH_MAX_MEMORY (32u * 1024u * 1024u)
/* Commands xargs builds from literal input (more are reported as a limit). */
#define SH_MAX_XARGS_RUNS 64u

/* ---- what the caller knows ---------------------------------------------------------- */

struct sh_opts {
	/* The directory the command line starts in (absolute), or NULL. */
	const char *cwd;
	/* $HOME and the user's name (for ~ and ~user), or NULL. */
	const char *home;
	const char *user;
	/*
	 * The home directory of another user for ~user, sudo -u USER sh -c '~',
	 * or NULL when not known (then reported unresolved).  Writes at most cap
	 * bytes with the NUL; returns 0 or a negative errno.  May be NULL.
	 */
	int (*home_of)(void *arg, const char *user, char *out, size_t cap);
	void *home_arg;
	/* Environment variables known to be set ("NAME=value"), NULL-terminated, or
	 * NULL.  Others are unknown unless env_complete says they are unset. */
	const char *const *env;
	bool env_complete;
};

/* ---- the result ------------------------------------------------------------------------ */

/* Why a word or command is not fully known (bit set). */
enum sh_unres {
	SH_U_VAR = 1u << 0,	   /* a variable whose value is not known */
	SH_U_CMDSUB = 1u << 1,	   /* $(...) or `...` whose output is not literal */
	SH_U_ARITH = 1u << 2,	   /* $((...)) that could not be evaluated */
	SH_U_PARAM = 1u << 3,	   /* a ${...} form not evaluated (${!p*}, ${x@P}, ...) */
	SH_U_POSITIONAL = 1u << 4, /* $1, $@, $# whose values are not known */
	SH_U_COND = 1u << 5,	   /* a value set in a branch that may not have run */
	SH_U_LOOP = 1u << 6,	   /* a value that changes from one loop iteration to the next */
	SH_U_STDIN = 1u << 7,	   /* built from input that is not literal (xargs, read) */
	SH_U_FIND = 1u << 8,	   /* {} of find -exec: the files found */
	SH_U_SCRIPT = 1u << 9,	   /* runs a script file or text whose content is not known */
	SH_U_NAME = 1u << 10,	   /* the program's name is not known */
	SH_U_SYNTAX = 1u << 11,	   /* text that does not parse (unterminated quote, ...) */
	SH_U_LIMIT = 1u << 12,	   /* one of the SH_MAX_* bounds was reached */
	SH_U_OPTION = 1u << 13,	   /* a wrapper's option not understood: its command may be wrong */
	SH_U_USER = 1u << 14,	   /* ~user whose home directory is not known */
	SH_U_DYNAMIC = 1u << 15,   /* run-time state: $?, $$, $!, $RANDOM, time */
	SH_U_CWD = 1u << 16,	   /* a cd whose directory is not known came before */
	SH_U_REMOTE = 1u << 17,	   /* expanded on another host or in a container, not here */
};

/* Word flags. */
enum sh_wflag {
	SH_W_GLOB = 1u << 0,	/* unquoted glob characters: pattern holds the glob(3) form */
	SH_W_PROCSUB = 1u << 1, /* a <(...) or >(...) path; sub names its first command */
	SH_W_NET = 1u << 2,	/* a /dev/tcp/HOST/PORT or /dev/udp/... redirection target */
	SH_W_DECODED = 1u << 3, /* decoded from base64, hex or printf escapes */
	SH_W_CMDSUB = 1u << 4,	/* holds a command substitution; sub names its first command */
};

struct sh_word {
	const char *s;	     /* after expansion and quote removal; NUL-terminated */
	size_t len;	     /* bytes of s (s has no NUL inside: bash drops them) */
	const char *pattern; /* SH_W_GLOB: s with quoted glob characters escaped, else NULL */
	unsigned flags;	     /* SH_W_* */
	unsigned unres;	     /* SH_U_*; when set, s holds the unexpanded spelling where unknown */
	int sub;	     /* SH_W_PROCSUB / SH_W_CMDSUB: index of the command run, else -1 */
};

enum sh_redir_op {
	SH_R_IN,	 /* <    */
	SH_R_OUT,	 /* >    */
	SH_R_APPEND,	 /* >>   */
	SH_R_CLOBBER,	 /* >|   */
	SH_R_RW,	 /* <>   */
	SH_R_DUP_IN,	 /* <&   target: an fd number or "-" */
	SH_R_DUP_OUT,	 /* >&   target: an fd number or "-" */
	SH_R_ALL,	 /* &> and >&FILE: stdout and stderr to a file */
	SH_R_ALL_APPEND, /* &>>  */
	SH_R_HEREDOC,	 /* << and <<-: target is the body (expanded unless quoted) */
	SH_R_HERESTR,	 /* <<<: target is the word; stdin gets it and a newline */
};

struct sh_redir {
	enum sh_redir_op op;
	int fd; /* the descriptor redirected (0 or 1 by default) */
	struct sh_word target;
};

struct sh_assign {
	const char *name;
	struct sh_word value;
};

/* How a command came to run inside its parent. */
enum sh_via {
	SH_VIA_TOP,	  /* the input itself */
	SH_VIA_WRAPPER,	  /* the parent runs it as its argv (env, sudo, nice, timeout, ...) */
	SH_VIA_SHELL,	  /* a shell the parent is runs it as text (-c, its stdin, su -c) */
	SH_VIA_EVAL,	  /* eval, source/., trap of the parent */
	SH_VIA_XARGS,	  /* xargs built it from its input */
	SH_VIA_FIND,	  /* find -exec, -execdir, -ok, -okdir */
	SH_VIA_CMDSUB,	  /* $(...) or `...` in a word of the parent */
	SH_VIA_PROCSUB,	  /* <(...) or >(...) in a word of the parent */
	SH_VIA_FUNCTION,  /* the body of a function the parent calls */
	SH_VIA_REMOTE,	  /* ssh HOST COMMAND: runs on HOST */
	SH_VIA_CONTAINER, /* docker/podman run|exec, kubectl exec: runs in a container */
};

/* Command flags. */
enum sh_cflag {
	SH_C_BACKGROUND = 1u << 0,   /* runs asynchronously (&, sudo -b, nohup ... &) */
	SH_C_SUBSHELL = 1u << 1,     /* in ( ), $( ) or <( ): its cd and variables do not last */
	SH_C_CONDITIONAL = 1u << 2,  /* may not run: after && or ||, in a branch, loop or uncalled
				       function, or after exit */
	SH_C_REMOTE = 1u << 3,	     /* runs on another host (host) */
	SH_C_CONTAINER = 1u << 4,    /* runs in a container (container, mounts) */
	SH_C_EXEC_STDIN = 1u << 5,   /* a shell that runs its stdin as commands */
	SH_C_DELETE = 1u << 6,	     /* find -delete: removes what it finds */
	SH_C_DECODED = 1u << 7,	     /* its text was decoded from base64, hex or printf escapes */
	SH_C_BUILTIN = 1u << 8,	     /* a builtin of the shell, not a program */
	SH_C_FUNCTION = 1u << 9,     /* a call of a function defined in the input */
	SH_C_PRIV = 1u << 10,	     /* runs as another user (sudo, doas, su, runuser, pkexec) */
	SH_C_ENV_CLEARED = 1u << 11, /* env -i: starts with an empty environment */
	SH_C_SCRIPT = 1u << 12,	     /* a shell or source running a script file (argv names it) */
};

struct sh_cmd {
	const struct sh_word *argv;   /* argc words; argv[0] as spelled after expansion */
	int argc;		      /* 0 for a line of redirections only ("> file") */
	const char *name;	      /* basename of argv[0] ("" when argc is 0) */
	const char *cwd;	      /* the directory it runs in, or NULL when not known */
	const char *user;	      /* SH_C_PRIV: the user it runs as ("root" by default) */
	const char *host;	      /* SH_C_REMOTE: ssh's destination */
	const char *container;	      /* SH_C_CONTAINER: the image or container */
	const char *root;	      /* chroot: the directory absolute paths resolve in */
	const struct sh_word *mounts; /* docker -v/--mount specifications, as given */
	int nmounts;
	const struct sh_redir *redirs;
	int nredirs;
	const struct sh_assign *env; /* VAR=x before it, from env, sudo or docker -e */
	int nenv;
	/* Its stdin when known literally: a here-document, a here-string, or the output
	 * of literal commands piped in (echo, printf, base64 -d, ...); else NULL. */
	const char *stdin_text;
	size_t stdin_len;
	unsigned flags; /* SH_C_* */
	unsigned unres; /* SH_U_*: its own and its words' reasons */
	int parent;	/* the command it was found in, or -1; always below its own index */
	enum sh_via via;
	/* The command whose stdout is its stdin, or -1; before it, except for
	 * `cmd < <(feeder)`, where the feeder is its child (via SH_VIA_PROCSUB). */
	int pipe_from;
	int depth; /* parents above it */
};

struct sh_result {
	const struct sh_cmd *cmds;
	size_t ncmds;
	unsigned unres;	  /* SH_U_SYNTAX, SH_U_LIMIT for the input as a whole */
	size_t error_off; /* SH_U_SYNTAX: the offset in the input where parsing stopped */
	size_t steps;	  /* simple commands evaluated (a measure of the work done) */
};

/*
 * Parses and expands len bytes of cmd (need not be NUL-terminated) with what o
 * says (NULL: nothing is known).  On success *out is a result to free with
 * sh_result_free; a syntax error is not a failure: the commands before it are
 * reported and res->unres says SH_U_SYNTAX.
 */
int sh_parse(const char *cmd, size_t len, const struct sh_opts *o, struct sh_result **out);
void sh_result_free(struct sh_result *res);

/* ---- presentation ---------------------------------------------------------------------- */

/* "var,cmdsub" for a set of SH_U_* bits into buf (cut to cap); returns buf. */
const char *sh_unres_names(unsigned unres, char *buf, size_t cap);
/* "wrapper" for SH_VIA_WRAPPER, ... */
const char *sh_via_name(enum sh_via via);

/*
 * One line for command i of res (no newline), the form tests and diagnostics
 * use: argv shell-quoted, each word with a <reasons> suffix when it is not
 * plain, then " #" and the attributes that differ from the defaults (parent,
 * via, pipe, cwd when not o->cwd, user, host, container, mounts, env,
 * redirections, stdin, flags, unres).  Returns the length it needed (as
 * snprintf); buf is NUL-terminated when cap > 0.
 */
size_t sh_format_cmd(const struct sh_result *res, size_t i, const struct sh_opts *o, char *buf,
		     size_t cap);

#endif /* VIGIL_SHELL_H */
