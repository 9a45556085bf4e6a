/*
 * test_wire.c - unit tests of src/wire: frame headers, the envelope text,
 * CRC-32 against zlib, state directory and socket paths, and the spool
 * (append, reader, torn tails, damage in the middle, concurrent appenders).
 */
#include "tap.h"
#include "wire.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

static char tmpdir[256];

static void path_in_tmp(char *out, size_t cap, const char *name)
{
	snprintf(out, cap, "%s/%s", tmpdir, name);
}

/* ---- headers ------------------------------------------------------------------ */

static void test_headers(void)
{
	uint8_t h[WIRE_HDR_LEN];
	unsigned kind, flags, status, code;
	uint32_t el, pl, ol, errl;

	wire_req_hdr_put(h, WIRE_DECIDE, WIRE_F_TRUNCATED, 123, 456789);
	TAP_OK(memcmp(h, "VGW1", 4) == 0, "request header starts with the magic");
	TAP_OK(h[8] == 123 && h[9] == 0 && h[12] == (456789 & 0xff), "lengths are little-endian");
	TAP_OK(wire_req_hdr_get(h, &kind, &flags, &el, &pl) == 0 && kind == WIRE_DECIDE &&
		       flags == WIRE_F_TRUNCATED && el == 123 && pl == 456789,
	       "request header round trip");

	wire_req_hdr_put(h, WIRE_EVENT, 0, WIRE_MAX_ENVELOPE, WIRE_MAX_PAYLOAD);
	TAP_OK(wire_req_hdr_get(h, &kind, &flags, &el, &pl) == 0, "lengths at the limits pass");
	wire_req_hdr_put(h, WIRE_EVENT, 0, WIRE_MAX_ENVELOPE + 1, 0);
	TAP_EQ_U64(wire_req_hdr_get(h, &kind, &flags, &el, &pl), -E2BIG, "envelope over limit");
	wire_req_hdr_put(h, WIRE_EVENT, 0, 0, WIRE_MAX_PAYLOAD + 1);
	TAP_EQ_U64(wire_req_hdr_get(h, &kind, &flags, &el, &pl), -E2BIG, "payload over limit");
	wire_req_hdr_put(h, 0, 0, 0, 0);
	TAP_EQ_U64(wire_req_hdr_get(h, &kind, &flags, &el, &pl), -EPROTO, "kind 0 refused");
	wire_req_hdr_put(h, WIRE_CONTROL + 1, 0, 0, 0);
	TAP_EQ_U64(wire_req_hdr_get(h, &kind, &flags, &el, &pl), -EPROTO, "kind 6 refused");
	wire_req_hdr_put(h, WIRE_CONTROL, 0, 0, 0);
	TAP_OK(wire_req_hdr_get(h, &kind, &flags, &el, &pl) == 0 && kind == WIRE_CONTROL, "control kind accepted");
	wire_req_hdr_put(h, WIRE_EVENT, 0, 0, 0);
	h[3] = '2';
	TAP_EQ_U64(wire_req_hdr_get(h, &kind, &flags, &el, &pl), -EPROTO, "bad request magic");
	wire_req_hdr_put(h, WIRE_EVENT, 0, 0, 0);
	TAP_EQ_U64(wire_ack_hdr_get(h, &status, &code, &ol, &errl), -EPROTO,
		   "a request header is not a reply");

	wire_ack_hdr_put(h, WIRE_OK, 2, 10, 20);
	TAP_OK(memcmp(h, "VGA1", 4) == 0 && h[6] == 2 && h[7] == 0, "reply header layout");
	TAP_OK(wire_ack_hdr_get(h, &status, &code, &ol, &errl) == 0 && status == WIRE_OK &&
		       code == 2 && ol == 10 && errl == 20,
	       "reply header round trip");
	wire_ack_hdr_put(h, WIRE_DECIDED + 1, 0, 0, 0);
	TAP_EQ_U64(wire_ack_hdr_get(h, &status, &code, &ol, &errl), -EPROTO, "unknown status");
	wire_ack_hdr_put(h, WIRE_DECIDED, 2, 3, 0);
	TAP_OK(wire_ack_hdr_get(h, &status, &code, &ol, &errl) == 0 && status == WIRE_DECIDED &&
		       wire_ack_hdr_decision(h) == WIRE_DEC_NONE,
	       "a staged decision is a reply; its decision byte starts at 0");
	wire_ack_hdr_set_decision(h, WIRE_DEC_DENY);
	TAP_OK(h[5] == WIRE_DEC_DENY && wire_ack_hdr_decision(h) == WIRE_DEC_DENY &&
		       wire_ack_hdr_get(h, &status, &code, &ol, &errl) == 0 && code == 2,
	       "the decision byte round-trips and leaves the rest alone");
	h[5] = 9;
	TAP_OK(wire_ack_hdr_decision(h) == WIRE_DEC_NONE, "an unknown decision byte reads as none");
	wire_ack_hdr_put(h, WIRE_OK, 256, 0, 0);
	TAP_EQ_U64(wire_ack_hdr_get(h, &status, &code, &ol, &errl), -EPROTO, "exit code 256");
	wire_ack_hdr_put(h, WIRE_OK, 0, WIRE_MAX_OUT + 1, 0);
	TAP_EQ_U64(wire_ack_hdr_get(h, &status, &code, &ol, &errl), -E2BIG, "stdout over limit");
	wire_ack_hdr_put(h, WIRE_OK, 0, 0, WIRE_MAX_OUT + 1);
	TAP_EQ_U64(wire_ack_hdr_get(h, &status, &code, &ol, &errl), -E2BIG, "stderr over limit");
	wire_ack_hdr_put(h, WIRE_OK, 0, WIRE_MAX_OUT, WIRE_MAX_OUT);
	TAP_OK(wire_ack_hdr_get(h, &status, &code, &ol, &errl) == 0, "reply at the limits");
}

/* ---- CRC ------------------------------------------------------------------------ */

static void test_crc(void)
{
	uint8_t buf[4096];
	int same = 1;

	TAP_EQ_U64(wire_crc32(0, "123456789", 9), 0xCBF43926u, "CRC-32 check value");
	TAP_EQ_U64(wire_crc32(0, "", 0), 0, "CRC of nothing");
	TAP_EQ_U64(wire_crc32(wire_crc32(0, "1234", 4), "56789", 5), 0xCBF43926u,
		   "CRC continues across calls");
	srand(7);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)rand();
	for (size_t n = 0; n <= sizeof(buf); n += 97)
		if (wire_crc32(0, buf, n) != (uint32_t)crc32(0, buf, (uInt)n))
			same = 0;
	TAP_OK(same, "CRC equals zlib's crc32 over random buffers");
}

/* ---- envelope ---------------------------------------------------------------------- */

static void fill_env(struct wire_envelope *e)
{
	memset(e, 0, sizeof(*e));
	snprintf(e->id, sizeof(e->id), "0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b");
	e->time_ns = 1795445525726465097ull;
	e->pid = 4242;
	e->ppid = 1;
	e->uid = 0;
	e->stdin_len = UINT64_MAX;
	snprintf(e->agent, sizeof(e->agent), "claude-code");
	snprintf(e->event, sizeof(e->event), "PreToolUse");
	snprintf(e->cwd, sizeof(e->cwd), "/tmp/a dir/with\nnewline/%%41%%/\r/=eq/caf\xc3\xa9");
	snprintf(e->project_dir, sizeof(e->project_dir), "/srv/proj%%");
	snprintf(e->session, sizeof(e->session), "a8e1c3f0-session");
}

static int env_equal(const struct wire_envelope *a, const struct wire_envelope *b)
{
	return strcmp(a->id, b->id) == 0 && a->time_ns == b->time_ns && a->pid == b->pid &&
	       a->ppid == b->ppid && a->uid == b->uid && a->stdin_len == b->stdin_len &&
	       strcmp(a->agent, b->agent) == 0 && strcmp(a->event, b->event) == 0 &&
	       strcmp(a->cwd, b->cwd) == 0 && strcmp(a->project_dir, b->project_dir) == 0 &&
	       strcmp(a->session, b->session) == 0;
}

static int parse_str(const char *text, struct wire_envelope *out)
{
	return wire_env_parse(text, strlen(text), out);
}

static void test_envelope(void)
{
	static char buf[WIRE_MAX_ENVELOPE + 1];
	struct wire_envelope e, o;
	int n;

	fill_env(&e);
	n = wire_env_format(&e, buf, sizeof(buf));
	TAP_OK(n > 0 && (size_t)n == strlen(buf), "format returns the length");
	TAP_OK(memchr(buf, '\r', (size_t)n) == NULL, "no raw CR in the text");
	TAP_OK(strstr(buf, "cwd=/tmp/a dir/with%0Anewline/%2541%25/%0D/=eq/caf\xc3\xa9\n") != NULL,
	       "'%%', LF and CR are percent-encoded, the rest is verbatim");
	TAP_OK(wire_env_parse(buf, (size_t)n, &o) == 0 && env_equal(&e, &o),
	       "round trip with odd characters");

	/* The longest values the struct can hold, all needing escapes. */
	memset(e.cwd, '%', sizeof(e.cwd) - 1);
	e.cwd[sizeof(e.cwd) - 1] = 0;
	memset(e.project_dir, 'p', sizeof(e.project_dir) - 1);
	e.project_dir[sizeof(e.project_dir) - 1] = 0;
	memset(e.session, 's', sizeof(e.session) - 1);
	e.session[sizeof(e.session) - 1] = 0;
	/* Two full paths of escapes do not fit WIRE_MAX_ENVELOPE: the hook
	 * drops project_dir then cwd in that case (src/hook/main.c). */
	TAP_EQ_U64(wire_env_format(&e, buf, sizeof(buf)), -ENOSPC,
		   "worst-case envelope does not fit the limit");
	e.project_dir[1000] = 0;
	n = wire_env_format(&e, buf, sizeof(buf));
	TAP_OK(n > 0 && wire_env_parse(buf, (size_t)n, &o) == 0 && env_equal(&e, &o),
	       "round trip at the field limits");
	TAP_EQ_U64(wire_env_format(&e, buf, 100), -ENOSPC, "format into a small buffer: ENOSPC");
	TAP_EQ_U64(wire_env_format(&e, buf, 0), -ENOSPC, "format into nothing: ENOSPC");

	/* Unknown values are left out and come back as "" and -1. */
	memset(&e, 0, sizeof(e));
	e.pid = e.ppid = e.uid = -1;
	n = wire_env_format(&e, buf, sizeof(buf));
	TAP_OK(n > 0 && strcmp(buf, "time_ns=0\nstdin_len=0\n") == 0, "empty envelope text");
	TAP_OK(wire_env_parse(buf, (size_t)n, &o) == 0 && o.pid == -1 && o.uid == -1 &&
		       o.cwd[0] == 0 && o.agent[0] == 0,
	       "unknown fields parse back as unknown");
	TAP_OK(wire_env_parse("", 0, &o) == 0 && o.ppid == -1, "an empty envelope is valid");

	TAP_OK(parse_str("pid=12\nfuture_key=whatever=x\nagent=codex\n", &o) == 0 && o.pid == 12 &&
		       strcmp(o.agent, "codex") == 0,
	       "unknown keys are skipped");
	TAP_OK(parse_str("pid=-1\n", &o) == 0 && o.pid == -1, "pid -1 parses");
	TAP_OK(parse_str("cwd=\n", &o) == 0 && o.cwd[0] == 0, "an empty value parses");
	TAP_OK(parse_str("cwd=%2f%2F\n", &o) == 0 && strcmp(o.cwd, "//") == 0,
	       "escapes decode in either case");
	TAP_OK(parse_str("time_ns=18446744073709551615\n", &o) == 0 && o.time_ns == UINT64_MAX,
	       "largest u64 parses");

	TAP_EQ_U64(parse_str("pid=12", &o), -EINVAL, "missing final newline");
	TAP_EQ_U64(parse_str("pid\n", &o), -EINVAL, "line without '='");
	TAP_EQ_U64(parse_str("=12\n", &o), -EINVAL, "empty key");
	TAP_EQ_U64(parse_str("Pid=12\n", &o), -EINVAL, "upper-case key");
	TAP_EQ_U64(parse_str("pid=12\npid=13\n", &o), -EINVAL, "duplicate key");
	TAP_EQ_U64(parse_str("pid=1x\n", &o), -EINVAL, "non-numeric pid");
	TAP_EQ_U64(parse_str("pid=\n", &o), -EINVAL, "empty number");
	TAP_EQ_U64(parse_str("time_ns=18446744073709551616\n", &o), -EINVAL, "u64 overflow");
	TAP_EQ_U64(parse_str("pid=9223372036854775808\n", &o), -EINVAL, "i64 overflow");
	TAP_EQ_U64(parse_str("cwd=abc%4\n", &o), -EINVAL, "escape cut short");
	TAP_EQ_U64(parse_str("cwd=abc%\n", &o), -EINVAL, "lone '%%'");
	TAP_EQ_U64(parse_str("cwd=%zz\n", &o), -EINVAL, "escape not hex");
	TAP_EQ_U64(parse_str("cwd=a%00b\n", &o), -EINVAL, "escaped NUL");
	TAP_EQ_U64(wire_env_parse("cwd=a\0b\n", 8, &o), -EINVAL, "raw NUL in a value");
	TAP_EQ_U64(parse_str("agent=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n", &o), -EINVAL,
		   "over-long agent");
	TAP_EQ_U64(parse_str("id=0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b-and-more\n", &o), -EINVAL,
		   "over-long id");
	TAP_EQ_U64(wire_env_parse(buf, WIRE_MAX_ENVELOPE + 1, &o), -EINVAL,
		   "envelope over the limit");

	/* The id keys deduplication: only a canonical UUID passes. */
	TAP_OK(parse_str("id=0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b\n", &o) == 0 &&
		       !strcmp(o.id, "0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b"),
	       "a UUIDv7 id parses");
	TAP_OK(parse_str("pid=3\n", &o) == 0 && o.id[0] == 0, "no id is unknown, not an error");
	{
		static const char *const bad[] = {
			"../../etc",
			"0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2",	 /* 35 chars */
			"0190A1B2-C3D4-7E5F-8A6B-7C8D9E0F1A2B",	 /* upper case */
			"0190a1b2c3d47e5f8a6b7c8d9e0f1a2b0000",	 /* no dashes */
			"0190a1b2-c3d4-0e5f-8a6b-7c8d9e0f1a2b",	 /* version 0 */
			"0190a1b2-c3d4-7e5f-ca6b-7c8d9e0f1a2b",	 /* variant 110 */
			"0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2g",	 /* not hex */
			"0190a1b2_c3d4-7e5f-8a6b-7c8d9e0f1a2b",	 /* wrong separator */
		};
		char line[128];
		int refused = 0;

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			snprintf(line, sizeof(line), "id=%s\n", bad[i]);
			refused += parse_str(line, &o) == -EINVAL;
			TAP_OK(!wire_uuid_valid(bad[i]), "wire_uuid_valid refuses '%s'", bad[i]);
		}
		TAP_OK(refused == (int)(sizeof(bad) / sizeof(bad[0])),
		       "the envelope refuses every malformed id");
	}
	TAP_OK(parse_str("applied=deny\napplied_by=fail-closed\nspool_reason=timeout\n", &o) == 0 &&
		       !strcmp(o.applied, "deny") && !strcmp(o.applied_by, "fail-closed") &&
		       !strcmp(o.spool_reason, "timeout"),
	       "what the hook applied parses");
	TAP_EQ_U64(parse_str("applied=maybe\n", &o), -EINVAL, "an unknown applied decision");
	TAP_EQ_U64(parse_str("applied_by=magic\n", &o), -EINVAL, "an unknown applied_by");
	TAP_EQ_U64(parse_str("spool_reason=why-not\n", &o), -EINVAL, "an unknown spool reason");
	{
		struct wire_envelope ae, back;
		char text[512];
		int tn;

		memset(&ae, 0, sizeof(ae));
		ae.pid = ae.ppid = ae.uid = -1;
		snprintf(ae.applied, sizeof(ae.applied), "ask");
		snprintf(ae.applied_by, sizeof(ae.applied_by), "rules");
		snprintf(ae.spool_reason, sizeof(ae.spool_reason), "failed");
		tn = wire_env_format(&ae, text, sizeof(text));
		TAP_OK(tn > 0 && wire_env_parse(text, (size_t)tn, &back) == 0 &&
			       !strcmp(back.applied, "ask") && !strcmp(back.applied_by, "rules") &&
			       !strcmp(back.spool_reason, "failed"),
		       "applied, applied_by and spool_reason round-trip");
	}
}

/* ---- paths ------------------------------------------------------------------------------ */

static void test_paths(void)
{
	char out[4096], longp[300];

	unsetenv("VIGIL_SOCKET");
	TAP_OK(wire_socket_path("/srv/s", out, sizeof(out)) == 0 &&
		       strcmp(out, "/srv/s/vigild.sock") == 0,
	       "socket in the state directory");
	setenv("VIGIL_SOCKET", "/run/x.sock", 1);
	TAP_OK(wire_socket_path("/srv/s", out, sizeof(out)) == 0 && strcmp(out, "/run/x.sock") == 0,
	       "VIGIL_SOCKET wins");
	unsetenv("VIGIL_SOCKET");
	memset(longp, 'd', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = 0;
	TAP_EQ_U64(wire_socket_path(longp, out, sizeof(out)), -ENAMETOOLONG,
		   "socket path longer than sun_path");
	longp[100] = 0; /* 100 + "/vigild.sock" = 112 > 107 */
	TAP_EQ_U64(wire_socket_path(longp, out, sizeof(out)), -ENAMETOOLONG,
		   "socket path just over sun_path");
	longp[95] = 0; /* 95 + 12 = 107 fits with its NUL */
	TAP_OK(wire_socket_path(longp, out, sizeof(out)) == 0, "socket path of 107 bytes fits");
}

/* ---- spool ---------------------------------------------------------------------------- */

/* Builds a frame for writer w, sequence s with a payload of plen bytes
 * (a pattern derived from w and s).  Returns a malloc'd frame. */
static uint8_t *make_frame(int w, int s, size_t plen, unsigned kind, size_t *len)
{
	struct wire_envelope e;
	char env[1024];
	uint8_t *f;
	int n;

	memset(&e, 0, sizeof(e));
	snprintf(e.id, sizeof(e.id), "0190a1b2-c3d4-7e5f-8a6b-%06x%06x", (unsigned)w & 0xffffff,
		 (unsigned)s & 0xffffff);
	e.time_ns = (uint64_t)w * 1000000 + (uint64_t)s;
	e.pid = w;
	e.ppid = s;
	e.uid = 1000;
	e.stdin_len = plen;
	snprintf(e.agent, sizeof(e.agent), "claude-code");
	snprintf(e.cwd, sizeof(e.cwd), "/p/%d\n%d", w, s);
	e.pid = w;
	n = wire_env_format(&e, env, sizeof(env));
	if (n < 0)
		return NULL;
	f = malloc(WIRE_HDR_LEN + (size_t)n + plen);
	if (!f)
		return NULL;
	wire_req_hdr_put(f, kind, 0, (uint32_t)n, (uint32_t)plen);
	memcpy(f + WIRE_HDR_LEN, env, (size_t)n);
	for (size_t i = 0; i < plen; i++)
		f[WIRE_HDR_LEN + (size_t)n + i] = (uint8_t)(w * 31 + s * 7 + i);
	*len = WIRE_HDR_LEN + (size_t)n + plen;
	return f;
}

static int append_frame(int fd, int w, int s, size_t plen)
{
	size_t len;
	uint8_t *f = make_frame(w, s, plen, WIRE_EVENT, &len);
	int rc;

	if (!f)
		return -ENOMEM;
	rc = wire_spool_append(fd, f, len);
	free(f);
	return rc;
}

static int payload_ok(const struct wire_spool_rec *r)
{
	int w = (int)r->env.pid, s = (int)r->env.ppid;

	if (r->payload_len != r->env.stdin_len)
		return 0;
	for (size_t i = 0; i < r->payload_len; i++)
		if ((uint8_t)r->payload[i] != (uint8_t)(w * 31 + s * 7 + i))
			return 0;
	return 1;
}

static int open_spool(const char *name, int trunc)
{
	char p[512];

	path_in_tmp(p, sizeof(p), name);
	return open(p, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | (trunc ? O_TRUNC : 0), 0600);
}

/* Reads a spool: records found (ids into seen[] as "w*1000+s" when w<100),
 * and the damage counters. */
struct readout {
	int nrec, bad_payload;
	uint64_t dmg_bytes, dmg_runs;
	int ids[4096];
	uint64_t offsets[4096];
	int rc;
};

static void read_spool(const char *name, struct readout *ro)
{
	struct wire_spool_reader *r;
	struct wire_spool_rec rec;
	char p[512];
	int rc;

	memset(ro, 0, sizeof(*ro));
	path_in_tmp(p, sizeof(p), name);
	ro->rc = wire_spool_open(p, &r);
	if (ro->rc < 0)
		return;
	while ((rc = wire_spool_next(r, &rec)) == 1) {
		if (!payload_ok(&rec))
			ro->bad_payload++;
		if (ro->nrec < 4096) {
			ro->ids[ro->nrec] = (int)(rec.env.pid * 1000 + rec.env.ppid);
			ro->offsets[ro->nrec] = rec.offset;
		}
		ro->nrec++;
	}
	ro->rc = rc;
	wire_spool_damage(r, &ro->dmg_bytes, &ro->dmg_runs);
	wire_spool_close(r);
}

static off_t file_size(const char *name)
{
	char p[512];
	struct stat st;

	path_in_tmp(p, sizeof(p), name);
	return stat(p, &st) == 0 ? st.st_size : -1;
}

static void test_spool_basic(void)
{
	struct readout ro;
	struct wire_spool_reader *r;
	char p[512];
	off_t size2;
	int fd = open_spool("basic.vgw", 1);
	uint8_t junk[16] = { 1, 2, 3 };

	TAP_OK(fd >= 0, "spool file opened");
	TAP_OK(append_frame(fd, 1, 1, 10) == 0 && append_frame(fd, 1, 2, 0) == 0,
	       "two records appended");
	size2 = file_size("basic.vgw");
	TAP_OK(append_frame(fd, 1, 3, 70000) == 0, "a record larger than the read chunk");
	TAP_EQ_U64(wire_spool_append(fd, junk, 8), -EINVAL, "a frame shorter than a header");
	close(fd);

	read_spool("basic.vgw", &ro);
	TAP_OK(ro.rc == 0 && ro.nrec == 3 && ro.bad_payload == 0 && ro.dmg_bytes == 0,
	       "three records read back intact");
	TAP_OK(ro.ids[0] == 1001 && ro.ids[1] == 1002 && ro.ids[2] == 1003, "in order");
	TAP_OK(ro.offsets[0] == 0 && ro.offsets[2] == (uint64_t)size2, "record offsets");

	path_in_tmp(p, sizeof(p), "basic.vgw");
	TAP_OK(wire_spool_open(p, &r) == 0, "reopen for field check");
	{
		struct wire_spool_rec rec;

		TAP_OK(wire_spool_next(r, &rec) == 1 && rec.kind == WIRE_EVENT &&
			       strcmp(rec.env.id, "0190a1b2-c3d4-7e5f-8a6b-000001000001") == 0 &&
			       strcmp(rec.env.cwd, "/p/1\n1") == 0 && rec.env.uid == 1000 &&
			       rec.payload_len == 10,
		       "first record's envelope decoded");
	}
	wire_spool_close(r);

	path_in_tmp(p, sizeof(p), "missing.vgw");
	TAP_EQ_U64(wire_spool_open(p, &r), -ENOENT, "missing spool: ENOENT");
	fd = open_spool("empty.vgw", 1);
	close(fd);
	read_spool("empty.vgw", &ro);
	TAP_OK(ro.rc == 0 && ro.nrec == 0 && ro.dmg_bytes == 0, "empty spool: no records, no damage");

	fd = open(p, O_RDONLY | O_CREAT | O_CLOEXEC, 0600);
	TAP_EQ_U64(wire_spool_append(fd, junk, sizeof(junk)) < 0, 1,
		   "append to a read-only descriptor fails");
	close(fd);
}

static void test_spool_max(void)
{
	struct readout ro;
	int fd = open_spool("max.vgw", 1);

	TAP_OK(append_frame(fd, 2, 1, WIRE_MAX_PAYLOAD) == 0 && append_frame(fd, 2, 2, 5) == 0,
	       "a record with the largest payload");
	close(fd);
	read_spool("max.vgw", &ro);
	TAP_OK(ro.rc == 0 && ro.nrec == 2 && ro.bad_payload == 0 && ro.dmg_bytes == 0,
	       "largest record reads back");
}

static void truncate_to(const char *name, off_t size)
{
	char p[512];

	path_in_tmp(p, sizeof(p), name);
	if (truncate(p, size) != 0)
		perror("truncate");
}

static void test_spool_damage(void)
{
	struct readout ro;
	off_t before;
	int fd;
	uint8_t garbage[300];
	size_t flen;
	uint8_t *f;

	/* Torn tail: the last record cut in its payload, then in its header. */
	fd = open_spool("torn.vgw", 1);
	append_frame(fd, 3, 1, 100);
	append_frame(fd, 3, 2, 100);
	before = file_size("torn.vgw");
	append_frame(fd, 3, 3, 100);
	close(fd);
	truncate_to("torn.vgw", file_size("torn.vgw") - 30);
	read_spool("torn.vgw", &ro);
	TAP_OK(ro.rc == 0 && ro.nrec == 2 && ro.bad_payload == 0, "torn tail: the whole records");
	TAP_OK(ro.dmg_runs == 1 && ro.dmg_bytes == (uint64_t)(file_size("torn.vgw") - before),
	       "torn tail counted as one stretch of its size");
	truncate_to("torn.vgw", before + 7);
	read_spool("torn.vgw", &ro);
	TAP_OK(ro.nrec == 2 && ro.dmg_runs == 1 && ro.dmg_bytes == 7, "tail shorter than a header");

	/* Garbage in the middle: random bytes (with a fake magic in them), and a
	 * record cut short by a writer that died while others kept appending. */
	fd = open_spool("mid.vgw", 1);
	append_frame(fd, 4, 1, 50);
	srand(11);
	for (size_t i = 0; i < sizeof(garbage); i++)
		garbage[i] = (uint8_t)rand();
	memcpy(garbage + 100, "VGW1", 4);
	if (write(fd, garbage, sizeof(garbage)) != (ssize_t)sizeof(garbage))
		perror("write");
	append_frame(fd, 4, 2, 50);
	f = make_frame(4, 99, 5000, WIRE_EVENT, &flen);
	if (f && write(fd, f, flen / 2) != (ssize_t)(flen / 2)) /* torn, no CRC */
		perror("write");
	free(f);
	append_frame(fd, 4, 3, 50);
	append_frame(fd, 4, 4, 50);
	close(fd);
	read_spool("mid.vgw", &ro);
	TAP_OK(ro.rc == 0 && ro.nrec == 4 && ro.bad_payload == 0, "damage in the middle: 4 records");
	TAP_OK(ro.ids[0] == 4001 && ro.ids[1] == 4002 && ro.ids[2] == 4003 && ro.ids[3] == 4004,
	       "the right four, in order");
	TAP_OK(ro.dmg_runs == 2 && ro.dmg_bytes == sizeof(garbage) + flen / 2,
	       "two damaged stretches of the right size");

	/* A flipped payload byte: that record's CRC fails, the next is read. */
	fd = open_spool("flip.vgw", 1);
	append_frame(fd, 5, 1, 40);
	before = file_size("flip.vgw");
	append_frame(fd, 5, 2, 40);
	append_frame(fd, 5, 3, 40);
	close(fd);
	{
		char p[512];
		int rw;
		uint8_t b;

		path_in_tmp(p, sizeof(p), "flip.vgw");
		rw = open(p, O_RDWR | O_CLOEXEC);
		if (pread(rw, &b, 1, before + 60) == 1) {
			b ^= 0x40;
			if (pwrite(rw, &b, 1, before + 60) != 1)
				perror("pwrite");
		}
		close(rw);
	}
	read_spool("flip.vgw", &ro);
	TAP_OK(ro.nrec == 2 && ro.ids[0] == 5001 && ro.ids[1] == 5003 && ro.dmg_runs == 1,
	       "a record with a bad CRC is skipped, its neighbours kept");

	/* A record whose CRC holds but whose envelope is malformed. */
	fd = open_spool("badenv.vgw", 1);
	{
		uint8_t fr[WIRE_HDR_LEN + 8];

		wire_req_hdr_put(fr, WIRE_EVENT, 0, 8, 0);
		memcpy(fr + WIRE_HDR_LEN, "no-equal", 8);
		wire_spool_append(fd, fr, sizeof(fr));
	}
	append_frame(fd, 6, 1, 3);
	close(fd);
	read_spool("badenv.vgw", &ro);
	TAP_OK(ro.nrec == 1 && ro.ids[0] == 6001 && ro.dmg_runs == 1 &&
		       ro.dmg_bytes == WIRE_HDR_LEN + 8 + WIRE_CRC_LEN,
	       "a sealed record with a bad envelope is skipped whole");

	/* Nothing but garbage. */
	fd = open_spool("junk.vgw", 1);
	for (int i = 0; i < 100; i++)
		if (write(fd, garbage, sizeof(garbage)) != (ssize_t)sizeof(garbage))
			perror("write");
	close(fd);
	read_spool("junk.vgw", &ro);
	TAP_OK(ro.rc == 0 && ro.nrec == 0 && ro.dmg_bytes == 100 * sizeof(garbage) &&
		       ro.dmg_runs == 1,
	       "a file of garbage: no records, all bytes counted as one stretch");
}

#define WRITERS 6
#define PER_WRITER 100

static void test_spool_concurrent(void)
{
	struct readout *ro = calloc(1, sizeof(*ro));
	static int seen[WRITERS + 10][PER_WRITER];
	int fd = open_spool("conc.vgw", 1), all_once = 1, exits_ok = 1;

	close(fd);
	for (int w = 0; w < WRITERS; w++) {
		pid_t pid = fork();

		if (pid == 0) {
			int cfd = open_spool("conc.vgw", 0);

			/* Sizes from tiny to well over a pipe buffer, so large
			 * writes overlap in time with small ones. */
			for (int s = 0; s < PER_WRITER; s++)
				if (append_frame(cfd, 10 + w, s, (size_t)((s * 7919) % 90000)) < 0)
					_exit(1);
			_exit(0);
		}
	}
	for (int w = 0; w < WRITERS; w++) {
		int st;

		if (wait(&st) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			exits_ok = 0;
	}
	TAP_OK(exits_ok, "%d processes appended %d records each", WRITERS, PER_WRITER);
	read_spool("conc.vgw", ro);
	TAP_EQ_U64(ro->nrec, WRITERS * PER_WRITER, "every record read");
	TAP_OK(ro->bad_payload == 0 && ro->dmg_bytes == 0, "no damage, no bad payload");
	for (int i = 0; i < ro->nrec && i < 4096; i++) {
		int w = ro->ids[i] / 1000 - 10, s = ro->ids[i] % 1000;

		if (w < 0 || w >= WRITERS || s >= PER_WRITER || seen[w][s]++)
			all_once = 0;
	}
	TAP_OK(all_once, "each record exactly once");
	free(ro);
}

int main(void)
{
	const char *base = getenv("TMPDIR");

	snprintf(tmpdir, sizeof(tmpdir), "%s/vigil-test-wire-XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	test_headers();
	test_crc();
	test_envelope();
	test_paths();
	test_spool_basic();
	test_spool_max();
	test_spool_damage();
	test_spool_concurrent();
	{
		char cmd[400];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			TAP_DIAG("could not remove %s", tmpdir);
	}
	return tap_done();
}
