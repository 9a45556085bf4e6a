/*
 * path.c - paths: lexical normalization, resolution through the file system,
 * and the classification rules read (covers home, sensitive, persistence).
 *
 * The tables below are data: a pattern is matched with fnmatch(3) without
 * FNM_PATHNAME, so "*" also crosses "/"; a leading "~/" stands for $HOME, and
 * a pattern that starts with "*" matches anywhere.  A glob path (cat
 * ~/.ssh/id_*) is matched as a string against them, which is what a reader
 * of the command would conclude; with resolution on, each match of the glob
 * is classified on its own as well.
 */
#include "fx_int.h"

#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

bool fx_normalize(const char *dir, const char *s, char *out, size_t cap)
{
	char tmp[FX_PATH_MAX];
	size_t n = 0, sl = strlen(s), o = 0;
	const char *p;

	if (s[0] != '/' && dir && dir[0] == '/') {
		size_t dl = strlen(dir);

		if (dl + 1 + sl + 1 > sizeof(tmp))
			return false;
		memcpy(tmp, dir, dl);
		tmp[dl] = '/';
		memcpy(tmp + dl + 1, s, sl + 1);
	} else {
		if (sl + 1 > sizeof(tmp))
			return false;
		memcpy(tmp, s, sl + 1);
	}
	if (cap < 2)
		return false;
	if (tmp[0] == '/')
		out[o++] = '/';
	/* Component by component: "." dropped, ".." removes the one before (not
	 * above the root; kept at the start of a relative path). */
	for (p = tmp; *p;) {
		const char *e;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		e = strchr(p, '/');
		n = e ? (size_t)(e - p) : strlen(p);
		if (n == 1 && p[0] == '.') {
			/* nothing */
		} else if (n == 2 && p[0] == '.' && p[1] == '.' &&
			   !(o >= 2 && out[o - 1] == '.' && out[o - 2] == '.' &&
			     (o == 2 || out[o - 3] == '/'))) {
			if (o > 1 || (o == 1 && out[0] != '/')) {
				while (o > 0 && out[o - 1] != '/')
					o--;
				if (o > 1)
					o--;
				else if (o == 1 && out[0] != '/')
					o = 0;
			} else if (o == 0) {
				memcpy(out, "..", 2);
				o = 2;
			}
		} else {
			if (o > 0 && out[o - 1] != '/')
				out[o++] = '/';
			if (o + n + 1 > cap)
				return false;
			memcpy(out + o, p, n);
			o += n;
		}
		p += n;
	}
	if (o == 0)
		out[o++] = '.';
	out[o] = '\0';
	return true;
}

bool fx_realpath(const char *norm, bool nofollow, char *out, size_t cap)
{
	char buf[PATH_MAX], dir[FX_PATH_MAX];
	const char *slash = strrchr(norm, '/');
	size_t dl, bl;

	if (norm[0] != '/')
		return false;
	if (!nofollow && realpath(norm, buf)) {
		if (strlen(buf) + 1 > cap)
			return false;
		memcpy(out, buf, strlen(buf) + 1);
		return true;
	}
	/* The last component does not exist or is not to be followed: resolve its
	 * directory only. */
	if (!slash || !strcmp(norm, "/"))
		return false;
	dl = (size_t)(slash - norm);
	if (dl + 1 > sizeof(dir))
		return false;
	memcpy(dir, norm, dl);
	dir[dl] = '\0';
	if (!realpath(dl ? dir : "/", buf))
		return false;
	dl = strlen(buf);
	bl = strlen(slash + 1);
	if (dl + 1 + bl + 1 > cap)
		return false;
	memcpy(out, buf, dl);
	if (dl > 1)
		out[dl++] = '/';
	memcpy(out + dl, slash + 1, bl + 1);
	return true;
}

/* ---- tables ------------------------------------------------------------------------------ */

/* Files whose content is a credential or a secret.  Reading one is what an
 * exfiltration starts with; rules decide what follows. */
static const char *const sensitive[] = {
	/* ssh: private keys and agent material (public keys are excluded below) */
	"~/.ssh/*",
	"*/id_rsa",
	"*/id_dsa",
	"*/id_ecdsa",
	"*/id_ed25519",
	/* cloud and cluster credentials */
	"~/.aws/credentials",
	"~/.aws/config",
	"~/.config/gcloud/*",
	"~/.azure/*",
	"~/.kube/config",
	"~/.docker/config.json",
	"~/.vault-token",
	"~/.terraform.d/credentials.tfrc.json",
	/* package registries and VCS tokens */
	"~/.netrc",
	"~/.npmrc",
	"~/.pypirc",
	"~/.git-credentials",
	"~/.config/gh/hosts.yml",
	"~/.cargo/credentials*",
	"~/.gem/credentials",
	/* keys, keyrings and password stores */
	"~/.gnupg/*",
	"~/.password-store/*",
	"~/.local/share/keyrings/*",
	"~/.claude/.credentials.json",
	/* browser profiles (cookies, saved passwords) */
	"~/.mozilla/firefox/*",
	"~/.config/google-chrome/*",
	"~/.config/chromium/*",
	"~/.config/BraveSoftware/*",
	"~/Library/Application Support/Google/Chrome/*",
	/* shell histories (commands typed with secrets in them) */
	"~/.bash_history",
	"~/.zsh_history",
	/* project secrets */
	"*/.env",
	"*/.env.*",
	".env",
	".env.*",
	/* the system's */
	"/etc/shadow",
	"/etc/gshadow",
	"/etc/sudoers",
	"/etc/ssh/ssh_host_*_key",
	"/root/*",
	"/proc/*/environ",
};

/* Matches of the table above that are not secret. */
static const char *const not_sensitive[] = {
	"*.pub",	 "*/known_hosts",   "*/known_hosts.old", "*/.env.example*",
	"*/.env.sample", "*/.env.template", "*/.env.dist",	 "*/.ssh/config",
};

/* Locations that make something run later, by kind. */
static const struct {
	const char *pattern;
	const char *kind;
} persist[] = {
	/* shell start-up files */
	{ "~/.bashrc", "shell-rc" },
	{ "~/.bash_profile", "shell-rc" },
	{ "~/.bash_login", "shell-rc" },
	{ "~/.bash_logout", "shell-rc" },
	{ "~/.profile", "shell-rc" },
	{ "~/.zshrc", "shell-rc" },
	{ "~/.zshenv", "shell-rc" },
	{ "~/.zprofile", "shell-rc" },
	{ "~/.zlogin", "shell-rc" },
	{ "~/.config/fish/*", "shell-rc" },
	{ "/etc/profile", "shell-rc" },
	{ "/etc/profile.d/*", "shell-rc" },
	{ "/etc/bash.bashrc", "shell-rc" },
	{ "/etc/zsh/*", "shell-rc" },
	{ "/etc/environment", "shell-rc" },
	/* cron */
	{ "/etc/crontab", "cron" },
	{ "/etc/cron.*", "cron" },
	{ "/var/spool/cron/*", "cron" },
	{ "/etc/anacrontab", "cron" },
	/* systemd units and timers, system and user */
	{ "/etc/systemd/*", "systemd" },
	{ "/lib/systemd/*", "systemd" },
	{ "/usr/lib/systemd/*", "systemd" },
	{ "~/.config/systemd/*", "systemd" },
	/* other autostart places */
	{ "~/.config/autostart/*", "autostart" },
	{ "/etc/rc.local", "autostart" },
	{ "/etc/init.d/*", "autostart" },
	{ "/etc/xdg/autostart/*", "autostart" },
	{ "/etc/ld.so.preload", "preload" },
	/* git: hooks run on commit, config can run commands (core.pager, ...) */
	{ "*/.git/hooks/*", "git-hook" },
	{ "*/.git/config", "git-config" },
	{ ".git/hooks/*", "git-hook" },
	{ ".git/config", "git-config" },
	{ "~/.gitconfig", "git-config" },
	{ "~/.config/git/*", "git-config" },
	{ "/etc/gitconfig", "git-config" },
	/* ssh: keys that let someone in, client config that runs commands */
	{ "*/.ssh/authorized_keys*", "ssh-authorized-keys" },
	{ "~/.ssh/config", "ssh-config" },
	{ "~/.ssh/rc", "ssh-config" },
	/* sudo rules */
	{ "/etc/sudoers", "sudoers" },
	{ "/etc/sudoers.d/*", "sudoers" },
	/* Claude Code settings: hooks and permissions the agent runs under */
	{ "*/.claude/settings.json", "claude-settings" },
	{ "*/.claude/settings.local.json", "claude-settings" },
	{ "~/.claude.json", "claude-settings" },
	{ "~/.claude/*", "claude-settings" },
	{ "/etc/claude-code/*", "claude-settings" },
};

/* Trees of the system: writing or deleting there is not project work. */
static const char *const system_dirs[] = {
	"/etc", "/usr", "/bin",	 "/sbin", "/lib", "/lib64", "/boot",
	"/var", "/opt", "/root", "/srv",  "/sys", "/proc",  "/dev",
};

/* fnmatch of a table pattern, with "~/" standing for home. */
static bool match(const struct fx_opts *o, const char *pat, const char *path)
{
	char buf[FX_PATH_MAX];

	if (pat[0] == '~' && pat[1] == '/') {
		size_t hl, pl;

		if (!o->home)
			return false;
		hl = strlen(o->home);
		pl = strlen(pat + 1);
		if (hl + pl + 1 > sizeof(buf))
			return false;
		memcpy(buf, o->home, hl);
		memcpy(buf + hl, pat + 1, pl + 1);
		pat = buf;
	}
	return fnmatch(pat, path, 0) == 0;
}

/* path is dir or below it. */
static bool under(const char *path, const char *dir)
{
	size_t dl;

	if (!dir)
		return false;
	dl = strlen(dir);
	if (dl == 1 && dir[0] == '/')
		return path[0] == '/';
	return !strncmp(path, dir, dl) && (path[dl] == '\0' || path[dl] == '/');
}

/* p covers x: x is p or below p. */
static bool covers(const char *p, const char *x)
{
	return x && under(x, p);
}

/* For a glob path: the directory before the first component with a glob
 * character, and whether that component is nothing but glob characters
 * ("*", ".*", "*?"): such a glob stands for everything in the directory. */
static bool glob_base(const char *path, char *base, size_t cap)
{
	const char *g = strpbrk(path, "*?[");
	const char *s, *e;
	size_t bl;
	bool pure = true;

	if (!g)
		return false;
	for (s = g; s > path && s[-1] != '/'; s--)
		;
	bl = s > path + 1 ? (size_t)(s - path - 1) : (s > path ? 1 : 0);
	if (bl + 1 > cap)
		return false;
	memcpy(base, path, bl);
	base[bl] = '\0';
	e = strchr(s, '/');
	for (const char *q = s; q < (e ? e : s + strlen(s)); q++) {
		if (!strchr("*?.", *q))
			pure = false;
	}
	return pure;
}

/* A tree at path holds a sensitive location: the literal start of a pattern
 * (~/.aws/credentials, the directory ~/.ssh of a pattern under it) is path or below it. */
static bool holds_sensitive(const struct fx_opts *o, const char *path)
{
	char buf[FX_PATH_MAX];

	for (size_t i = 0; i < sizeof(sensitive) / sizeof(*sensitive); i++) {
		const char *pat = sensitive[i];
		size_t pl = strcspn(pat, "*?["), hl = 0;

		if (pat[0] == '~' && pat[1] == '/') {
			if (!o->home)
				continue;
			hl = strlen(o->home);
			pat++;
			pl--;
		} else if (pat[0] != '/') {
			continue;
		}
		if (hl + pl + 1 > sizeof(buf))
			continue;
		memcpy(buf, o->home ? o->home : "", hl);
		memcpy(buf + hl, pat, pl);
		buf[hl + pl] = '\0';
		while (hl + pl > 1 && buf[hl + pl - 1] == '/')
			buf[--pl + hl] = '\0';
		if (under(buf, path))
			return true;
	}
	return false;
}

unsigned fx_classify(const struct fx_opts *o, const char *path, bool glob, bool tree)
{
	unsigned f = 0;
	char base[FX_PATH_MAX];
	const char *p = path;

	if (glob && glob_base(path, base, sizeof(base)) && base[0])
		p = base; /* a glob of everything in DIR covers what DIR covers */
	if (!strcmp(p, "/"))
		f |= FX_F_COVERS_ROOT;
	if (o->home && covers(p, o->home))
		f |= FX_F_COVERS_HOME;
	if (o->project && covers(p, o->project))
		f |= FX_F_COVERS_PROJECT;
	if (o->project && path[0] == '/' && !under(path, o->project))
		f |= FX_F_OUTSIDE_PROJECT;
	if (o->home && under(path, o->home) && strcmp(path, o->home))
		f |= FX_F_IN_HOME;
	for (size_t i = 0; i < sizeof(system_dirs) / sizeof(*system_dirs); i++) {
		if (under(path, system_dirs[i]))
			f |= FX_F_SYSTEM;
	}
	if (tree && holds_sensitive(o, p))
		f |= FX_F_SENSITIVE;
	for (size_t i = 0; !(f & FX_F_SENSITIVE) && i < sizeof(sensitive) / sizeof(*sensitive);
	     i++) {
		if (match(o, sensitive[i], path)) {
			f |= FX_F_SENSITIVE;
			break;
		}
	}
	for (size_t i = 0;
	     (f & FX_F_SENSITIVE) && !tree && i < sizeof(not_sensitive) / sizeof(*not_sensitive);
	     i++) {
		if (match(o, not_sensitive[i], path))
			f &= ~(unsigned)FX_F_SENSITIVE;
	}
	return f;
}

const char *fx_persist_kind(const struct fx_opts *o, const char *path)
{
	for (size_t i = 0; i < sizeof(persist) / sizeof(*persist); i++) {
		if (match(o, persist[i].pattern, path))
			return persist[i].kind;
	}
	return NULL;
}
