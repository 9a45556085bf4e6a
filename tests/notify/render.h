/*
 * render.h - the channel renderings for tests: channel configurations made
 * from JSON as a user writes them, and what each channel would send.
 */
#ifndef VIGIL_TEST_NOTIFY_RENDER_H
#define VIGIL_TEST_NOTIFY_RENDER_H

#include <stdio.h>
#include <stdlib.h>

#include "notify_int.h"

enum { R_WEBHOOK, R_SLACK, R_TEAMS, R_CARD, R_GRAFANA, R_GRAFANA_PLAIN, R_EMAIL, R_SYSLOG };

static struct nf_config render_cfg;

static inline void render_setup(void)
{
	static const char *const text =
		"{\"channels\": [{\"type\": \"webhook\", \"url\": \"http://h.example/\"},"
		" {\"type\": \"slack\", \"url\": \"https://h.example/\"},"
		" {\"type\": \"teams\", \"url\": \"https://h.example/\"},"
		" {\"type\": \"teams\", \"url\": \"https://h.example/\", \"format\": \"messagecard\"},"
		" {\"type\": \"grafana\", \"url\": \"http://g.example\", \"tags\": [\"prod\", \"vigil\"],"
		"  \"dashboard_uid\": \"dash1\", \"panel_id\": 7},"
		" {\"type\": \"grafana\", \"url\": \"http://g.example\"},"
		" {\"type\": \"email\", \"url\": \"smtp://m.example\", \"from\": \"vigil@example.com\","
		"  \"to\": [\"sec@example.com\", \"ops@example.com\"]},"
		" {\"type\": \"syslog\", \"ident\": \"vigil-test\", \"facility\": \"auth\"}]}";
	json_t *j = json_loads(text, 0, NULL);
	struct vg_diag d;

	vg_diag_clear(&d);
	if (!j || nf_config_parse(j, "/state", &render_cfg, &d) < 0) {
		fprintf(stderr, "render_setup: %s\n", d.msg);
		abort();
	}
	json_decref(j);
}

static inline void render_teardown(void)
{
	nf_config_release(&render_cfg);
}

/* What channel i sends for m, into out; -errno. */
static inline int render(size_t i, const struct nf_msg *m, const char *hostname, struct vbuf *out)
{
	return nf_chan_render(&render_cfg.chans[i], hostname, m, out);
}

/* The JSON channel i sends for m, or NULL. */
static inline json_t *render_json(size_t i, const struct nf_msg *m)
{
	struct vbuf b;
	json_t *j = NULL;

	vbuf_init(&b, NF_BODY_MAX);
	if (render(i, m, "h", &b) == 0)
		j = json_loadb((const char *)b.data, b.len, 0, NULL);
	vbuf_release(&b);
	return j;
}

/* The syslog line for m into line (NUL-terminated); its length, or -errno. */
static inline int render_line(const struct nf_msg *m, char *line, size_t cap)
{
	struct vbuf b;
	int rc;

	vbuf_init(&b, NF_BODY_MAX);
	rc = render(R_SYSLOG, m, "h", &b);
	if (rc == 0)
		rc = snprintf(line, cap, "%s", (const char *)b.data);
	vbuf_release(&b);
	return rc;
}

#endif
