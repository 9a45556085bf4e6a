/*
 * ch_webhook.c - the `webhook` channel: the generic JSON form of a
 * notification (the alert record, what was notified, when and the one-line
 * text) POSTed or PUT to any URL, with headers of the user's choice.
 */
#include "notify_int.h"

#include <stddef.h>

enum { METHOD_POST = 0, METHOD_PUT = 1 };

struct webhook_opts {
	int method;
	struct nf_strv headers; /* secret: "Name: value" */
};

static const struct nf_choice methods[] = { { "POST", METHOD_POST }, { "PUT", METHOD_PUT },
					    { NULL, 0 } };

static const struct nf_key webhook_keys[] = {
	{ "headers", NF_K_HEADERS, 0, offsetof(struct webhook_opts, headers), 0, NF_MAX_HEADERS,
	  NULL },
	{ "method", NF_K_ENUM, 0, offsetof(struct webhook_opts, method), 0, 0, methods },
};

static int webhook_format(const struct nf_chan *c, const struct nf_msg *m, struct vbuf *out)
{
	return nf_dump_json(nf_msg_json(m), out);
}

static enum nf_res webhook_deliver(struct nf_chan *c, const struct nf_msg *m,
				   uint64_t *retry_after_ms, char *err, size_t errlen)
{
	const struct webhook_opts *o = c->cfg.opts;
	struct nf_http_req req = { .method = o->method == METHOD_PUT ? "PUT" : NULL,
				   .headers = &o->headers };

	return nf_http_deliver(c, m, &req, retry_after_ms, err, errlen);
}

const struct nf_chan_type nf_ch_webhook = {
	.name = "webhook",
	.flags = NF_CT_QUEUED | NF_CT_URL,
	.min_sev = NF_SEV_MEDIUM,
	.schemes = nf_http_schemes,
	.keys = webhook_keys,
	.nkeys = VG_ARRAY_LEN(webhook_keys),
	.opts_size = sizeof(struct webhook_opts),
	.format = webhook_format,
	.deliver = webhook_deliver,
};
