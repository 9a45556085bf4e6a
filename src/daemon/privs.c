/*
 * privs.c - vigild started as root becomes its own user (--user, daemon.user).
 *
 * In system mode vigild parses what every user's agent sends: it must not do
 * that as root.  Root is needed only to prepare what the user cannot make
 * itself (the state directory, the socket's directory, both handed to the
 * user); everything else, the pid lock, the log, the socket, the ledger and
 * the keys, is opened after the switch, by the user, so nothing in the state
 * directory is root's and no root process opens a name the user controls.
 *
 * The switch: supplementary groups, gid, uid (real, effective and saved),
 * then checks that root cannot come back.  The capability bounding set is
 * emptied while we are still root (PR_CAPBSET_DROP needs CAP_SETPCAP), so
 * not even an exec of a setuid or file-capability program could regain one;
 * NO_NEW_PRIVS says the same to the kernel.
 *
 * No libcap: the kernel interfaces used here are three prctl()s and one
 * capget(2) to verify; libcap would be a new run-time dependency (and one
 * more in the package) for twenty lines.
 */
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

int vd_privs_lookup(const char *name, struct vd_user *u, char *err, size_t errcap)
{
	struct passwd pw, *res = NULL;
	char buf[16384];
	int rc;

	memset(u, 0, sizeof(*u));
	if (!name || !*name || strlen(name) >= sizeof(u->name)) {
		snprintf(err, errcap, "--user needs a user name (at most %zu bytes)",
			 sizeof(u->name) - 1);
		return -EINVAL;
	}
	rc = getpwnam_r(name, &pw, buf, sizeof(buf), &res);
	if (rc != 0 || !res) {
		snprintf(err, errcap, "no such user '%s'%s%s", name, rc ? ": " : "",
			 rc ? strerror(rc) : "");
		return rc ? -rc : -ENOENT;
	}
	memcpy(u->name, name, strlen(name) + 1);
	u->uid = pw.pw_uid;
	u->gid = pw.pw_gid;
	return 0;
}

int vd_privs_give_dir(const char *path, const struct vd_user *u, mode_t mode, char *err,
		      size_t errcap)
{
	struct stat st;
	bool created = mkdir(path, mode) == 0;
	int fd, rc = 0;

	if (!created && errno != EEXIST) {
		rc = -errno;
		snprintf(err, errcap, "cannot create '%s': %s", path, strerror(errno));
		return rc;
	}
	/* O_NOFOLLOW: the directory itself, never where a symlink points. */
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		rc = -errno;
		snprintf(err, errcap, "cannot open the directory '%s': %s", path, strerror(errno));
		goto out;
	}
	/* Only root's directory is handed over (a fresh one, or one an
	 * administrator made); another user's stays theirs and the state
	 * directory check refuses it.  Never recursive: what is inside was
	 * written by whoever owned it, and chown -R by root follows no rule the
	 * user could not exploit. */
	/* A new one gets its mode whatever vigild's umask (0077) took away. */
	if (created && fchmod(fd, mode) < 0) {
		rc = -errno;
		snprintf(err, errcap, "cannot set the mode of '%s': %s", path, strerror(errno));
		goto out;
	}
	if (st.st_uid == 0 && u->uid != 0 && fchown(fd, u->uid, u->gid) < 0) {
		rc = -errno;
		snprintf(err, errcap, "cannot give '%s' to %s: %s", path, u->name, strerror(errno));
	}
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

/* Empties the bounding set; needs CAP_SETPCAP (so: before setuid).  Without
 * it (a unit with an empty CapabilityBoundingSet=) what is left is reported. */
static int drop_bounding_set(char *err, size_t errcap)
{
	for (unsigned long cap = 0; cap < 64; cap++) {
		int in = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);

		if (in < 0)
			break; /* EINVAL: past the kernel's last capability */
		if (in == 1 && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
			int e = errno;

			snprintf(err, errcap, "cannot drop capability %lu from the bounding set: %s",
				 cap, strerror(e));
			return -e;
		}
	}
	return 0;
}

/* 0 when the permitted and effective sets are empty. */
static int caps_empty(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct c[_LINUX_CAPABILITY_U32S_3];

	memset(c, 0, sizeof(c));
	if (syscall(SYS_capget, &h, c) < 0)
		return -errno;
	for (size_t i = 0; i < _LINUX_CAPABILITY_U32S_3; i++)
		if (c[i].effective || c[i].permitted)
			return -EPERM;
	return 0;
}

/* After the switch: nothing of root is left, and it cannot come back. */
static int verify(const struct vd_user *u, char *err, size_t errcap)
{
	uid_t r, e, s;
	gid_t rg, eg, sg;

	if (getresuid(&r, &e, &s) < 0 || getresgid(&rg, &eg, &sg) < 0 || r != u->uid ||
	    e != u->uid || s != u->uid || rg != u->gid || eg != u->gid || sg != u->gid) {
		snprintf(err, errcap, "the switch to %s left another uid or gid in place", u->name);
		return -EPERM;
	}
	if (setuid(0) == 0 || seteuid(0) == 0 || setgid(0) == 0) {
		snprintf(err, errcap, "root could be regained after switching to %s", u->name);
		return -EPERM;
	}
	if (caps_empty() < 0) {
		snprintf(err, errcap, "capabilities remain after switching to %s", u->name);
		return -EPERM;
	}
	return 0;
}

int vd_privs_drop(const struct vd_user *u, char *err, size_t errcap)
{
	int rc;

	if (initgroups(u->name, u->gid) < 0) {
		rc = -errno;
		snprintf(err, errcap, "cannot set the groups of %s: %s", u->name, strerror(errno));
		return rc;
	}
	if ((rc = drop_bounding_set(err, errcap)) < 0 && rc != -EPERM)
		return rc;
	if (rc == -EPERM)
		vg_warn("%s (CAP_SETPCAP is not ours); the uid switch still drops the others",
			err);
	if (setresgid(u->gid, u->gid, u->gid) < 0 || setresuid(u->uid, u->uid, u->uid) < 0) {
		rc = -errno;
		snprintf(err, errcap, "cannot switch to %s (uid %u, gid %u): %s", u->name,
			 (unsigned)u->uid, (unsigned)u->gid, strerror(errno));
		return rc;
	}
	/* Ambient capabilities would survive an exec; none is wanted.  EINVAL:
	 * a kernel without them, nothing to clear. */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL) {
		rc = -errno;
		snprintf(err, errcap, "cannot clear the ambient capabilities: %s", strerror(errno));
		return rc;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		rc = -errno;
		snprintf(err, errcap, "cannot set no_new_privs: %s", strerror(errno));
		return rc;
	}
	return verify(u, err, errcap);
}
