/*
 * wire.c - the hook <-> daemon frames, the envelope text, the spool file and
 * its reader.  The byte layout is documented in wire.h.
 *
 * libc only, on purpose: vigil-hook links this file and nothing else so that
 * it starts as fast as a process can (it may be linked statically).  That is
 * why the CRC-32 below is a small table-driven copy of the IEEE 802.3
 * polynomial instead of zlib's crc32(), and why this file does not use
 * src/common (which pulls in OpenSSL for randomness and secrets).
 *
 * Envelope values are text on one line: '%' and '\n' (and '\r', which some
 * tools treat as a line end) are percent-encoded as %25, %0A and %0D when
 * formatting, and every %XX is decoded when parsing, so a directory name with
 * a newline in it survives the trip.
 *
 * The spool reader streams: it keeps one buffer that grows to the largest
 * frame it has met (bounded by the wire limits) and resynchronises after
 * damage by scanning for the next magic one byte after the damaged spot, so
 * a torn record in the middle of the file (a hook killed during its write
 * while others kept appending) costs only that record.
 */
#include "wire.h"

#include "base.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#ifdef VIGIL_SRC
/* The same bans as src/common/banned.h; wire.c cannot include common.h. */
#undef strcpy
#define strcpy(x, y) sorry_strcpy_is_banned
#undef strcat
#define strcat(x, y) sorry_strcat_is_banned
#undef strncpy
#define strncpy(x, y, n) sorry_strncpy_is_banned
#undef sprintf
#define sprintf(...) sorry_sprintf_is_banned
#endif

/* ---- little-endian helpers (common.h has the same; libc only here) ------- */

static void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint16_t get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* ---- headers ------------------------------------------------------------- */

void wire_req_hdr_put(uint8_t out[WIRE_HDR_LEN], unsigned kind, unsigned flags, uint32_t env_len,
		      uint32_t payload_len)
{
	memcpy(out, WIRE_MAGIC_REQ, 4);
	out[4] = (uint8_t)kind;
	out[5] = (uint8_t)flags;
	out[6] = 0;
	out[7] = 0;
	put_le32(out + 8, env_len);
	put_le32(out + 12, payload_len);
}

int wire_req_hdr_get(const uint8_t in[WIRE_HDR_LEN], unsigned *kind, unsigned *flags,
		     uint32_t *env_len, uint32_t *payload_len)
{
	uint32_t el, pl;

	if (memcmp(in, WIRE_MAGIC_REQ, 4) != 0)
		return -EPROTO;
	if (in[4] < WIRE_EVENT || in[4] > WIRE_CONTROL)
		return -EPROTO;
	el = get_le32(in + 8);
	pl = get_le32(in + 12);
	if (el > WIRE_MAX_ENVELOPE || pl > WIRE_MAX_PAYLOAD)
		return -E2BIG;
	*kind = in[4];
	/* Unknown flag bits are passed on, not refused: a newer hook may set
	 * flags an older daemon does not know, and the frame is still good. */
	*flags = in[5];
	*env_len = el;
	*payload_len = pl;
	return 0;
}

void wire_ack_hdr_put(uint8_t out[WIRE_HDR_LEN], unsigned status, unsigned exit_code,
		      uint32_t out_len, uint32_t err_len)
{
	memcpy(out, WIRE_MAGIC_ACK, 4);
	out[4] = (uint8_t)status;
	out[5] = 0;
	put_le16(out + 6, (uint16_t)exit_code);
	put_le32(out + 8, out_len);
	put_le32(out + 12, err_len);
}

int wire_ack_hdr_get(const uint8_t in[WIRE_HDR_LEN], unsigned *status, unsigned *exit_code,
		     uint32_t *out_len, uint32_t *err_len)
{
	unsigned code;
	uint32_t ol, errl;

	if (memcmp(in, WIRE_MAGIC_ACK, 4) != 0)
		return -EPROTO;
	if (in[4] > WIRE_DECIDED)
		return -EPROTO;
	/* A process exit status is 0..255; anything else is a broken daemon. */
	code = get_le16(in + 6);
	if (code > 255)
		return -EPROTO;
	ol = get_le32(in + 8);
	errl = get_le32(in + 12);
	if (ol > WIRE_MAX_OUT || errl > WIRE_MAX_OUT)
		return -E2BIG;
	*status = in[4];
	*exit_code = code;
	*out_len = ol;
	*err_len = errl;
	return 0;
}

void wire_ack_hdr_set_decision(uint8_t hdr[WIRE_HDR_LEN], enum wire_decision d)
{
	hdr[5] = (uint8_t)d;
}

enum wire_decision wire_ack_hdr_decision(const uint8_t hdr[WIRE_HDR_LEN])
{
	/* An older daemon sends 0 here; a value from a newer one is unknown. */
	return hdr[5] <= WIRE_DEC_ASK ? (enum wire_decision)hdr[5] : WIRE_DEC_NONE;
}

/* ---- envelope ------------------------------------------------------------- */

int wire_uuid_valid(const char *s)
{
	static const char lower_hex[] = "0123456789abcdef";

	if (strlen(s) != 36)
		return 0;
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (!s[i] || !strchr(lower_hex, s[i])) {
			return 0;
		}
	}
	/* Version nibble 1..8, variant bits 10xx. */
	return s[14] >= '1' && s[14] <= '8' && strchr("89ab", s[19]) != NULL;
}

/* Is s one of the NULL-terminated list?  "" (unknown) always is. */
static int in_list(const char *s, const char *const *list)
{
	if (!*s)
		return 1;
	for (; *list; list++)
		if (!strcmp(s, *list))
			return 1;
	return 0;
}

static const char *const applied_names[] = { "allow", "deny", "ask", NULL };
static const char *const applied_by_names[] = { "rules", "fail-open", "fail-closed", NULL };
static const char *const spool_reason_names[] = { "unreachable", "timeout",    "failed",
						   "refused",	  "spool-only", "no-state",
						   NULL };

struct fmt {
	char *buf;
	size_t cap, len;
	int err;
};

static void fmt_raw(struct fmt *f, const char *s, size_t n)
{
	if (f->err)
		return;
	/* Keep one byte for the terminating NUL. */
	if (n >= f->cap - f->len) {
		f->err = -ENOSPC;
		return;
	}
	memcpy(f->buf + f->len, s, n);
	f->len += n;
	f->buf[f->len] = 0;
}

/* key=value\n with '%', '\n' and '\r' percent-encoded; src is at most max
 * bytes long (a fixed array that should, but might not, hold a NUL). */
static void fmt_str(struct fmt *f, const char *key, const char *src, size_t max)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strnlen(src, max);
	char esc[3];

	if (n == 0)
		return; /* "" is unknown: leave the key out */
	fmt_raw(f, key, strlen(key));
	fmt_raw(f, "=", 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)src[i];
		size_t run = i;

		if (c != '%' && c != '\n' && c != '\r') {
			/* Copy the run of plain bytes in one go. */
			while (run < n && src[run] != '%' && src[run] != '\n' && src[run] != '\r')
				run++;
			fmt_raw(f, src + i, run - i);
			i = run - 1;
			continue;
		}
		esc[0] = '%';
		esc[1] = hex[c >> 4];
		esc[2] = hex[c & 15];
		fmt_raw(f, esc, 3);
	}
	fmt_raw(f, "\n", 1);
}

static void fmt_u64(struct fmt *f, const char *key, uint64_t v)
{
	char tmp[64];
	int n = snprintf(tmp, sizeof(tmp), "%s=%llu\n", key, (unsigned long long)v);

	fmt_raw(f, tmp, (size_t)n);
}

static void fmt_i64(struct fmt *f, const char *key, int64_t v)
{
	char tmp[64];
	int n;

	if (v < 0)
		return; /* -1 is unknown */
	n = snprintf(tmp, sizeof(tmp), "%s=%lld\n", key, (long long)v);
	fmt_raw(f, tmp, (size_t)n);
}

int wire_env_format(const struct wire_envelope *e, char *buf, size_t cap)
{
	struct fmt f = { .buf = buf, .cap = cap, .len = 0, .err = 0 };

	if (cap == 0)
		return -ENOSPC;
	buf[0] = 0;
	fmt_str(&f, "id", e->id, sizeof(e->id));
	fmt_u64(&f, "time_ns", e->time_ns);
	fmt_i64(&f, "pid", e->pid);
	fmt_i64(&f, "ppid", e->ppid);
	fmt_i64(&f, "uid", e->uid);
	fmt_u64(&f, "stdin_len", e->stdin_len);
	fmt_str(&f, "agent", e->agent, sizeof(e->agent));
	fmt_str(&f, "event", e->event, sizeof(e->event));
	fmt_str(&f, "cwd", e->cwd, sizeof(e->cwd));
	fmt_str(&f, "project_dir", e->project_dir, sizeof(e->project_dir));
	fmt_str(&f, "session", e->session, sizeof(e->session));
	fmt_str(&f, "applied", e->applied, sizeof(e->applied));
	fmt_str(&f, "applied_by", e->applied_by, sizeof(e->applied_by));
	fmt_str(&f, "spool_reason", e->spool_reason, sizeof(e->spool_reason));
	if (f.err)
		return f.err;
	if (f.len > INT_MAX)
		return -ENOSPC;
	return (int)f.len;
}

/* Decodes v[0..n) into out (cap bytes including the NUL). */
static int parse_str(const char *v, size_t n, char *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];

		if (c == '%') {
			int hi, lo;

			if (n - i < 3)
				return -EINVAL;
			hi = base_hexval(v[i + 1]);
			lo = base_hexval(v[i + 2]);
			if (hi < 0 || lo < 0)
				return -EINVAL;
			c = (unsigned char)(hi << 4 | lo);
			i += 2;
		}
		if (c == 0)
			return -EINVAL; /* the field is a C string */
		if (o + 1 >= cap)
			return -EINVAL; /* over-long value */
		out[o++] = (char)c;
	}
	out[o] = 0;
	return 0;
}

static int parse_u64(const char *v, size_t n, uint64_t *out)
{
	uint64_t x = 0;

	if (n == 0 || n > 20)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		unsigned d;

		if (v[i] < '0' || v[i] > '9')
			return -EINVAL;
		d = (unsigned)(v[i] - '0');
		if (x > (UINT64_MAX - d) / 10)
			return -EINVAL;
		x = x * 10 + d;
	}
	*out = x;
	return 0;
}

static int parse_i64(const char *v, size_t n, int64_t *out)
{
	uint64_t x;
	int neg = n > 0 && v[0] == '-';
	int rc = parse_u64(v + neg, n - (size_t)neg, &x);

	if (rc < 0)
		return rc;
	if (x > (uint64_t)INT64_MAX)
		return -EINVAL;
	*out = neg ? -(int64_t)x : (int64_t)x;
	return 0;
}

enum env_key {
	K_ID,
	K_TIME,
	K_PID,
	K_PPID,
	K_UID,
	K_STDIN_LEN,
	K_AGENT,
	K_EVENT,
	K_CWD,
	K_PROJECT,
	K_SESSION,
	K_APPLIED,
	K_APPLIED_BY,
	K_SPOOL_REASON,
	K_COUNT,
};

static const char *const env_keys[K_COUNT] = {
	"id",	 "time_ns", "pid", "ppid",	  "uid",     "stdin_len",
	"agent", "event",   "cwd", "project_dir", "session", "applied", "applied_by", "spool_reason",
};

/* Sets the field of key k from the value v[0..n). */
static int env_set(struct wire_envelope *e, enum env_key k, const char *v, size_t n)
{
	switch (k) {
	case K_ID:
		return parse_str(v, n, e->id, sizeof(e->id));
	case K_TIME:
		return parse_u64(v, n, &e->time_ns);
	case K_PID:
		return parse_i64(v, n, &e->pid);
	case K_PPID:
		return parse_i64(v, n, &e->ppid);
	case K_UID:
		return parse_i64(v, n, &e->uid);
	case K_STDIN_LEN:
		return parse_u64(v, n, &e->stdin_len);
	case K_AGENT:
		return parse_str(v, n, e->agent, sizeof(e->agent));
	case K_EVENT:
		return parse_str(v, n, e->event, sizeof(e->event));
	case K_CWD:
		return parse_str(v, n, e->cwd, sizeof(e->cwd));
	case K_PROJECT:
		return parse_str(v, n, e->project_dir, sizeof(e->project_dir));
	case K_SESSION:
		return parse_str(v, n, e->session, sizeof(e->session));
	case K_APPLIED:
		return parse_str(v, n, e->applied, sizeof(e->applied));
	case K_APPLIED_BY:
		return parse_str(v, n, e->applied_by, sizeof(e->applied_by));
	case K_SPOOL_REASON:
		return parse_str(v, n, e->spool_reason, sizeof(e->spool_reason));
	default:
		return 0;
	}
}

int wire_env_parse(const char *buf, size_t len, struct wire_envelope *out)
{
	struct wire_envelope e;
	unsigned seen = 0;
	size_t pos = 0;
	int rc = 0;

	memset(&e, 0, sizeof(e));
	e.pid = e.ppid = e.uid = -1;
	if (len > WIRE_MAX_ENVELOPE)
		return -EINVAL;
	while (pos < len) {
		const char *line = buf + pos;
		const char *nl = memchr(line, '\n', len - pos);
		const char *eq;
		size_t klen, vlen;
		int k;

		/* Every line, the last included, ends with '\n': a missing one
		 * means the envelope was cut. */
		if (!nl)
			return -EINVAL;
		eq = memchr(line, '=', (size_t)(nl - line));
		if (!eq || eq == line)
			return -EINVAL;
		klen = (size_t)(eq - line);
		vlen = (size_t)(nl - eq - 1);
		for (size_t i = 0; i < klen; i++) {
			char c = line[i];

			if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
				return -EINVAL;
		}
		pos = (size_t)(nl - buf) + 1;
		for (k = 0; k < K_COUNT; k++)
			if (strlen(env_keys[k]) == klen && memcmp(env_keys[k], line, klen) == 0)
				break;
		if (k == K_COUNT)
			continue; /* a newer hook's key: skip it */
		/* A key given twice is ambiguous; an auditor must not guess. */
		if (seen & (1u << k))
			return -EINVAL;
		seen |= 1u << k;
		rc = env_set(&e, (enum env_key)k, eq + 1, vlen);
		if (rc < 0)
			return rc;
	}
	/* The id keys deduplication and names the record: a path, a second
	 * event's id in another form, or any other string must not pass. */
	if (!wire_uuid_valid(e.id) && e.id[0])
		return -EINVAL;
	if (!in_list(e.applied, applied_names) || !in_list(e.applied_by, applied_by_names) ||
	    !in_list(e.spool_reason, spool_reason_names))
		return -EINVAL;
	*out = e;
	return 0;
}

/* ---- CRC-32 ---------------------------------------------------------------- */

/* IEEE 802.3, reflected polynomial 0xEDB88320: the same values as zlib's
 * crc32(), which vigil-hook cannot link (see the top of this file). */
static const uint32_t crc_table[256] = {
	0x00000000, 0x77073096, 0xee0e612c, 0x990951ba, 0x076dc419, 0x706af48f, 0xe963a535,
	0x9e6495a3, 0x0edb8832, 0x79dcb8a4, 0xe0d5e91e, 0x97d2d988, 0x09b64c2b, 0x7eb17cbd,
	0xe7b82d07, 0x90bf1d91, 0x1db71064, 0x6ab020f2, 0xf3b97148, 0x84be41de, 0x1adad47d,
	0x6ddde4eb, 0xf4d4b551, 0x83d385c7, 0x136c9856, 0x646ba8c0, 0xfd62f97a, 0x8a65c9ec,
	0x14015c4f, 0x63066cd9, 0xfa0f3d63, 0x8d080df5, 0x3b6e20c8, 0x4c69105e, 0xd56041e4,
	0xa2677172, 0x3c03e4d1, 0x4b04d447, 0xd20d85fd, 0xa50ab56b, 0x35b5a8fa, 0x42b2986c,
	0xdbbbc9d6, 0xacbcf940, 0x32d86ce3, 0x45df5c75, 0xdcd60dcf, 0xabd13d59, 0x26d930ac,
	0x51de003a, 0xc8d75180, 0xbfd06116, 0x21b4f4b5, 0x56b3c423, 0xcfba9599, 0xb8bda50f,
	0x2802b89e, 0x5f058808, 0xc60cd9b2, 0xb10be924, 0x2f6f7c87, 0x58684c11, 0xc1611dab,
	0xb6662d3d, 0x76dc4190, 0x01db7106, 0x98d220bc, 0xefd5102a, 0x71b18589, 0x06b6b51f,
	0x9fbfe4a5, 0xe8b8d433, 0x7807c9a2, 0x0f00f934, 0x9609a88e, 0xe10e9818, 0x7f6a0dbb,
	0x086d3d2d, 0x91646c97, 0xe6635c01, 0x6b6b51f4, 0x1c6c6162, 0x856530d8, 0xf262004e,
	0x6c0695ed, 0x1b01a57b, 0x8208f4c1, 0xf50fc457, 0x65b0d9c6, 0x12b7e950, 0x8bbeb8ea,
	0xfcb9887c, 0x62dd1ddf, 0x15da2d49, 0x8cd37cf3, 0xfbd44c65, 0x4db26158, 0x3ab551ce,
	0xa3bc0074, 0xd4bb30e2, 0x4adfa541, 0x3dd895d7, 0xa4d1c46d, 0xd3d6f4fb, 0x4369e96a,
	0x346ed9fc, 0xad678846, 0xda60b8d0, 0x44042d73, 0x33031de5, 0xaa0a4c5f, 0xdd0d7cc9,
	0x5005713c, 0x270241aa, 0xbe0b1010, 0xc90c2086, 0x5768b525, 0x206f85b3, 0xb966d409,
	0xce61e49f, 0x5edef90e, 0x29d9c998, 0xb0d09822, 0xc7d7a8b4, 0x59b33d17, 0x2eb40d81,
	0xb7bd5c3b, 0xc0ba6cad, 0xedb88320, 0x9abfb3b6, 0x03b6e20c, 0x74b1d29a, 0xead54739,
	0x9dd277af, 0x04db2615, 0x73dc1683, 0xe3630b12, 0x94643b84, 0x0d6d6a3e, 0x7a6a5aa8,
	0xe40ecf0b, 0x9309ff9d, 0x0a00ae27, 0x7d079eb1, 0xf00f9344, 0x8708a3d2, 0x1e01f268,
	0x6906c2fe, 0xf762575d, 0x806567cb, 0x196c3671, 0x6e6b06e7, 0xfed41b76, 0x89d32be0,
	0x10da7a5a, 0x67dd4acc, 0xf9b9df6f, 0x8ebeeff9, 0x17b7be43, 0x60b08ed5, 0xd6d6a3e8,
	0xa1d1937e, 0x38d8c2c4, 0x4fdff252, 0xd1bb67f1, 0xa6bc5767, 0x3fb506dd, 0x48b2364b,
	0xd80d2bda, 0xaf0a1b4c, 0x36034af6, 0x41047a60, 0xdf60efc3, 0xa867df55, 0x316e8eef,
	0x4669be79, 0xcb61b38c, 0xbc66831a, 0x256fd2a0, 0x5268e236, 0xcc0c7795, 0xbb0b4703,
	0x220216b9, 0x5505262f, 0xc5ba3bbe, 0xb2bd0b28, 0x2bb45a92, 0x5cb36a04, 0xc2d7ffa7,
	0xb5d0cf31, 0x2cd99e8b, 0x5bdeae1d, 0x9b64c2b0, 0xec63f226, 0x756aa39c, 0x026d930a,
	0x9c0906a9, 0xeb0e363f, 0x72076785, 0x05005713, 0x95bf4a82, 0xe2b87a14, 0x7bb12bae,
	0x0cb61b38, 0x92d28e9b, 0xe5d5be0d, 0x7cdcefb7, 0x0bdbdf21, 0x86d3d2d4, 0xf1d4e242,
	0x68ddb3f8, 0x1fda836e, 0x81be16cd, 0xf6b9265b, 0x6fb077e1, 0x18b74777, 0x88085ae6,
	0xff0f6a70, 0x66063bca, 0x11010b5c, 0x8f659eff, 0xf862ae69, 0x616bffd3, 0x166ccf45,
	0xa00ae278, 0xd70dd2ee, 0x4e048354, 0x3903b3c2, 0xa7672661, 0xd06016f7, 0x4969474d,
	0x3e6e77db, 0xaed16a4a, 0xd9d65adc, 0x40df0b66, 0x37d83bf0, 0xa9bcae53, 0xdebb9ec5,
	0x47b2cf7f, 0x30b5ffe9, 0xbdbdf21c, 0xcabac28a, 0x53b39330, 0x24b4a3a6, 0xbad03605,
	0xcdd70693, 0x54de5729, 0x23d967bf, 0xb3667a2e, 0xc4614ab8, 0x5d681b02, 0x2a6f2b94,
	0xb40bbe37, 0xc30c8ea1, 0x5a05df1b, 0x2d02ef8d,
};

uint32_t wire_crc32(uint32_t crc, const void *p, size_t n)
{
	const uint8_t *b = p;

	crc = ~crc;
	while (n--)
		crc = crc_table[(crc ^ *b++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

/* ---- paths ------------------------------------------------------------------ */

static int put_path(char *out, size_t cap, const char *a, const char *b)
{
	int n = snprintf(out, cap, "%s%s", a, b);

	if (n < 0 || (size_t)n >= cap)
		return -ENAMETOOLONG;
	return 0;
}

int wire_socket_path(const char *state_dir, char *out, size_t cap)
{
	struct sockaddr_un sun;
	const char *v = getenv("VIGIL_SOCKET");
	size_t max = cap < sizeof(sun.sun_path) ? cap : sizeof(sun.sun_path);
	int rc;

	if (v && *v)
		rc = put_path(out, max, v, "");
	else
		rc = put_path(out, max, state_dir, "/" WIRE_SOCKET_NAME);
	if (rc < 0 && cap > 0)
		out[0] = 0;
	return rc;
}

/* ---- spool writer ------------------------------------------------------------- */

int wire_spool_append(int fd, const void *frame, size_t len)
{
	uint8_t crc[WIRE_CRC_LEN];
	struct iovec iov[2];
	size_t total = len + WIRE_CRC_LEN;

	if (len < WIRE_HDR_LEN || len > WIRE_HDR_LEN + WIRE_MAX_ENVELOPE + WIRE_MAX_PAYLOAD)
		return -EINVAL;
	put_le32(crc, wire_crc32(0, frame, len));
	/*
	 * One writev() on an O_APPEND file: Linux holds the inode lock for the
	 * whole call on a regular file, so records from concurrent hooks never
	 * interleave.  A short write (disk full, a signal) leaves a torn record
	 * that the reader skips; the record is then written again whole, once,
	 * rather than finished piecemeal where another hook may have appended
	 * in between.
	 */
	for (int attempt = 0; attempt < 2; attempt++) {
		ssize_t n;

		iov[0].iov_base = (void *)(uintptr_t)frame;
		iov[0].iov_len = len;
		iov[1].iov_base = crc;
		iov[1].iov_len = WIRE_CRC_LEN;
		do
			n = writev(fd, iov, 2);
		while (n < 0 && errno == EINTR);
		if (n < 0)
			return -errno;
		if ((size_t)n == total) {
			if (fsync(fd) < 0)
				return -errno;
			return 0;
		}
	}
	return -EIO;
}

/* ---- spool reader ----------------------------------------------------------- */

#define SPOOL_MAX_REC ((size_t)WIRE_HDR_LEN + WIRE_MAX_ENVELOPE + WIRE_MAX_PAYLOAD + WIRE_CRC_LEN)
#define SPOOL_READ_CHUNK ((size_t)65536)

struct wire_spool_reader {
	int fd;
	int eof;
	uint8_t *buf;
	size_t cap;	    /* allocated */
	size_t start, end;  /* unread bytes are buf[start..end) */
	uint64_t buf_off;   /* file offset of buf[0] */
	uint64_t dmg_bytes; /* skipped so far */
	uint64_t dmg_runs;
	int in_damage; /* the last bytes handled were skipped */
};

int wire_spool_fdopen(int fd, struct wire_spool_reader **out)
{
	struct wire_spool_reader *r = calloc(1, sizeof(*r));

	*out = NULL;
	if (!r) {
		close(fd);
		return -ENOMEM;
	}
	r->cap = SPOOL_READ_CHUNK;
	r->buf = malloc(r->cap);
	if (!r->buf) {
		close(fd);
		free(r);
		return -ENOMEM;
	}
	r->fd = fd;
	*out = r;
	return 0;
}

int wire_spool_open(const char *path, struct wire_spool_reader **out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	*out = NULL;
	if (fd < 0)
		return -errno;
	return wire_spool_fdopen(fd, out);
}

void wire_spool_close(struct wire_spool_reader *r)
{
	if (!r)
		return;
	if (r->fd >= 0)
		close(r->fd);
	free(r->buf);
	free(r);
}

void wire_spool_damage(const struct wire_spool_reader *r, uint64_t *bytes, uint64_t *stretches)
{
	if (bytes)
		*bytes = r->dmg_bytes;
	if (stretches)
		*stretches = r->dmg_runs;
}

static size_t avail(const struct wire_spool_reader *r)
{
	return r->end - r->start;
}

/* Makes at least want bytes available unless the file ends first.  0, or
 * -errno on a read error / -ENOMEM. */
static int fill(struct wire_spool_reader *r, size_t want)
{
	if (want > SPOOL_MAX_REC)
		want = SPOOL_MAX_REC;
	while (avail(r) < want && !r->eof) {
		ssize_t n;

		if (r->start > 0 && (r->cap - r->end < SPOOL_READ_CHUNK || r->cap - r->start < want)) {
			memmove(r->buf, r->buf + r->start, avail(r));
			r->buf_off += r->start;
			r->end -= r->start;
			r->start = 0;
		}
		if (r->cap - r->start < want) {
			size_t ncap = r->cap;
			uint8_t *nb;

			while (ncap - r->start < want)
				ncap *= 2;
			if (ncap > SPOOL_MAX_REC + SPOOL_READ_CHUNK)
				ncap = SPOOL_MAX_REC + SPOOL_READ_CHUNK;
			nb = realloc(r->buf, ncap);
			if (!nb)
				return -ENOMEM;
			r->buf = nb;
			r->cap = ncap;
		}
		do
			n = read(r->fd, r->buf + r->end, r->cap - r->end);
		while (n < 0 && errno == EINTR);
		if (n < 0)
			return -errno;
		if (n == 0)
			r->eof = 1;
		r->end += (size_t)n;
	}
	return 0;
}

static void skip(struct wire_spool_reader *r, size_t n)
{
	if (n == 0)
		return;
	if (!r->in_damage)
		r->dmg_runs++;
	r->in_damage = 1;
	r->dmg_bytes += n;
	r->start += n;
}

int wire_spool_next(struct wire_spool_reader *r, struct wire_spool_rec *rec)
{
	for (;;) {
		const uint8_t *p;
		unsigned kind, flags;
		uint32_t el, pl, crc;
		size_t total;
		int rc;

		rc = fill(r, WIRE_HDR_LEN);
		if (rc < 0)
			return rc;
		if (avail(r) < WIRE_HDR_LEN) {
			/* A torn tail shorter than a header. */
			skip(r, avail(r));
			return 0;
		}
		p = r->buf + r->start;
		if (memcmp(p, WIRE_MAGIC_REQ, 4) != 0) {
			const uint8_t *m = memmem(p + 1, avail(r) - 1, WIRE_MAGIC_REQ, 4);

			/* No magic in sight: drop all but the last three bytes,
			 * which may be the start of one. */
			skip(r, m ? (size_t)(m - p) : avail(r) - 3);
			continue;
		}
		if (wire_req_hdr_get(p, &kind, &flags, &el, &pl) < 0) {
			skip(r, 1);
			continue;
		}
		total = WIRE_HDR_LEN + (size_t)el + pl + WIRE_CRC_LEN;
		rc = fill(r, total);
		if (rc < 0)
			return rc;
		p = r->buf + r->start;
		if (avail(r) < total) {
			/* Torn: the file ends inside this record.  A complete
			 * record may still follow the tear, so rescan. */
			skip(r, 1);
			continue;
		}
		crc = get_le32(p + total - WIRE_CRC_LEN);
		if (wire_crc32(0, p, total - WIRE_CRC_LEN) != crc) {
			skip(r, 1);
			continue;
		}
		/* The CRC holds, so this is a record as written; one with a bad
		 * envelope was bad when written and is skipped whole. */
		if (wire_env_parse((const char *)p + WIRE_HDR_LEN, el, &rec->env) < 0) {
			skip(r, total);
			continue;
		}
		rec->kind = kind;
		rec->flags = flags;
		rec->payload = (const char *)p + WIRE_HDR_LEN + el;
		rec->payload_len = pl;
		rec->offset = r->buf_off + r->start;
		/* The buffer is only moved by the next call's fill(), so the
		 * payload pointer stays valid until then. */
		r->start += total;
		r->in_damage = 0;
		return 1;
	}
}
