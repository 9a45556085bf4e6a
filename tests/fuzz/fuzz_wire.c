/*
 * fuzz_wire.c - fuzz target for src/wire: request and reply headers, the
 * envelope text, and the spool reader.  The first input byte picks the mode:
 *
 *   0  bytes 1..16 as a request and a reply header, the rest as envelope text
 *   1  the rest as a spool file, read with the streaming reader
 *   2  the rest as a payload: framed, appended to a spool, read back
 *
 * Oracles (abort on violation): a parsed header has lengths within the
 * limits; a parsed envelope formats to a text that parses and formats to the
 * same text again; the spool reader accounts for every byte of the file
 * exactly once (records plus damage), hands out records in file order that
 * lie inside the file and carry a valid CRC; a frame written with
 * wire_spool_append reads back as exactly that frame with no damage.
 */
#include "wire.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every '%', LF and CR may grow threefold when formatted again. */
#define FMT_CAP (3u * WIRE_MAX_ENVELOPE + 64u)

static char fmt1[FMT_CAP], fmt2[FMT_CAP];

static void check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_wire: oracle failed: %s\n", what);
		abort();
	}
}

static void fuzz_headers_env(const uint8_t *data, size_t size)
{
	struct wire_envelope e, again;
	unsigned a, b;
	uint32_t x, y;
	int n1, n2;

	if (size >= WIRE_HDR_LEN) {
		if (wire_req_hdr_get(data, &a, &b, &x, &y) == 0)
			check(a >= WIRE_EVENT && a <= WIRE_CONTROL && x <= WIRE_MAX_ENVELOPE &&
				      y <= WIRE_MAX_PAYLOAD,
			      "request header within limits");
		if (wire_ack_hdr_get(data, &a, &b, &x, &y) == 0)
			check(a <= WIRE_DECIDED && b <= 255 && x <= WIRE_MAX_OUT && y <= WIRE_MAX_OUT,
			      "reply header within limits");
		data += WIRE_HDR_LEN;
		size -= WIRE_HDR_LEN;
	}
	if (wire_env_parse((const char *)data, size, &e) < 0)
		return;
	n1 = wire_env_format(&e, fmt1, sizeof(fmt1));
	check(n1 >= 0, "a parsed envelope formats");
	check(wire_env_parse(fmt1, (size_t)n1, &again) == 0 || (size_t)n1 > WIRE_MAX_ENVELOPE,
	      "a formatted envelope parses");
	if ((size_t)n1 > WIRE_MAX_ENVELOPE)
		return;
	n2 = wire_env_format(&again, fmt2, sizeof(fmt2));
	check(n2 == n1 && memcmp(fmt1, fmt2, (size_t)n1) == 0, "format is stable");
}

static int memfile(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz-spool", MFD_CLOEXEC);

	if (fd < 0)
		abort();
	for (size_t off = 0; off < size;) {
		ssize_t w = write(fd, data + off, size - off);

		if (w <= 0)
			abort();
		off += (size_t)w;
	}
	if (lseek(fd, 0, SEEK_SET) != 0)
		abort();
	return fd;
}

/* Reads the spool in fd (size bytes); returns the number of records. */
static int read_all(int fd, const uint8_t *data, size_t size, struct wire_spool_rec *first)
{
	struct wire_spool_reader *r;
	struct wire_spool_rec rec;
	uint64_t in_records = 0, dmg_bytes, dmg_runs, next_min = 0;
	int rc, count = 0;

	check(wire_spool_fdopen(fd, &r) == 0, "reader opens");
	while ((rc = wire_spool_next(r, &rec)) == 1) {
		uint64_t len;
		const uint8_t *at = data + rec.offset;
		uint32_t crc_stored;

		check(rec.offset >= next_min && rec.offset + WIRE_HDR_LEN <= size,
		      "records in file order, inside the file");
		check(rec.payload_len <= WIRE_MAX_PAYLOAD, "payload within the limit");
		/* The record's length from its own header. */
		len = WIRE_HDR_LEN + ((uint64_t)at[8] | (uint64_t)at[9] << 8 |
				      (uint64_t)at[10] << 16 | (uint64_t)at[11] << 24) +
		      rec.payload_len;
		check(rec.offset + len + WIRE_CRC_LEN <= size, "record ends inside the file");
		check(memcmp(at + len - rec.payload_len, rec.payload, rec.payload_len) == 0,
		      "payload is the file's bytes");
		crc_stored = (uint32_t)at[len] | (uint32_t)at[len + 1] << 8 |
			     (uint32_t)at[len + 2] << 16 | (uint32_t)at[len + 3] << 24;
		check(wire_crc32(0, at, len) == crc_stored, "record CRC holds");
		in_records += len + WIRE_CRC_LEN;
		next_min = rec.offset + len + WIRE_CRC_LEN;
		if (count == 0 && first) {
			*first = rec;
			first->payload = NULL; /* not valid after the reader closes */
		}
		count++;
	}
	check(rc == 0, "reading a memory file does not fail");
	wire_spool_damage(r, &dmg_bytes, &dmg_runs);
	check(in_records + dmg_bytes == size, "every byte is a record's or damage, once");
	check((dmg_bytes == 0) == (dmg_runs == 0), "damage bytes and stretches agree");
	wire_spool_close(r);
	return count;
}

static void fuzz_spool(const uint8_t *data, size_t size)
{
	read_all(memfile(data, size), data, size, NULL);
}

static void fuzz_roundtrip(const uint8_t *data, size_t size)
{
	struct wire_envelope e = { 0 };
	struct wire_spool_rec rec;
	size_t plen = size > 65536 ? 65536 : size;
	uint8_t *frame, *file;
	int fd, n, count;
	size_t flen;
	off_t end;

	snprintf(e.id, sizeof(e.id), "0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b");
	e.pid = e.ppid = e.uid = -1;
	e.stdin_len = plen;
	/* Let the input shape a string field too. */
	memcpy(e.cwd, data, plen < sizeof(e.cwd) - 1 ? plen : sizeof(e.cwd) - 1);
	n = wire_env_format(&e, fmt1, WIRE_MAX_ENVELOPE + 1);
	if (n < 0)
		return;
	flen = WIRE_HDR_LEN + (size_t)n + plen;
	frame = malloc(flen);
	if (!frame)
		abort();
	wire_req_hdr_put(frame, WIRE_DECIDE, 0, (uint32_t)n, (uint32_t)plen);
	memcpy(frame + WIRE_HDR_LEN, fmt1, (size_t)n);
	memcpy(frame + WIRE_HDR_LEN + n, data, plen);
	fd = memfile((const uint8_t *)"", 0);
	check(wire_spool_append(fd, frame, flen) == 0, "append to a memory file");
	end = lseek(fd, 0, SEEK_END);
	check(end == (off_t)(flen + WIRE_CRC_LEN), "one record's bytes appended");
	file = malloc((size_t)end);
	if (!file || pread(fd, file, (size_t)end, 0) != end)
		abort();
	check(memcmp(file, frame, flen) == 0, "the frame is written verbatim");
	lseek(fd, 0, SEEK_SET);
	count = read_all(fd, file, (size_t)end, &rec);
	check(count == 1 && rec.kind == WIRE_DECIDE && rec.payload_len == plen &&
		      strcmp(rec.env.id, "0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b") == 0,
	      "the appended record reads back");
	free(file);
	free(frame);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	switch (data[0] % 3) {
	case 0:
		fuzz_headers_env(data + 1, size - 1);
		break;
	case 1:
		fuzz_spool(data + 1, size - 1);
		break;
	default:
		fuzz_roundtrip(data + 1, size - 1);
		break;
	}
	return 0;
}
