/*
 * spool_dump.c - test tool: reads a spool file with the real reader
 * (wire_spool_*) and prints one JSON object per record, then one with the
 * damage counters, so the Python tests can check what vigil-hook spooled.
 *
 *   spool_dump FILE
 *
 * Strings are printed with every byte outside printable ASCII as \u00XX,
 * so a test decodes them back to bytes with .encode('latin-1').  The payload
 * is hex.  Exit 0, or 1 with a message when the file cannot be read.
 */
#include "wire.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static void put_str(const char *key, const char *s)
{
	printf("\"%s\":\"", key);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if (*p < 0x20 || *p >= 0x7f)
			printf("\\u%04x", *p);
		else
			putchar(*p);
	}
	printf("\",");
}

int main(int argc, char **argv)
{
	struct wire_spool_reader *r;
	struct wire_spool_rec rec;
	uint64_t bytes, stretches;
	int rc;

	if (argc != 2) {
		fprintf(stderr, "usage: spool_dump FILE\n");
		return 2;
	}
	rc = wire_spool_open(argv[1], &r);
	if (rc < 0) {
		fprintf(stderr, "spool_dump: %s: %s\n", argv[1], strerror(-rc));
		return 1;
	}
	while ((rc = wire_spool_next(r, &rec)) == 1) {
		printf("{\"kind\":%u,\"flags\":%u,\"offset\":%llu,", rec.kind, rec.flags,
		       (unsigned long long)rec.offset);
		put_str("id", rec.env.id);
		put_str("agent", rec.env.agent);
		put_str("event", rec.env.event);
		put_str("cwd", rec.env.cwd);
		put_str("project_dir", rec.env.project_dir);
		put_str("session", rec.env.session);
		put_str("applied", rec.env.applied);
		put_str("applied_by", rec.env.applied_by);
		put_str("spool_reason", rec.env.spool_reason);
		printf("\"time_ns\":%llu,\"pid\":%lld,\"ppid\":%lld,\"uid\":%lld,\"stdin_len\":%llu,",
		       (unsigned long long)rec.env.time_ns, (long long)rec.env.pid,
		       (long long)rec.env.ppid, (long long)rec.env.uid,
		       (unsigned long long)rec.env.stdin_len);
		printf("\"payload_len\":%u,\"payload_hex\":\"", rec.payload_len);
		for (uint32_t i = 0; i < rec.payload_len; i++)
			printf("%02x", (unsigned char)rec.payload[i]);
		printf("\"}\n");
	}
	wire_spool_damage(r, &bytes, &stretches);
	printf("{\"damage_bytes\":%llu,\"damage_stretches\":%llu}\n", (unsigned long long)bytes,
	       (unsigned long long)stretches);
	wire_spool_close(r);
	if (rc < 0) {
		fprintf(stderr, "spool_dump: %s: %s\n", argv[1], strerror(-rc));
		return 1;
	}
	return 0;
}
