/*
 * effects.h - what a command line or a file tool does: reads, writes,
 * deletes, executions, network, signals, privilege and persistence.
 *
 * fx_from_shell() reads a result of sh_parse() (src/shell) and, for each
 * simple command, looks its program up in a table of well-known programs
 * and their options (rm, find -delete, curl, git, kill, crontab, ...), adds
 * what its redirections do, what a shell fed by a download executes, and
 * what an interpreter one-liner (python -c, perl -e, node -e, ...) says in
 * its string literals and well-known calls.  fx_from_tool() does the same for
 * the agent's file tools (Read, Write, Edit, Grep, Glob, LS, ...).
 *
 * Each path is kept as spelled and as resolved: normalized lexically (".",
 * "..", "//") against the command's directory, and, when fx_opts.resolve is
 * set, against the real file system (symlinks followed as realpath(3) does,
 * a glob expanded with glob(3) up to FX_MAX_GLOB matches).  Each path is then
 * classified against the project root and $HOME (covers home, outside the
 * project, sensitive, a persistence location, ...).  What the parser could
 * not resolve is carried as FX_F_UNRESOLVED with the SH_U_* reasons: a rule
 * may treat that as suspicious.
 *
 * Contracts: functions return 0 or a negative errno (-EINVAL, -ENOMEM);
 * everything a result points to is owned by it until fx_result_free().  No
 * state is kept between calls; the functions are thread-safe.  Every size is
 * bounded (FX_MAX_*); reaching a bound sets fx_result.truncated, never fails.
 */
#ifndef VIGIL_EFFECTS_H
#define VIGIL_EFFECTS_H

#include "shell.h"

#include <stdbool.h>
#include <stddef.h>

/* Effects kept per result: a long script stays far below; more are dropped
 * and counted in truncated. */
#define FX_MAX_EFFECTS 4096u
/* Matches one glob expands to when resolving against the file system. */
#define FX_MAX_GLOB 256u
/* Bytes of an interpreter's program text scanned for literals and calls. */
#define FX_MAX_SCRIPT (64u * 1024u)
/* Commands handed back to sh_parse from an interpreter (os.system("...")) nest
 * at most this deep. */
#define FX_MAX_NEST 3u

enum fx_kind {
	FX_READ,
	FX_WRITE,
	FX_DELETE,
	FX_EXEC,
	FX_NET,
	FX_SIGNAL,
	FX_PRIV,
	FX_PERSIST,
};

/* Flags of an effect (bit set). */
enum fx_flag {
	FX_F_UNRESOLVED = 1u << 0,	/* the parser could not resolve what it needs (unres) */
	FX_F_RECURSIVE = 1u << 1,	/* a directory and all below it (rm -r, chmod -R) */
	FX_F_GLOB = 1u << 2,		/* spelled as a glob */
	FX_F_COVERS_ROOT = 1u << 3,	/* the path is / (or a glob directly under it) */
	FX_F_COVERS_HOME = 1u << 4,	/* the path is $HOME or contains it */
	FX_F_COVERS_PROJECT = 1u << 5,	/* the path is the project root or contains it */
	FX_F_OUTSIDE_PROJECT = 1u << 6, /* not under the project root */
	FX_F_IN_HOME = 1u << 7,		/* under $HOME */
	FX_F_SENSITIVE = 1u << 8,	/* a credential or secret file (~/.ssh/..., .env, ...) */
	FX_F_SYSTEM = 1u << 9,		/* under /etc, /usr, /boot, /bin, /lib, /var, ... */
	FX_F_SYMLINK = 1u << 10,	/* the resolved form differs through a symlink */
	FX_F_DOWNLOADED = 1u << 11,	/* executes what a download produced (curl | sh) */
	FX_F_LITERAL = 1u << 12,	/* a string literal of a one-liner: access not known */
	FX_F_REMOTE = 1u << 13,		/* on another host or in a container, not here */
	FX_F_COND = 1u << 14,		/* the command may not run (after && or ||, ...) */
};

enum fx_dir {
	FX_D_NONE,
	FX_D_DOWNLOAD, /* data comes in */
	FX_D_UPLOAD,   /* data goes out (POST, push, scp to a host, > /dev/tcp) */
	FX_D_CONNECT,  /* a connection whose direction is not known (ssh, nc) */
	FX_D_LISTEN,   /* accepts connections (nc -l) */
	FX_D_DNS,      /* a name lookup */
};

struct fx_effect {
	enum fx_kind kind;
	unsigned flags;	      /* FX_F_* */
	unsigned unres;	      /* SH_U_* behind FX_F_UNRESOLVED */
	int cmd;	      /* the sh_result command it came from; -1 for a tool */
	const char *spelled;  /* the path, URL, target or user as written, or NULL */
	const char *resolved; /* the path normalized (and resolved), or NULL */
	const char *what;     /* the program or call that does it ("rm", "open", "sudo") */
	/* What kind of thing it is, per kind: FX_PERSIST the location ("cron",
	 * "shell-rc", "git-hook", ...), FX_PRIV how ("run-as", "setuid", ...),
	 * FX_EXEC "script", "path" or "downloaded"; else NULL. */
	const char *detail;
	/* FX_NET */
	const char *host; /* NULL when not known */
	unsigned port;	  /* 0 when not known */
	enum fx_dir dir;
	/* FX_SIGNAL: the signal as given ("9", "KILL"; NULL: the default TERM) and
	 * the target's form: 'p' pid, 'n' name, 'f' pattern over full command lines,
	 * 'u' a systemd unit, 'j' a job. */
	const char *signal;
	char target;
};

struct fx_opts {
	const char *project; /* the project root (absolute), or NULL */
	const char *home;    /* $HOME (absolute), or NULL */
	const char *cwd;     /* the directory of a tool's relative path, or NULL: project */
	bool resolve;	     /* resolve paths against the real file system */
};

struct fx_result {
	struct fx_effect *v;
	size_t n;
	size_t truncated; /* effects dropped at FX_MAX_EFFECTS or FX_MAX_GLOB */
	struct fx_arena *arena;
};

/* The effects of every command of r.  o may not be NULL. */
int fx_from_shell(const struct sh_result *r, const struct fx_opts *o, struct fx_result **out);

/*
 * The effects of one file tool call: tool is the tool's name (Read, Write,
 * Edit, MultiEdit, NotebookEdit, Grep, Glob, LS); path its file_path, path or
 * notebook_path (NULL: the project root); pattern Glob's pattern, or NULL.
 * An unknown tool gives no effect.
 */
int fx_from_tool(const char *tool, const char *path, const char *pattern, const struct fx_opts *o,
		 struct fx_result **out);

void fx_result_free(struct fx_result *res);

/* ---- presentation ---------------------------------------------------------------------- */

const char *fx_kind_name(enum fx_kind k);
const char *fx_dir_name(enum fx_dir d);
/* "recursive,covers-home" for FX_F_* bits into buf (cut to cap); returns buf. */
const char *fx_flag_names(unsigned flags, char *buf, size_t cap);

/*
 * One line for e (no newline), the form tests use:
 *   KIND RESOLVED [<- SPELLED] #CMD WHAT [host=H port=P dir=D] [sig=S target=T] flags
 * Returns the length needed (as snprintf); buf is NUL-terminated when cap > 0.
 */
size_t fx_format(const struct fx_effect *e, char *buf, size_t cap);

#endif /* VIGIL_EFFECTS_H */
