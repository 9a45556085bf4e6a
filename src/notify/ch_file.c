/*
 * ch_file.c - the `file` channel: one JSON line per notification (the
 * generic JSON form, as the webhook sends it) appended to a file, by default
 * STATE/alerts.jsonl: the local record of every alert.
 */
#include "notify_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <unistd.h>

struct file_opts {
	char *path;
};

static const struct nf_key file_keys[] = {
	{ "path", NF_K_STR, 0, offsetof(struct file_opts, path), 1, PATH_MAX - 1, NULL },
};

/* The default path (STATE/alerts.jsonl) and "~/" expansion. */
static int file_validate(struct nf_cfg_ctx *x, struct nf_chan_cfg *c, const char *state_dir)
{
	struct file_opts *o = c->opts;
	char dir[PATH_MAX], buf[PATH_MAX];
	int rc;

	if (!o->path) {
		rc = state_dir ? vg_path(dir, sizeof(dir), "%s", state_dir)
			       : base_state_dir(NULL, dir, sizeof(dir));
		if (rc >= 0)
			rc = vg_path(buf, sizeof(buf), "%s/alerts.jsonl", dir);
		if (rc < 0)
			return nf_cfg_fail(x, VG_DIAG_INVALID, "path",
					   "cannot resolve the state directory");
		o->path = vg_strdup(buf);
		if (!o->path)
			return -ENOMEM;
	}
	rc = nf_cfg_abs_path(x, "path", &o->path);
	if (rc < 0)
		return rc;
	snprintf(c->target, sizeof(c->target), "%.299s", o->path);
	nf_utf8_fix_tail(c->target);
	return 0;
}

static int file_format(const struct nf_chan *c, const struct nf_msg *m, struct vbuf *out)
{
	return nf_dump_json(nf_msg_json(m), out);
}

static bool errno_permanent(int e)
{
	return e == EACCES || e == EPERM || e == EISDIR || e == ENOTDIR || e == EROFS ||
	       e == ENAMETOOLONG || e == ELOOP;
}

static enum nf_res file_send(struct nf_chan *c, const struct nf_msg *m, uint64_t *retry_after_ms,
			   char *err, size_t errlen)
{
	const struct file_opts *o = c->cfg.opts;
	char dir[PATH_MAX], *slash;
	struct vbuf line;
	size_t off = 0;
	int fd = -1, e = 0;
	enum nf_res r = NF_RES_OK;

	(void)retry_after_ms;
	vbuf_init(&line, NF_BODY_MAX);
	if (file_format(c, m, &line) < 0 || vbuf_append(&line, "\n", 1) < 0) {
		snprintf(err, errlen, "cannot render the notification");
		r = NF_RES_FAIL;
		goto out;
	}
	/* The directory is made only when the file cannot be opened for want
	 * of it: not a handful of mkdir calls per notification. */
	fd = open(o->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	e = fd < 0 ? errno : 0;
	if (e == ENOENT) {
		snprintf(dir, sizeof(dir), "%s", o->path);
		slash = strrchr(dir, '/');
		if (slash && slash != dir) {
			*slash = '\0';
			e = -base_mkdir_p(dir, 0700, NULL);
		}
		if (e == 0) {
			fd = open(o->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
			e = fd < 0 ? errno : 0;
		}
	}
	if (e == 0) {
		/* One write of the whole line, newline included, so that lines from
		 * another writer never interleave inside ours. */
		while (off < line.len) {
			ssize_t w = write(fd, line.data + off, line.len - off);

			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				e = w < 0 ? errno : EIO;
				break;
			}
			off += (size_t)w;
		}
	}
	if (e) {
		snprintf(err, errlen, "%s: %s", c->cfg.target, strerror(e));
		r = errno_permanent(e) ? NF_RES_FAIL : NF_RES_RETRY;
	}
out:
	if (fd >= 0)
		close(fd);
	vbuf_release(&line);
	return r;
}

const struct nf_chan_type nf_ch_file = {
	.name = "file",
	.flags = NF_CT_QUEUED | NF_CT_RECORD,
	.min_sev = NF_SEV_INFO,
	.keys = file_keys,
	.nkeys = VG_ARRAY_LEN(file_keys),
	.opts_size = sizeof(struct file_opts),
	.validate = file_validate,
	.format = file_format,
	.deliver = file_send,
};
