/*
 * control.h - the requests of the CLI on the hook socket: WIRE_STATUS (what
 * `vigil status` prints) and WIRE_CONTROL (rules.reload, alert.acknowledge,
 * alert.resolve).  Only the daemon's own user reaches the socket (mode
 * 0600).  Both run on the loop thread and have no state of their own: what
 * they report belongs to the other components.
 */
#ifndef VIGIL_DAEMON_CONTROL_H
#define VIGIL_DAEMON_CONTROL_H

#include <stddef.h>

#include "daemon.h"

/* The status as compact JSON, vg_malloc'ed (*len bytes); NULL without
 * memory. */
char *vd_control_status(struct vd *d, size_t *len);
/* Runs the JSON control request req (len bytes) from peer; the reply is
 * always a JSON object with "ok", vg_malloc'ed (*len bytes); NULL without
 * memory. */
char *vd_control(struct vd *d, const struct vd_peer *peer, const char *req, size_t len,
		 size_t *n);

#endif /* VIGIL_DAEMON_CONTROL_H */
