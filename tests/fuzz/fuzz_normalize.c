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
 * the event serializes; norm_redact gives what the redactor's full scan
 * gives (fuzz_redact fuzzes the redactor itself); a risk object with a known level and a score of 0-100 is always there.
 *
 * The fast payload parser (norm_parse_fast) either gives up or builds what
 * json_loadb builds, member order and numbers included.
 * norm_serialize must give exactly json_dumps(COMPACT | SORT_KEYS)'s bytes
 * for the event, before and after the correlator, and for the raw input.
 *
 * norm_hook_event (what vigild and `vigil rules test` both call) gives the
 * event norm_event gives, or for every input norm_event refuses the record
 * of an unparseable payload: event_type "invalid", a hook, the reason, the
 * length and hash of the bytes, serializable.  A parsed event's target never
 * holds a NUL (it would hide the rest from the rules), and a parsed tool
 * hook's tool_input, when present, is an object.
 *
 * The event then goes through a long-lived correlator (small bounds, so
 * eviction runs) as it would in the daemon: pair_apply must accept it, and
 * every synthetic event pair_expire returns must be a complete schema-v1
 * tool_abandoned event.  The input is also fed to pair_apply as a raw JSON
 * object, which reaches the correlator's handling of odd field types.
 */
#include "common.h"
#include "pipeline.h"
#include "pipeline_int.h"
#include "redact.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct norm_ctx *ctx;
static struct pair *corr;
static uint64_t clock_ns = 1700000000000000000ull;

static void check_abandoned(json_t *ev)
{
	static const char *const need[] = { "id", "time", "hook", "event_type", "outcome",
					    "payload_sha256", "schema" };

	for (size_t i = 0; i < VG_ARRAY_LEN(need); i++)
		if (!json_string_value(json_object_get(ev, need[i])))
			abort();
	if (strcmp(json_string_value(json_object_get(ev, "event_type")), "tool_abandoned") != 0 ||
	    strcmp(json_string_value(json_object_get(ev, "outcome")), "abandoned") != 0 ||
	    !json_is_integer(json_object_get(ev, "duration_ms")) ||
	    !json_is_object(json_object_get(ev, "payload")))
		abort();
}

/* norm_serialize(v) is json_dumps(v, COMPACT | SORT_KEYS), byte for byte. */
static void check_serialize(const json_t *v)
{
	char *want = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
	struct vbuf b;

	vbuf_init(&b, 1u << 26);
	if (!want || norm_serialize(v, &b) < 0 || b.len != strlen(want) ||
	    memcmp(b.data, want, b.len) != 0)
		abort();
	free(want);
	vbuf_release(&b);
}

/* Applies ev to the shared correlator and drains what it abandons. */
static void correlate(json_t *ev)
{
	json_t *out[8];
	size_t n = 0;

	clock_ns += 1000000000ull;
	if (pair_apply(corr, ev, clock_ns) < 0)
		abort();
	if (pair_expire(corr, clock_ns, out, VG_ARRAY_LEN(out), &n) < 0 || n > VG_ARRAY_LEN(out))
		abort();
	check_serialize(ev);
	for (size_t i = 0; i < n; i++) {
		check_abandoned(out[i]);
		check_serialize(out[i]);
		json_decref(out[i]);
	}
}

/* norm_hook_event agrees with norm_event's answer rc0 (see the header comment). */
static void check_hook_event(const uint8_t *data, size_t size, int rc0)
{
	struct norm_envelope env = { .pid = -1, .ppid = -1, .uid = -1, .hook_cwd = "/h" };
	char err[256] = "";
	json_t *ev = NULL;
	int rc = norm_hook_event(ctx, &env, (const char *)data, size, &ev, err, sizeof(err));
	const json_t *t, *in;

	if (!ev || (rc0 == 0 && rc != 0) || (rc0 < 0 && rc != NORM_UNPARSEABLE))
		abort();
	if (rc == NORM_UNPARSEABLE) {
		const char *h = json_string_value(json_object_get(ev, "payload_sha256"));

		if (strcmp(json_string_value(json_object_get(ev, "event_type")), "invalid") != 0 ||
		    !json_string_value(json_object_get(ev, "hook")) || !err[0] ||
		    !json_string_value(json_object_get(ev, "error")) || !h || strlen(h) != 64 ||
		    json_integer_value(json_object_get(ev, "payload_len")) != (json_int_t)size ||
		    json_object_get(ev, "target"))
			abort();
	} else {
		t = json_object_get(ev, "target");
		if (t && memchr(json_string_value(t), 0, json_string_length(t)))
			abort();
		static const char *const tool_hooks[] = { "PreToolUse", "PostToolUse",
							  "PostToolUseFailure", "PermissionRequest",
							  "PermissionDenied" };
		const char *hook = json_string_value(json_object_get(ev, "hook"));

		in = json_object_get(json_object_get(ev, "payload"), "tool_input");
		for (size_t i = 0; hook && in && i < VG_ARRAY_LEN(tool_hooks); i++)
			if (!strcmp(hook, tool_hooks[i]) && !json_is_object(in))
				abort();
	}
	check_serialize(ev);
	json_decref(ev);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct norm_options o = { .max_string = 64, .max_input = 1u << 20, .host = "h",
				  .user = "u" };

	(void)argc;
	(void)argv;
	/* abandon after 5 inputs; small bounds so eviction runs. */
	struct pair_options co = { .abandon_ns = 5000000000ull, .max_pending = 16,
				   .max_sessions = 4 };

	if (!ctx && norm_ctx_new(&o, &ctx) < 0)
		abort();
	if (!corr && pair_new(&co, &corr) < 0)
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
		const json_t *risk = json_object_get(ev, "risk");
		const char *level = json_string_value(json_object_get(risk, "level"));
		json_int_t score = json_integer_value(json_object_get(risk, "score"));
		char *s;

		if (!level || score < 0 || score > 100 ||
		    !json_is_array(json_object_get(risk, "reasons")) ||
		    (strcmp(level, "info") && strcmp(level, "low") && strcmp(level, "medium") &&
		     strcmp(level, "high") && strcmp(level, "critical")))
			abort();
		if (!json_is_object(ev) || !h || strlen(h) != 64 ||
		    !json_string_value(json_object_get(ev, "event_type")) ||
		    !json_string_value(json_object_get(ev, "hook")) ||
		    strcmp(json_string_value(json_object_get(ev, "schema")), EV_SCHEMA_V1) != 0)
			abort();
		s = json_dumps(ev, JSON_COMPACT);
		if (!s)
			abort();
		free(s);
		check_serialize(ev);
		correlate(ev);
		json_decref(ev);
	} else if ((rc != -EINVAL && rc != -E2BIG) || !err[0] || ev) {
		abort();
	}
	check_hook_event(data, size, rc);

	{
		struct vbuf t;
		json_t *fast, *slow;

		vbuf_init(&t, 1u << 20);
		fast = norm_parse_fast((const char *)data, size, &t);
		slow = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL,
				  NULL);
		if (fast) {
			char *x = json_dumps(fast, JSON_COMPACT | JSON_ENCODE_ANY);
			char *y = slow ? json_dumps(slow, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;

			if (!slow || !x || !y || strcmp(x, y) != 0 || !json_equal(fast, slow))
				abort();
			free(x);
			free(y);
		}
		json_decref(fast);
		json_decref(slow);
		vbuf_release(&t);
	}
	{
		json_t *raw = json_loadb((const char *)data, size, 0, NULL);

		if (json_is_object(raw))
			correlate(raw);
		json_decref(raw);
	}

	/* The redactor itself has its own target (fuzz_redact); here, the
	 * pipeline's entry point agrees with it. */
	vbuf_init(&a, size * 8 + 4096);
	vbuf_init(&b, size * 8 + 4096);
	{
		int h1 = norm_redact(ctx, (const char *)data, size, &a);
		int h2 = rd_scan(ctx->rd, (const char *)data, size, &b);

		if (h1 != h2 || a.len != b.len || (a.len && memcmp(a.data, b.data, a.len) != 0))
			abort();
	}
	vbuf_release(&a);
	vbuf_release(&b);
	return 0;
}
