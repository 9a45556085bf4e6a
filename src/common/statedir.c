/*
 * statedir.c - checks that a state directory belongs to the user who is
 * about to write in it, before anything in it is opened.
 *
 * A state directory another user can write to is not ours to trust: that
 * user can plant a symlink where vigild opens its log (root's vigild then
 * appends to any file), remove the socket, or rename ledger/ and keys/ and
 * put their own in place.  So a writer (vigild, vigil import, vigil keys
 * init) refuses, naming the path and the fix, unless:
 *   - the state directory is owned by the effective user and not writable
 *     by group or others;
 *   - keys/ and ledger/ are directories owned by the user, mode 0700 (no
 *     access at all for group or others);
 *   - every other name vigild opens in it, and everything in keys/, ledger/
 *     and spool/, is owned by the user, not writable by group or others,
 *     and not a symbolic link; and what must be a directory, a regular file
 *     or a socket is one.
 * Once that holds, nobody else can add, remove or rename anything in it, so
 * what was checked stays true while the writer runs (files are also opened
 * with O_NOFOLLOW, as a second line).
 */
#include "common.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

enum want { W_DIR_PRIVATE, W_DIR, W_FILE, W_SOCK };

/* The names vigild and the CLI open in the state directory. */
static const struct {
	const char *name;
	enum want want;
} known[] = {
	{ "keys", W_DIR_PRIVATE },  { "ledger", W_DIR_PRIVATE }, { "spool", W_DIR },
	{ "index.db", W_FILE },	    { "index.db-wal", W_FILE },	 { "index.db-shm", W_FILE },
	{ "ledger.head", W_FILE },  { "vigild.pid", W_FILE },	 { "vigild.log", W_FILE },
	{ "alerts.jsonl", W_FILE }, { "vigild.sock", W_SOCK },
};

static const char *type_name(mode_t m)
{
	return S_ISLNK(m)    ? "a symbolic link"
	       : S_ISDIR(m)  ? "a directory"
	       : S_ISREG(m)  ? "a file"
	       : S_ISSOCK(m) ? "a socket"
			     : "a special file";
}

/* Checks one path against what it must be; 0, or -EPERM with err filled. */
static int check_one(const char *path, const struct stat *st, enum want want, char *err,
		     size_t errcap)
{
	uid_t me = geteuid();
	mode_t m = st->st_mode;
	bool dir = want == W_DIR_PRIVATE || want == W_DIR;

	if (S_ISLNK(m)) {
		snprintf(err, errcap,
			 "'%s' is a symbolic link; nothing in the state directory may be one "
			 "(someone could point it at another file). Fix: remove it",
			 path);
		return -EPERM;
	}
	if ((dir && !S_ISDIR(m)) || (want == W_FILE && !S_ISREG(m)) ||
	    (want == W_SOCK && !S_ISSOCK(m))) {
		snprintf(err, errcap, "'%s' is %s, not %s. Fix: move it out of the way", path,
			 type_name(m),
			 dir		  ? "a directory"
			 : want == W_SOCK ? "a socket"
					  : "a regular file");
		return -EPERM;
	}
	if (st->st_uid != me) {
		snprintf(err, errcap,
			 "'%s' is owned by uid %u, not by uid %u who runs this; another user "
			 "could change it. Fix: chown %u '%s' (as root), or use another state "
			 "directory",
			 path, (unsigned)st->st_uid, (unsigned)me, (unsigned)me, path);
		return -EPERM;
	}
	if (want == W_DIR_PRIVATE && (m & 077)) {
		snprintf(err, errcap,
			 "'%s' is open to group or others (mode %04o); it must be 0700. Fix: "
			 "chmod 700 '%s'",
			 path, (unsigned)(m & 07777), path);
		return -EPERM;
	}
	if (m & 022) {
		snprintf(err, errcap,
			 "'%s' is writable by group or others (mode %04o). Fix: chmod go-w '%s'",
			 path, (unsigned)(m & 07777), path);
		return -EPERM;
	}
	return 0;
}

/* Everything inside dir: owned by us, no group/other write, no symlinks. */
static int check_contents(const char *dir, char *err, size_t errcap)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int rc = 0;

	if (!d) {
		rc = -errno;
		snprintf(err, errcap, "cannot read '%s': %s", dir, strerror(errno));
		return rc;
	}
	while (rc == 0 && (de = readdir(d))) {
		char path[4400];
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (vg_path(path, sizeof(path), "%s/%s", dir, de->d_name) < 0) {
			rc = -ENAMETOOLONG;
			snprintf(err, errcap, "path too long in '%s'", dir);
			break;
		}
		if (lstat(path, &st) < 0) {
			if (errno == ENOENT)
				continue; /* gone meanwhile (a spool file drained) */
			rc = -errno;
			snprintf(err, errcap, "cannot check '%s': %s", path, strerror(errno));
			break;
		}
		rc = check_one(path, &st, S_ISDIR(st.st_mode) ? W_DIR : W_FILE, err, errcap);
	}
	closedir(d);
	return rc;
}

int vg_state_dir_check(const char *dir, char *err, size_t errcap)
{
	struct stat st;
	int rc;

	/* The state directory itself may be reached through a symlink (a home
	 * on another disk); what it resolves to is what must be ours. */
	if (stat(dir, &st) < 0) {
		rc = -errno;
		snprintf(err, errcap, "cannot check state directory '%s': %s", dir,
			 strerror(errno));
		return rc;
	}
	if ((rc = check_one(dir, &st, W_DIR, err, errcap)) < 0)
		return rc;
	for (size_t i = 0; i < VG_ARRAY_LEN(known); i++) {
		char path[4400];

		if (vg_path(path, sizeof(path), "%s/%s", dir, known[i].name) < 0) {
			snprintf(err, errcap, "state directory path too long");
			return -ENAMETOOLONG;
		}
		if (lstat(path, &st) < 0) {
			if (errno == ENOENT)
				continue;
			rc = -errno;
			snprintf(err, errcap, "cannot check '%s': %s", path, strerror(errno));
			return rc;
		}
		if ((rc = check_one(path, &st, known[i].want, err, errcap)) < 0)
			return rc;
		if (S_ISDIR(st.st_mode) && (rc = check_contents(path, err, errcap)) < 0)
			return rc;
	}
	return 0;
}

int vg_unlink_socket(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	/* Whatever else is there (a file VIGIL_SOCKET names by mistake, or one
	 * planted to be deleted) is not ours to remove. */
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	if (st.st_uid != geteuid())
		return -EPERM;
	return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
}
