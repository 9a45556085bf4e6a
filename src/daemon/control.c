/*
 * control.c - status and control requests from the CLI.
 */
#include "control.h"

#include "conn.h"
#include "indexer.h"
#include "vigil_config.h"

#include <string.h>
#include <unistd.h>

/* What the tool-call pairer holds, and what its limits evicted. */
static json_t *pairing_status(struct vd *d)
{
	struct pair_stats ps;

	pthread_mutex_lock(&d->corr_mu);
	pair_stats(d->corr, &ps);
	pthread_mutex_unlock(&d->corr_mu);
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "pending",
			 (json_int_t)ps.pending, "pending_bytes", (json_int_t)ps.pending_bytes,
			 "abandoned_waiting", (json_int_t)ps.doomed, "sessions",
			 (json_int_t)ps.sessions, "session_bytes", (json_int_t)ps.session_bytes,
			 "evicted_pres", (json_int_t)ps.evicted_pres, "evicted_sessions",
			 (json_int_t)ps.evicted_sessions, "dropped", (json_int_t)ps.dropped);
}

char *vd_control_status(struct vd *d, size_t *len)
{
	struct ledger_status ls;
	struct vd_indexer_status is;
	json_t *j;

	ledger_status(d->l, &ls);
	vd_indexer_status(d->indexer, &is);
	j = json_pack("{s:s, s:I, s:s, s:s, s:I,"
		      " s:{s:I, s:I, s:I, s:I, s:I, s:I, s:s?},"
		      " s:{s:I, s:I, s:I, s:I, s:b, s:s?}, s:{s:b},"
		      " s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}}",
		      "version", VIGIL_VERSION, "pid", (json_int_t)getpid(), "state_dir",
		      d->cfg.state_dir, "socket", d->cfg.socket_path, "uptime_s",
		      (json_int_t)((vg_mono_ns() - d->started_ns) / 1000000000ull), "ledger",
		      "next_seq", (json_int_t)ls.next_seq, "durable_seq", (json_int_t)ls.durable_seq,
		      "last_event_seq", (json_int_t)VD_STAT_GET(d, last_event_seq),
		      "sealed_seq", (json_int_t)ls.sealed_seq, "segment", (json_int_t)ls.segment,
		      "checkpoints", (json_int_t)ls.checkpoints, "error",
		      ls.last_error ? strerror(-ls.last_error) : NULL, "index", "last_seq",
		      (json_int_t)is.last_seq, "pending", (json_int_t)is.pending, "pending_bytes",
		      (json_int_t)is.bytes, "left_out", (json_int_t)is.left_out, "synced", is.synced,
		      "error", is.error[0] ? is.error : NULL, "spool", "drain_ready", d->drain_ready,
		      "events", "received", (json_int_t)VD_STAT_GET(d, received), "appended",
		      (json_int_t)VD_STAT_GET(d, appended), "acked", (json_int_t)VD_STAT_GET(d, acked), "failed",
		      (json_int_t)VD_STAT_GET(d, failed), "invalid", (json_int_t)VD_STAT_GET(d, invalid), "refused",
		      (json_int_t)VD_STAT_GET(d, refused), "spooled_drained", (json_int_t)VD_STAT_GET(d, spool_records),
		      "spool_duplicates", (json_int_t)VD_STAT_GET(d, spool_dups), "spool_damaged_bytes",
		      (json_int_t)VD_STAT_GET(d, spool_damaged_bytes), "abandoned",
		      (json_int_t)VD_STAT_GET(d, abandoned), "connections", (json_int_t)d->st.conns_now,
		      "connections_total", (json_int_t)d->st.conns_total);
	if (!j)
		return NULL;
	json_object_set_new(j, "clients", vd_conns_status(d->conns));
	json_object_set_new(j, "pairing", pairing_status(d));
	json_object_set_new(j, "rules", vd_rules_status(d));
	json_object_set_new(j, "alerts", vd_alerts_status(d));
	return vd_json_take(j, JSON_COMPACT | JSON_PRESERVE_ORDER, len);
}

/*
 * Reloading rules blocks the loop while the set compiles, which is what an
 * operator asking for it expects (hooks wait, bounded by their deadline; a
 * thousand rules compile in milliseconds).
 */
char *vd_control(struct vd *d, const struct vd_peer *peer, const char *req, size_t len,
		 size_t *n)
{
	json_t *in = json_loadb(req, len, 0, NULL), *out = NULL;
	const char *op = json_string_value(json_object_get(in, "op"));

	if (!op)
		out = json_pack("{s:b, s:s}", "ok", 0, "error",
				"a control request is a JSON object with \"op\"");
	else if (!strcmp(op, "rules.reload"))
		out = vd_rules_reload(d);
	else if (!strcmp(op, "alert.acknowledge") || !strcmp(op, "alert.resolve"))
		out = vd_alerts_control(d, op, json_string_value(json_object_get(in, "id")),
					json_string_value(json_object_get(in, "note")), peer);
	else
		out = json_pack("{s:b, s:s, s:s}", "ok", 0, "error", "unknown operation", "op", op);
	json_decref(in);
	return vd_json_take(out, JSON_COMPACT, n);
}
