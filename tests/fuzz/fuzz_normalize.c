/*
 * fuzz_normalize.c - fuzz target for the event normalizer (norm_event):
 * parsing, classification, scope checks, redaction and truncation.
 *
 * Input: the hook payload bytes.  A small max_string makes truncation run
 * on most strings.
 *
 * Oracles (abort on violation): success gives an object with the schema,
 * an event_type, a hook and a payload_sha256 of 64 hex digits; failure is
 * -EINVAL or -E2BIG (-ENOMEM is not expected here) with a reason in err;
 * the event serializes; norm_redact over the input reports no secret kind
 * left when run again over its own output (redaction is idempotent).
 */
#include "common.h"
#include "pipeline.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct norm_ctx *ctx;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct norm_options o = { .max_string = 64, .max_input = 1u << 20, .host = "h",
				  .user = "u" };

	(void)argc;
	(void)argv;
	if (!ctx && norm_ctx_new(&o, &ctx) < 0)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct norm_envelope env = { .id = "0190c7c0-0000-7000-8000-000000000000",
				     .recv_ns = 1700000000000000000ull, .project_dir = "/home/dev/p",
				     .pid = 1, .ppid = -1, .uid = -1 };
	struct vbuf a, b;
	char err[256] = "";
	json_t *ev = NULL;
	int rc;

	if (!ctx)
		LLVMFuzzerInitialize(NULL, NULL);
	rc = norm_event(ctx, size & 1 ? &env : NULL, (const char *)data, size, &ev, err,
			sizeof(err));
	if (rc == 0) {
		const char *h = json_string_value(json_object_get(ev, "payload_sha256"));
		char *s;

		if (!json_is_object(ev) || !h || strlen(h) != 64 ||
		    !json_string_value(json_object_get(ev, "event_type")) ||
		    !json_string_value(json_object_get(ev, "hook")) ||
		    strcmp(json_string_value(json_object_get(ev, "schema")), NORM_SCHEMA) != 0)
			abort();
		s = json_dumps(ev, JSON_COMPACT);
		if (!s)
			abort();
		free(s);
		json_decref(ev);
	} else if ((rc != -EINVAL && rc != -E2BIG) || !err[0] || ev) {
		abort();
	}

	vbuf_init(&a, size * 8 + 4096);
	vbuf_init(&b, size * 8 + 4096);
	if (norm_redact((const char *)data, size, &a) >= 0 &&
	    norm_redact((const char *)a.data, a.len, &b) > 0)
		abort();
	vbuf_release(&a);
	vbuf_release(&b);
	return 0;
}
