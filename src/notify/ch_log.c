/*
 * ch_log.c - the `log` channel: the one-line text in the daemon's own
 * diagnostic log (not the audit stream), at a level that follows the
 * alert's severity.  It needs no thread: writing a line cannot stall.
 */
#include "notify_int.h"

static enum nf_res log_deliver(struct nf_chan *c, const struct nf_msg *m,
			       uint64_t *retry_after_ms, char *err, size_t errlen)
{
	enum vg_log_level level = m->kind == NF_MSG_UPDATE ? VG_LOG_WARN
				: m->sev >= NF_SEV_HIGH	   ? VG_LOG_ERR
				: m->sev >= NF_SEV_LOW	   ? VG_LOG_WARN
							   : VG_LOG_INFO;

	nf_log(c->n, level, "%s", m->text);
	pthread_mutex_lock(&c->lock);
	c->sent++;
	c->last_ok_ns = m->time_ns;
	pthread_mutex_unlock(&c->lock);
	return NF_RES_OK;
}

const struct nf_chan_type nf_ch_log = {
	.name = "log",
	.flags = NF_CT_RECORD,
	.min_sev = NF_SEV_LOW,
	.deliver = log_deliver,
};
