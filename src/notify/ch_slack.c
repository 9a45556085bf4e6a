/*
 * ch_slack.c - the `slack` channel: a Slack incoming webhook, with a Block
 * Kit message (header, the reason, up to ten facts, a context line) and the
 * one-line text as the fallback for notifications.
 */
#include "notify_int.h"

/* ---- Slack (incoming webhook, Block Kit) --------------------------------------------- */

/* Slack's mrkdwn needs &, < and > escaped; a backtick would end a code span. */
static void slack_escape(char *buf, size_t cap, const char *s)
{
	size_t len = 0;

	while (*s) {
		const char *rep = *s == '&' ? "&amp;" : *s == '<' ? "&lt;" : *s == '>' ? "&gt;"
			: *s == '`' ? "'" : NULL;
		size_t n = rep ? strlen(rep) : nf_utf8_len(s);

		if (len + n >= cap)
			break;
		memcpy(buf + len, rep ? rep : s, n);
		len += n;
		s += rep ? 1 : n;
	}
	buf[len] = '\0';
}

static json_t *slack_text(const char *type, const char *s)
{
	return json_pack("{s:s, s:o}", "type", type, "text", nf_jstr_cut(s, 2900));
}

static json_t *slack_json(const struct nf_msg *m)
{
	struct nf_fact facts[12];
	size_t nf = nf_collect_facts(m, facts, VG_ARRAY_LEN(facts));
	char head[160], desc[2048], esc[3000], field[NF_MAX_ID * 6 + 64], tm[40];
	json_t *o = NULL, *blocks, *fields, *b;

	nf_heading(m, head, 150);
	nf_describe(m, desc, sizeof(desc));
	slack_escape(esc, sizeof(esc), desc);
	blocks = json_array();
	fields = json_array();
	if (!blocks || !fields)
		goto fail;
	/* Slack allows at most 10 fields in a section. */
	for (size_t i = 0; i < nf && json_array_size(fields) < 10; i++) {
		char val[NF_MAX_ID * 6];

		slack_escape(val, sizeof(val), facts[i].value);
		snprintf(field, sizeof(field), "*%s*\n%s", facts[i].name, val);
		if (json_array_append_new(fields, slack_text("mrkdwn", field)) < 0)
			goto fail;
	}
	vg_format_time(m->time_ns, tm, sizeof(tm));
	b = json_pack("{s:s, s:{s:s, s:o}}", "type", "header", "text", "type", "plain_text",
		      "text", nf_jstr_cut(head, 150));
	if (json_array_append_new(blocks, b) < 0 ||
	    json_array_append_new(blocks, json_pack("{s:s, s:o}", "type", "section", "text",
						    slack_text("mrkdwn", esc))) < 0 ||
	    json_array_append_new(blocks, json_pack("{s:s, s:O}", "type", "section", "fields",
						    fields)) < 0)
		goto fail;
	snprintf(field, sizeof(field), "vigil %s at %s", nf_kind_name(m->kind), tm);
	if (json_array_append_new(blocks,
				  json_pack("{s:s, s:[o]}", "type", "context", "elements",
					    slack_text("mrkdwn", field))) < 0)
		goto fail;
	o = json_pack("{s:s, s:O}", "text", m->text, "blocks", blocks);
fail:
	json_decref(fields);
	json_decref(blocks);
	return o;
}

static int slack_format(const struct nf_chan *c, const struct nf_msg *m, struct vbuf *out)
{
	return nf_dump_json(slack_json(m), out);
}

static enum nf_res slack_deliver(struct nf_chan *c, const struct nf_msg *m,
				 uint64_t *retry_after_ms, char *err, size_t errlen)
{
	return nf_http_deliver(c, m, NULL, retry_after_ms, err, errlen);
}

const struct nf_chan_type nf_ch_slack = {
	.name = "slack",
	.flags = NF_CT_QUEUED | NF_CT_URL,
	.min_sev = NF_SEV_MEDIUM,
	.schemes = nf_http_schemes,
	.format = slack_format,
	.deliver = slack_deliver,
};
