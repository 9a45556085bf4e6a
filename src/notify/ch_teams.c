/*
 * ch_teams.c - the `teams` channel: a Microsoft Teams webhook, with an
 * Adaptive Card (what Workflows webhooks and classic incoming webhooks both
 * accept) or, with `format: messagecard`, the legacy Office 365 connector
 * card.
 */
#include "notify_int.h"

#include <stddef.h>

enum { TEAMS_ADAPTIVE = 0, TEAMS_MESSAGECARD = 1 };

struct teams_opts {
	int format;
};

static const struct nf_choice formats[] = { { "adaptive", TEAMS_ADAPTIVE },
					    { "messagecard", TEAMS_MESSAGECARD },
					    { NULL, 0 } };

static const struct nf_key teams_keys[] = {
	{ "format", NF_K_ENUM, 0, offsetof(struct teams_opts, format), 0, 0, formats },
};

/* ---- Microsoft Teams ------------------------------------------------------------------ */

static const char *teams_color(int sev)
{
	return sev >= NF_SEV_HIGH ? "Attention" : sev == NF_SEV_MEDIUM ? "Warning" : "Default";
}

static const char *card_theme(int sev)
{
	static const char *const c[] = { "808080", "2E86C1", "F0A30A", "C4314B", "8B0000" };

	return sev >= 0 && sev <= NF_SEV_CRITICAL ? c[sev] : c[0];
}

static json_t *teams_json(const struct nf_msg *m, int format)
{
	struct nf_fact facts[12];
	size_t nf = nf_collect_facts(m, facts, VG_ARRAY_LEN(facts));
	char head[256], desc[2048];
	json_t *fs = json_array(), *o = NULL;

	nf_heading(m, head, sizeof(head));
	nf_describe(m, desc, sizeof(desc));
	if (!fs)
		return NULL;
	for (size_t i = 0; i < nf; i++)
		if (json_array_append_new(fs, json_pack("{s:s, s:s}",
							format == TEAMS_MESSAGECARD ? "name"
										       : "title",
							facts[i].name, "value",
							facts[i].value)) < 0)
			goto out;
	if (format == TEAMS_MESSAGECARD) {
		/* The connector card format of Office 365 incoming webhooks. */
		o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:[{s:s, s:s, s:O, s:b}]}", "@type",
			      "MessageCard", "@context", "https://schema.org/extensions", "summary",
			      m->text, "themeColor", card_theme(m->sev), "title", head, "sections",
			      "activityTitle", head, "text", desc, "facts", fs, "markdown", 0);
	} else {
		/* A message with one Adaptive Card attachment: what both Teams
		 * Workflows webhooks and classic incoming webhooks accept. */
		json_t *card = json_pack(
			"{s:s, s:s, s:s, s:[{s:s, s:s, s:s, s:s, s:s, s:b}, {s:s, s:s, s:b},"
			" {s:s, s:O}], s:{s:s}}",
			"$schema", "http://adaptivecards.io/schemas/adaptive-card.json", "type",
			"AdaptiveCard", "version", "1.4", "body", "type", "TextBlock", "text", head,
			"weight", "Bolder", "size", "Medium", "color", teams_color(m->sev), "wrap", 1,
			"type", "TextBlock", "text", desc, "wrap", 1, "type", "FactSet", "facts", fs,
			"msteams", "width", "Full");

		if (card)
			o = json_pack("{s:s, s:s, s:[{s:s, s:n, s:o}]}", "type", "message", "summary",
				      m->text, "attachments", "contentType",
				      "application/vnd.microsoft.card.adaptive", "contentUrl",
				      "content", card);
	}
out:
	json_decref(fs);
	return o;
}

static int teams_format(const struct nf_chan *c, const struct nf_msg *m, struct vbuf *out)
{
	const struct teams_opts *o = c->cfg.opts;

	return nf_dump_json(teams_json(m, o->format), out);
}

static enum nf_res teams_deliver(struct nf_chan *c, const struct nf_msg *m,
				 uint64_t *retry_after_ms, char *err, size_t errlen)
{
	return nf_http_deliver(c, m, NULL, retry_after_ms, err, errlen);
}

const struct nf_chan_type nf_ch_teams = {
	.name = "teams",
	.flags = NF_CT_QUEUED | NF_CT_URL,
	.min_sev = NF_SEV_MEDIUM,
	.schemes = nf_http_schemes,
	.keys = teams_keys,
	.nkeys = VG_ARRAY_LEN(teams_keys),
	.opts_size = sizeof(struct teams_opts),
	.format = teams_format,
	.deliver = teams_deliver,
};
