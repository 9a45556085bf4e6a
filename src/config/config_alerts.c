/*
 * config_alerts.c - the alerts section of vigil.yaml judged by the notifier
 * (notify_check_channel(), notify_check_config()), with its errors located
 * in the file from the structured diagnostic the notifier returns: the
 * channel's index and the key, never its message text.
 */
#include "config.h"
#include "config_int.h"

#include "common.h"
#include "notify.h"
#include "yj.h"

#include <errno.h>
#include <stdio.h>

/*
 * The line and column of what g is about: the key itself when the key is
 * what is wrong (unknown), else its value; the channel when no key is
 * named; 0 when the document has no location for it.
 */
static void locate(const struct yj_doc *doc, const json_t *alerts, const struct vg_diag *g,
		   int *line, int *col)
{
	const json_t *chans = json_object_get(alerts, "channels");
	const json_t *within = alerts;
	bool on_key = g->code == VG_DIAG_UNKNOWN_KEY || g->code == VG_DIAG_NOT_HERE;
	struct yj_loc l;

	*line = *col = 0;
	if (!doc)
		return;
	if (g->index >= 0) {
		within = json_array_get(chans, (size_t)g->index);
		if (yj_element(doc, chans, (size_t)g->index, &l) == 0) {
			*line = l.line;
			*col = l.col;
		}
	}
	if (!g->key[0] || !json_is_object(within) || yj_member(doc, within, g->key, &l) < 0)
		return;
	*line = on_key ? l.key_line : l.line;
	*col = on_key ? l.key_col : l.col;
}

int cfg_check_alerts(const struct config *c, struct config_diags *d)
{
	const json_t *alerts = config_alerts(config_tree(c));
	const struct yj_doc *doc = cfg_doc(c);
	const json_t *chans;
	struct vg_diag g;
	size_t before = d->errors;
	int line, col, rc;

	if (!alerts)
		return 0;
	chans = json_object_get(alerts, "channels");
	/* Each channel alone first, so every bad one is reported... */
	if (json_is_array(chans) && json_array_size(chans) > 1) {
		for (size_t i = 0; i < json_array_size(chans); i++) {
			rc = notify_check_channel(json_array_get(chans, i), i, &g);
			if (rc == -ENOMEM)
				return rc;
			if (rc < 0) {
				locate(doc, alerts, &g, &line, &col);
				cfg_diag(d, false, line, col, "%s", g.msg);
			}
		}
		if (d->errors > before)
			return (int)(d->errors - before);
	}
	/* ...then the whole section (its own keys, what spans channels). */
	rc = notify_check_config(alerts, &g);
	if (rc == -ENOMEM)
		return rc;
	if (rc < 0) {
		locate(doc, alerts, &g, &line, &col);
		cfg_diag(d, false, line, col, "%s", g.msg);
	}
	return (int)(d->errors - before);
}
