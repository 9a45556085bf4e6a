/*
 * ch_grafana.c - the `grafana` channel: an annotation (POST
 * URL/api/annotations with a bearer token) tagged vigil, severity:LEVEL and
 * rule:NAME plus the configured tags, optionally on one dashboard and panel.
 */
#include "notify_int.h"

#include <stddef.h>
#include <stdio.h>

struct grafana_opts {
	char *token;		/* secret */
	struct nf_strv tags;
	char *dashboard_uid;
	uint32_t panel_id;	/* 0: none */
};

#define OFF(f) offsetof(struct grafana_opts, f)
static const struct nf_key grafana_keys[] = {
	{ "token", NF_K_SECRET, 0, OFF(token), 1, NF_MAX_STR, NULL },
	{ "tags", NF_K_STRV, 0, OFF(tags), 0, NF_MAX_LIST, NULL },
	{ "dashboard_uid", NF_K_STR, 0, OFF(dashboard_uid), 1, 128, NULL },
	{ "panel_id", NF_K_U32, 0, OFF(panel_id), 1, UINT32_MAX, NULL },
};

/* ---- Grafana annotations ---------------------------------------------------------------- */

static json_t *grafana_json(const struct nf_msg *m, const struct grafana_opts *c)
{
	json_t *o = json_object(), *tags = json_array();
	char tag[NF_MAX_ID + 16];
	bool has_vigil = false;

	if (!o || !tags)
		goto fail;
	for (size_t i = 0; i < c->tags.n; i++) {
		if (strcmp(c->tags.v[i], "vigil") == 0)
			has_vigil = true;
		if (json_array_append_new(tags, json_string(c->tags.v[i])) < 0)
			goto fail;
	}
	if (!has_vigil && json_array_append_new(tags, json_string("vigil")) < 0)
		goto fail;
	snprintf(tag, sizeof(tag), "severity:%s", nf_sev_name(m->sev));
	if (json_array_append_new(tags, json_string(tag)) < 0)
		goto fail;
	snprintf(tag, sizeof(tag), "rule:%s", m->rule);
	if (json_array_append_new(tags, nf_jstr_cut(tag, sizeof(tag) - 1)) < 0)
		goto fail;
	if (json_object_set_new(o, "time", json_integer((json_int_t)(m->time_ns / 1000000))) < 0 ||
	    json_object_set_new(o, "tags", tags) < 0 || json_object_set_new(o, "text", json_string(m->text)) < 0)
		goto fail_o;
	if (c->dashboard_uid && json_object_set_new(o, "dashboardUID", json_string(c->dashboard_uid)) < 0)
		goto fail_o;
	if (c->panel_id && json_object_set_new(o, "panelId", json_integer(c->panel_id)) < 0)
		goto fail_o;
	return o;
fail:
	json_decref(tags);
fail_o:
	json_decref(o);
	return NULL;
}

static int grafana_format(const struct nf_chan *c, const struct nf_msg *m, struct vbuf *out)
{
	return nf_dump_json(grafana_json(m, c->cfg.opts), out);
}

static enum nf_res grafana_deliver(struct nf_chan *c, const struct nf_msg *m,
				   uint64_t *retry_after_ms, char *err, size_t errlen)
{
	const struct grafana_opts *o = c->cfg.opts;
	struct nf_http_req req = { .url_suffix = "/api/annotations", .bearer = o->token };

	return nf_http_deliver(c, m, &req, retry_after_ms, err, errlen);
}

const struct nf_chan_type nf_ch_grafana = {
	.name = "grafana",
	.flags = NF_CT_QUEUED | NF_CT_URL,
	.min_sev = NF_SEV_MEDIUM,
	.schemes = nf_http_schemes,
	.keys = grafana_keys,
	.nkeys = VG_ARRAY_LEN(grafana_keys),
	.opts_size = sizeof(struct grafana_opts),
	.format = grafana_format,
	.deliver = grafana_deliver,
};
