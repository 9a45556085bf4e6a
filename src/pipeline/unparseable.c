/*
 * unparseable.c - the one way a hook payload becomes an event, parseable or
 * not (norm_hook_event), and the words vigil uses when it cannot parse one.
 *
 * vigild records what every hook sent, so a payload the normalizer refuses
 * (not JSON, not UTF-8, a duplicate key, a lone surrogate, nesting past
 * 2048, over max_input, a field of the wrong type or cut by a NUL: see
 * normalize.c and shape.c) still becomes a record: event_type "invalid",
 * the reason, the hash of the bytes and as much of the text as is safe to
 * keep (redacted and cut like any payload string).  `vigil rules test`
 * calls the same function, so the rules see the same event in both places,
 * and a blocking hook's unparseable payload is decided by the same policy
 * (decisions.unparseable) with the same reason.
 *
 * What is taken from a payload that parsed as JSON but failed the shape
 * check (its hook, tool and session) must be plain names: anything else is
 * left out rather than trusted.
 */
#include "pipeline.h"
#include "pipeline_int.h"

#include "common.h"
#include "redact.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Longest hook, tool or session name taken from an unparseable payload. */
#define UNP_NAME_MAX 128
/* Bytes of a payload that is not UTF-8 kept as hex. */
#define UNP_HEX_MAX 256

/* A short name of [A-Za-z0-9_.:-] (hook, tool, session id), else NULL. */
static const char *plain_name(const json_t *v)
{
	const char *s = json_string_value(v);
	size_t n = json_string_length(v);

	if (!s || n == 0 || n > UNP_NAME_MAX)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == ':' || c == '-'))
			return NULL;
	}
	return s;
}

/* The payload's text: its first max_string bytes (on a UTF-8 boundary), redacted. */
static int add_text(const struct norm_ctx *c, json_t *ev, const char *payload, size_t len)
{
	size_t keep = c->max_string < len ? c->max_string : len;
	struct vbuf red;
	json_t *t = NULL;
	int rc = 0;

	if (!payload || !len)
		return 0;
	while (keep > 0 && keep < len && ((uint8_t)payload[keep] & 0xC0) == 0x80)
		keep--;
	vbuf_init(&red, 8 * (keep + UNP_HEX_MAX + RD_MAX_LOOKAHEAD) + 4096);
	if (keep && norm_redact(c, payload, keep, &red) >= 0)
		t = json_stringn((const char *)red.data, red.len);
	if (t) {
		vbuf_release(&red);
		return json_object_set_new(ev, "payload_text", t) < 0 ? -ENOMEM : 0;
	}
	/*
	 * Not UTF-8 (or NUL-free text jansson refused): the first bytes as hex,
	 * redacted first like any text (the scanner reads bytes, whatever
	 * their encoding), so no secret reaches the record through the hex.
	 */
	{
		/* Enough past the shown bytes that a secret they begin is whole. */
		size_t n, scan = len < UNP_HEX_MAX + RD_MAX_LOOKAHEAD
					 ? len
					 : UNP_HEX_MAX + RD_MAX_LOOKAHEAD;
		char h[2 * UNP_HEX_MAX + 1];

		if ((rc = norm_redact(c, payload, scan, &red)) < 0)
			goto out;
		n = red.len < UNP_HEX_MAX ? red.len : UNP_HEX_MAX;
		base_hex_encode(red.data, n, h);
		rc = json_object_set_new(ev, "payload_hex", json_string(h)) < 0 ? -ENOMEM : 0;
	}
out:
	vbuf_release(&red);
	return rc;
}

/* The reason, redacted (jansson quotes the payload near the error). */
static json_t *clean_reason(const struct norm_ctx *c, const char *why)
{
	struct vbuf b;
	json_t *j = NULL;

	vbuf_init(&b, 8 * strlen(why) + 4096);
	if (norm_redact(c, why, strlen(why), &b) >= 0) {
		j = json_stringn((const char *)b.data, b.len);
		/* jansson's message quotes the bytes near the error, which need
		 * not be UTF-8: those bytes become '?' rather than lose the record. */
		for (size_t i = 0; !j && i < b.len; i++)
			if (b.data[i] >= 0x80)
				b.data[i] = '?';
		if (!j)
			j = json_stringn((const char *)b.data, b.len);
	}
	vbuf_release(&b);
	return j;
}

/* The names the payload gives, when it parsed as a JSON object. */
static int add_names(json_t *ev, const struct norm_envelope *env, const char *payload, size_t len,
		     bool try_parse)
{
	json_t *in = try_parse ? json_loadb(payload, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL,
					    NULL)
			       : NULL;
	const char *hook = NULL, *tool = NULL, *sid = NULL, *cwd = NULL;
	int rc = -ENOMEM;

	if (json_is_object(in)) {
		const json_t *c = json_object_get(in, "cwd");

		hook = plain_name(json_object_get(in, "hook_event_name"));
		tool = plain_name(json_object_get(in, "tool_name"));
		sid = plain_name(json_object_get(in, "session_id"));
		if (json_is_string(c) && json_string_length(c) < 4096 &&
		    !memchr(json_string_value(c), '\0', json_string_length(c)))
			cwd = json_string_value(c);
	}
	if (!hook && env->hook_event && *env->hook_event)
		hook = env->hook_event;
	if (!cwd && env->hook_cwd && *env->hook_cwd)
		cwd = env->hook_cwd;
	if (json_object_set_new(ev, "hook", json_string(hook ? hook : "unknown")) < 0 ||
	    (tool && json_object_set_new(ev, "tool", json_string(tool)) < 0) ||
	    (sid && json_object_set_new(ev, "session_id", json_string(sid)) < 0) ||
	    (cwd && json_object_set_new(ev, "cwd", json_string(cwd)) < 0))
		goto out;
	rc = 0;
out:
	json_decref(in);
	return rc;
}

/* The record of an unparseable payload (pipeline.h, norm_hook_event). */
static int invalid_record(const struct norm_ctx *c, const struct norm_envelope *env,
			  const char *payload, size_t len, const char *why, bool try_parse,
			  json_t **out)
{
	char id[37], when[40], hex[65];
	json_t *ev, *reason;
	int rc;

	*out = NULL;
	if (env->id)
		snprintf(id, sizeof(id), "%s", env->id);
	else if ((rc = base_uuid7(id)) < 0)
		return rc;
	if ((rc = vg_sha256_hex(payload ? payload : "", payload ? len : 0, hex)) < 0)
		return rc;
	vg_format_time(env->recv_ns ? env->recv_ns : vg_now_ns(), when, sizeof(when));
	reason = clean_reason(c, why);
	ev = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o?, s:I, s:s}", "schema",
		       EV_SCHEMA_V1, "id", id, "time", when, "host", c->host, "user", c->user,
		       "agent", env->agent ? env->agent : BASE_AGENT_DEFAULT, "event_type",
		       "invalid", "error", reason, "payload_len", (json_int_t)len, "payload_sha256",
		       hex);
	if (!ev || !reason)
		goto nomem;
	if (env->pid >= 0 || env->ppid >= 0 || env->uid >= 0) {
		json_t *proc = json_object();

		if (!proc || json_object_set_new(ev, "process", proc) < 0)
			goto nomem;
		if ((env->pid >= 0 && json_object_set_new(proc, "pid", json_integer(env->pid)) < 0) ||
		    (env->ppid >= 0 && json_object_set_new(proc, "ppid", json_integer(env->ppid)) < 0) ||
		    (env->uid >= 0 && json_object_set_new(proc, "uid", json_integer(env->uid)) < 0))
			goto nomem;
	}
	if (add_names(ev, env, payload, len, try_parse && payload && len) < 0 ||
	    add_text(c, ev, payload, len) < 0)
		goto nomem;
	*out = ev;
	return 0;
nomem:
	json_decref(ev);
	return -ENOMEM;
}

int norm_hook_event(const struct norm_ctx *c, const struct norm_envelope *env,
		    const char *payload, size_t len, json_t **out, char *err, size_t errcap)
{
	struct norm_envelope none = { .pid = -1, .ppid = -1, .uid = -1 };
	char why[512] = "";
	int rc;

	*out = NULL;
	if (!env)
		env = &none;
	rc = norm_event(c, env, payload, len, out, why, sizeof(why));
	if (rc == 0 || (rc != -EINVAL && rc != -E2BIG)) {
		if (rc < 0 && err && errcap)
			snprintf(err, errcap, "%s", why);
		return rc;
	}
	if (err && errcap)
		snprintf(err, errcap, "%s", why);
	/* Past max_input the bytes are not parsed again for the names. */
	rc = invalid_record(c, env, payload, len, why, rc == -EINVAL, out);
	return rc < 0 ? rc : NORM_UNPARSEABLE;
}

void norm_unparseable_reason(const json_t *ev, const char *policy, char *out, size_t cap)
{
	const char *hook = json_string_value(json_object_get(ev, "hook"));
	const char *why = json_string_value(json_object_get(ev, "error"));
	const char *what = "tool call";

	if (!cap)
		return;
	if (hook && !strcmp(hook, "UserPromptSubmit"))
		what = "prompt";
	else if (hook && strcmp(hook, "unknown") && !strstr(hook, "Tool") &&
		 strcmp(hook, "PermissionRequest"))
		what = "hook event";
	if (policy && !strcmp(policy, "allow"))
		snprintf(out, cap, "vigil could not parse this %s (%.300s); allowed by policy %s.",
			 what, why ? why : "no reason given", NORM_UNPARSEABLE_POLICY_KEY);
	else if (policy && !strcmp(policy, "ask"))
		snprintf(out, cap,
			 "vigil could not parse this %s (%.300s); the user must confirm it "
			 "(policy %s).",
			 what, why ? why : "no reason given", NORM_UNPARSEABLE_POLICY_KEY);
	else
		snprintf(out, cap,
			 "vigil could not parse this %s (%.300s); denied by policy %s. Do not try "
			 "to work around this; ask the user if it is really needed.",
			 what, why ? why : "no reason given", NORM_UNPARSEABLE_POLICY_KEY);
}
