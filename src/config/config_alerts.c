/*
 * config_alerts.c - the alerts section of vigil.yaml judged by the notifier
 * (notify_check_config()), with its errors located in the file.
 */
#include "config.h"
#include "config_int.h"

#include "common.h"
#include "notify.h"
#include "yj.h"

#include <errno.h>
#include <stdio.h>

/* ---- alerts --------------------------------------------------------------------------- */

/* Where notify's message points: "alerts.channels[N]... KEY: ..." or "alerts.KEY: ...". */
static void locate(const struct yj_doc *doc, const json_t *alerts, const char *msg, size_t idx,
		   bool per_channel, int *line, int *col)
{
	const json_t *chans = json_object_get(alerts, "channels");
	struct yj_loc l;

	*line = *col = 0;
	if (!doc)
		return;
	if (per_channel) {
		const json_t *ch = json_array_get(chans, idx);
		const char *p = strstr(msg, "]");
		char key[128];
		size_t n;

		if (yj_element(doc, chans, idx, &l) == 0) {
			*line = l.line;
			*col = l.col;
		}
		/* "]: KEY: reason" or "] (type): KEY: reason" */
		if (!p)
			return;
		p++;
		if (*p == ' ' && p[1] == '(') {
			p = strchr(p, ')');
			if (!p)
				return;
			p++;
		}
		if (*p != ':' || p[1] != ' ')
			return;
		p += 2;
		n = strcspn(p, ": ");
		if (!n || n >= sizeof(key) || p[n] != ':')
			return;
		memcpy(key, p, n);
		key[n] = '\0';
		if (json_is_object(ch) && yj_member(doc, ch, key, &l) == 0) {
			bool unknown = strstr(p + n, "unknown") != NULL;

			*line = unknown ? l.key_line : l.line;
			*col = unknown ? l.key_col : l.col;
		}
		return;
	}
	if (!strncmp(msg, "alerts.window", 13) && yj_member(doc, alerts, "window", &l) == 0) {
		*line = l.line;
		*col = l.col;
	} else if (!strncmp(msg, "alerts.channels", 15) &&
		   yj_member(doc, alerts, "channels", &l) == 0) {
		*line = l.line;
		*col = l.col;
	} else {
		const char *q = strstr(msg, "unknown key '");

		if (q) {
			char key[128];
			size_t n;

			q += 13;
			n = strcspn(q, "'");
			if (n < sizeof(key)) {
				memcpy(key, q, n);
				key[n] = '\0';
				if (yj_member(doc, alerts, key, &l) == 0) {
					*line = l.key_line;
					*col = l.key_col;
				}
			}
		}
	}
}

/* notify's "channels[0]" back to the channel's real index. */
static void renumber(const char *msg, size_t idx, char *out, size_t cap)
{
	static const char pfx[] = "alerts.channels[0]";

	if (!strncmp(msg, pfx, sizeof(pfx) - 1))
		(void)vg_path(out, cap, "alerts.channels[%zu]%s", idx, msg + sizeof(pfx) - 1);
	else
		(void)vg_path(out, cap, "%s", msg);
}

int cfg_check_alerts(const struct config *c, struct config_diags *d)
{
	const json_t *alerts = config_alerts(config_tree(c));
	const struct yj_doc *doc = cfg_doc(c);
	const json_t *chans;
	json_t *probe = NULL;
	char err[1024], msg[1200];
	size_t before = d->errors;
	int line, col, rc = 0;

	if (!alerts)
		return 0;
	chans = json_object_get(alerts, "channels");
	/* Each channel alone first, so every bad one is reported... */
	if (json_is_array(chans) && json_array_size(chans) > 1) {
		for (size_t i = 0; i < json_array_size(chans); i++) {
			probe = json_pack("{s:[O]}", "channels", json_array_get(chans, i));
			if (!probe)
				return -ENOMEM;
			rc = notify_check_config(probe, err, sizeof(err));
			json_decref(probe);
			if (rc == -ENOMEM)
				return rc;
			if (rc < 0) {
				renumber(err, i, msg, sizeof(msg));
				locate(doc, alerts, msg, i, true, &line, &col);
				cfg_diag(d, false, line, col, "%s", msg);
			}
		}
		if (d->errors > before)
			return (int)(d->errors - before);
	}
	/* ...then the whole section (its own keys, what spans channels). */
	rc = notify_check_config(alerts, err, sizeof(err));
	if (rc == -ENOMEM)
		return rc;
	if (rc < 0) {
		size_t idx = 0;
		bool per = sscanf(err, "alerts.channels[%zu]", &idx) == 1;

		locate(doc, alerts, err, idx, per, &line, &col);
		cfg_diag(d, false, line, col, "%s", err);
	}
	return (int)(d->errors - before);
}
