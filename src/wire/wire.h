/*
 * wire.h - the hook <-> daemon protocol and the spool file.  libc only:
 * vigil-hook links nothing else, so everything here must stay free of
 * OpenSSL, jansson and the rest of src/common.
 *
 * Request frame (hook -> daemon over the unix socket; also the spool record):
 *
 *   off size
 *     0    4  magic "VGW1"
 *     4    1  kind (enum wire_kind)
 *     5    1  flags (WIRE_F_*)
 *     6    2  reserved, 0
 *     8    4  envelope length, little-endian (<= WIRE_MAX_ENVELOPE)
 *    12    4  payload length, little-endian (<= WIRE_MAX_PAYLOAD)
 *    16    .  envelope: text lines "key=value\n" (see struct wire_envelope)
 *     .    .  payload: the agent's stdin bytes, verbatim
 *
 * Reply frame (daemon -> hook):
 *
 *     0    4  magic "VGA1"
 *     4    1  status (enum wire_status)
 *     5    1  decision (enum wire_decision), 0 when the reply carries none
 *     6    2  exit code the hook must exit with, little-endian
 *     8    4  stdout length (<= WIRE_MAX_OUT)
 *    12    4  stderr length (<= WIRE_MAX_OUT)
 *    16    .  stdout bytes, then stderr bytes
 *
 * Staged decisions (a blocking hook that sets WIRE_F_STAGED): the daemon
 * first sends WIRE_DECIDED with the answer, as soon as the rules decided and
 * before the event is written, then WIRE_OK once it is durable (or
 * WIRE_FAILED).  The decision a record carries must be the one the agent
 * applied, and only the kernel can say whether the hook got it in time: at
 * its deadline the hook shuts down its reading side (shutdown(SHUT_RD)) and
 * then reads what is already queued.  On a unix stream socket a send either
 * queues its bytes before that shutdown (the hook reads and applies them) or
 * fails with EPIPE (the hook applied its failure mode), atomically, so the
 * daemon learns from its own send() which decision was applied and records
 * that one.  A frame only partly queued is no answer: the hook ignores it and
 * the daemon, whose send failed, records the failure mode.
 *
 * A spool record is a request frame followed by a 4-byte little-endian
 * CRC-32 (IEEE, as zlib's crc32()) of the frame, written with one write()
 * to a file opened O_APPEND and fsync()ed, so concurrent hooks never
 * interleave and a torn tail is detectable.
 */
#ifndef VIGIL_WIRE_H
#define VIGIL_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define WIRE_MAGIC_REQ "VGW1"
#define WIRE_MAGIC_ACK "VGA1"
#define WIRE_HDR_LEN 16u
#define WIRE_MAX_ENVELOPE 16384u
#define WIRE_MAX_PAYLOAD (8u * 1024u * 1024u)
#define WIRE_MAX_OUT 65536u
#define WIRE_CRC_LEN 4u

/* Names inside the state directory. */
#define WIRE_SOCKET_NAME "vigild.sock"
#define WIRE_SPOOL_DIR "spool"
#define WIRE_SPOOL_FILE "spool.vgw"

enum wire_kind {
	WIRE_EVENT = 1,	   /* record it; reply once durable (exit code 0) */
	WIRE_DECIDE = 2,   /* blocking hook: record it, reply with the decision */
	WIRE_STATUS = 3,   /* control: reply stdout = daemon status as JSON */
	WIRE_SHUTDOWN = 4, /* control: reply, then stop cleanly */
	WIRE_CONTROL = 5,  /* control: payload = JSON {"op":...}; reply stdout = JSON */
};

enum wire_status {
	WIRE_OK = 0,	  /* durable (or control request done) */
	WIRE_REFUSED = 1, /* malformed request; stderr says why; do not retry */
	WIRE_FAILED = 2,  /* not recorded (e.g. disk full); the hook spools it */
	WIRE_DECIDED = 3, /* staged: the decision, not yet durable; another reply follows */
};

/* What a reply decided, in byte 5 of its header, so that a hook that spools
 * after it can say which decision it applied without parsing the answer. */
enum wire_decision {
	WIRE_DEC_NONE = 0,
	WIRE_DEC_ALLOW = 1,
	WIRE_DEC_DENY = 2,
	WIRE_DEC_ASK = 3,
};

#define WIRE_F_TRUNCATED 0x01u	 /* stdin was longer than the payload sent */
#define WIRE_F_FAIL_CLOSED 0x02u /* blocking hook configured to deny when no decision came */
#define WIRE_F_STAGED 0x04u	 /* the hook takes a WIRE_DECIDED reply before the durable one */
#define WIRE_F_STDIN_OPEN 0x08u	 /* the agent held stdin open past the hook's deadline */

/* The envelope.  Strings are NUL-terminated; "" and -1 mean unknown. */
struct wire_envelope {
	char id[40];		/* UUIDv7, 36 chars */
	uint64_t time_ns;	/* receive time, ns since the epoch (UTC) */
	int64_t pid, ppid, uid; /* of the hook process */
	uint64_t stdin_len;	/* bytes read from stdin (> payload when truncated) */
	char agent[32];		/* "claude-code", "codex", "gemini", ... (argv) */
	char event[64];		/* hook event name given on argv, if any */
	char cwd[4096];
	char project_dir[4096]; /* CLAUDE_PROJECT_DIR (or the agent's equivalent) */
	char session[128];	/* CLAUDE_CODE_SESSION_ID, if set */
	/* Set by the hook on what it spools: what it did with the event. */
	char applied[8];       /* decision the agent got: "allow", "deny", "ask" */
	char applied_by[16];   /* "rules" (vigild's answer), "fail-open", "fail-closed" */
	char spool_reason[16]; /* "unreachable", "timeout", "failed", "refused", "spool-only",
				  "no-state" */
};

/* An event id is a UUID in its canonical lowercase form (RFC 9562: 36
 * characters, version 1..8, variant 10), or empty (the daemon makes one).
 * 1 or 0. */
int wire_uuid_valid(const char *s);

/* Header encode/decode.  wire_req_hdr_get checks magic and limits:
 * -EPROTO (bad magic or kind), -E2BIG (a length over its limit). */
void wire_req_hdr_put(uint8_t out[WIRE_HDR_LEN], unsigned kind, unsigned flags, uint32_t env_len,
		      uint32_t payload_len);
int wire_req_hdr_get(const uint8_t in[WIRE_HDR_LEN], unsigned *kind, unsigned *flags,
		     uint32_t *env_len, uint32_t *payload_len);
void wire_ack_hdr_put(uint8_t out[WIRE_HDR_LEN], unsigned status, unsigned exit_code,
		      uint32_t out_len, uint32_t err_len);
int wire_ack_hdr_get(const uint8_t in[WIRE_HDR_LEN], unsigned *status, unsigned *exit_code,
		     uint32_t *out_len, uint32_t *err_len);
/* The decision byte of a reply header (wire_ack_hdr_put leaves it 0). */
void wire_ack_hdr_set_decision(uint8_t hdr[WIRE_HDR_LEN], enum wire_decision d);
enum wire_decision wire_ack_hdr_decision(const uint8_t hdr[WIRE_HDR_LEN]);

/* Envelope text.  format: bytes written (without NUL), or -ENOSPC.
 * parse: 0, or -EINVAL for a malformed line / over-long value / an id that
 * is not a UUID (wire_uuid_valid) / an applied, applied_by or spool_reason
 * outside its list (unknown keys are skipped, so old daemons accept newer
 * hooks). */
int wire_env_format(const struct wire_envelope *e, char *buf, size_t cap);
int wire_env_parse(const char *buf, size_t len, struct wire_envelope *out);

uint32_t wire_crc32(uint32_t crc, const void *p, size_t n);

/* The daemon socket ($VIGIL_SOCKET, else <state>/vigild.sock; the state
 * directory is base_state_dir()'s).  0, -ENAMETOOLONG (a socket path must
 * fit sockaddr_un.sun_path). */
int wire_socket_path(const char *state_dir, char *out, size_t cap);

/* Spool: append one request frame (header+envelope+payload in frame, len
 * bytes) with its CRC as one O_APPEND write + fsync.  0 or -errno. */
int wire_spool_append(int fd, const void *frame, size_t len);

/*
 * Spool reader, for the daemon's drain.  Streams a spool file (memory stays
 * bounded by the largest frame) and hands out records; damaged stretches
 * (bad CRC, bad magic, bad envelope, torn tail) are skipped by scanning for
 * the next magic and counted.
 */
struct wire_spool_rec {
	unsigned kind, flags;
	struct wire_envelope env;
	const char *payload; /* points into the reader's buffer */
	uint32_t payload_len;
	uint64_t offset; /* of the record in the file */
};
struct wire_spool_reader;
int wire_spool_open(const char *path, struct wire_spool_reader **out);
/* The same over an open descriptor (read from its current position); the
 * reader owns fd from then on and closes it in wire_spool_close(), also when
 * this fails. */
int wire_spool_fdopen(int fd, struct wire_spool_reader **out);
/* 1 with a record (valid until the next call), 0 at the end, -errno on a
 * read error. */
int wire_spool_next(struct wire_spool_reader *r, struct wire_spool_rec *rec);
/* Damage seen so far: skipped bytes and stretches. */
void wire_spool_damage(const struct wire_spool_reader *r, uint64_t *bytes, uint64_t *stretches);
void wire_spool_close(struct wire_spool_reader *r);

#endif /* VIGIL_WIRE_H */
