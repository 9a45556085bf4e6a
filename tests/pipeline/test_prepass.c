/*
 * test_prepass.c - the fast paths of the normalizer keep its answers:
 *   - redaction's pre-pass (rd_needed) lets ordinary strings through and
 *     sends every string with a secret, of each kind and in each position,
 *     to the full scan; norm_redact always equals the full scan (rd_scan)
 *     and a string the pre-pass calls clean has no finding;
 *   - rd_key_class reads a key's last word (or the pair before it);
 *   - one norm_ctx shared by threads gives every thread the events a
 *     single thread gets (the context is immutable; each call has its own
 *     scratch buffer).
 */
#include "common.h"
#include "pipeline.h"
#include "pipeline_int.h"
#include "redact.h"
#include "tap.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#ifndef FIXTURE
#error "FIXTURE must name the session-rich.hooks.jsonl capture"
#endif

static struct norm_ctx *pctx;

/* Same output and count from norm_redact and the full scan; the count. */
static int agree(const char *s, bool *same)
{
	struct vbuf a, b;
	int ha, hb;

	vbuf_init(&a, 1u << 20);
	vbuf_init(&b, 1u << 20);
	ha = norm_redact(pctx, s, strlen(s), &a);
	hb = rd_scan(pctx->rd, s, strlen(s), &b);
	*same = ha == hb && a.len == b.len && memcmp(a.data, b.data, a.len) == 0 &&
		(rd_needed(pctx->rd, s, strlen(s)) || hb == 0);
	vbuf_release(&a);
	vbuf_release(&b);
	return hb;
}

static void test_prepass(void)
{
	static const char *const plain[] = {
		"",
		"/home/dev/acme-app/src/main.c",
		"a6554db9-c2ac-471e-ad30-60bbd41b856a",
		"toolu_01ABCDEFGHIJKLMNOPQRSTUVWX",
		"ls -la && git status --porcelain | head -n 20",
		"Refactor the parser so that it never allocates per token.",
		"skeleton key, AKIA short, ghp_ short",
		"AKIA_is_not_followed_by_sixteen",
	};
	/* Held by the pre-pass, yet nothing to redact. */
	static const char *const near[] = {
		"-----BEGIN CERTIFICATE----- is not a key",
		"eyJ alone",
		"time: 12:00, a=b",
	};
	static const char *const secret[] = {
		"AKIAABCDEFGHIJKLMNOP",
		"x ASIAABCDEFGHIJKLMNOP y",
		"token ghp_abcdefghijklmnopqrstuvwxyz0123456789",
		"github_pat_11ABCDEFG0abcdefghijkl_mnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXabcdefghijk",
		"xoxb-1234567890-abcdef",
		"sk-ant-api03-abcdefghijklmnopqrstuvwxyz",
		"sk-proj-abcdefghijklmnopqrstuvwxyz",
		"AIzaSyA-abcdefghijklmnopqrstuvwxyz01234",
		"Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",
		"-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----",
		"x-----BEGIN OPENSSH PRIVATE KEY-----\nb3Bl",
		"export DB_PASSWORD=hunter2",
		"api_key: aB3dE5gH7jK9mN1p",
		"{\"client_secret\": \"s3cr3t\"}",
		"git clone https://user:pa55word@example.com/r.git",
		"postgres://ghp_abcdefghijklmnopqrstuvwxyz0123456789:xq9@db/q",
	};
	int bad = 0, missed = 0, stopped = 0;
	bool same;

	for (size_t i = 0; i < VG_ARRAY_LEN(plain); i++) {
		if (rd_needed(pctx->rd, plain[i], strlen(plain[i]))) {
			TAP_DIAG("held: %s", plain[i]);
			stopped++;
		}
		if (agree(plain[i], &same) != 0 || !same)
			bad++;
	}
	TAP_OK(stopped == 0, "the pre-pass lets paths, ids, commands and prose through (%d held)",
	       stopped);
	TAP_OK(bad == 0, "and nothing is found in them (%d differ)", bad);
	bad = 0;
	for (size_t i = 0; i < VG_ARRAY_LEN(near); i++) {
		if (!rd_needed(pctx->rd, near[i], strlen(near[i]))) {
			TAP_DIAG("passed: %s", near[i]);
			stopped++;
		}
		if (agree(near[i], &same) != 0 || !same)
			bad++;
	}
	TAP_OK(stopped == 0 && bad == 0,
	       "look-alikes go to the full scan, which finds nothing (%d passed, %d differ)",
	       stopped, bad);
	bad = 0;
	for (size_t i = 0; i < VG_ARRAY_LEN(secret); i++) {
		if (!rd_needed(pctx->rd, secret[i], strlen(secret[i]))) {
			TAP_DIAG("the pre-pass misses: %s", secret[i]);
			missed++;
		}
		if (agree(secret[i], &same) < 1 || !same) {
			TAP_DIAG("not redacted as the full scan does: %s", secret[i]);
			bad++;
		}
	}
	TAP_OK(missed == 0, "every kind of secret goes to the full scan (%d missed)", missed);
	TAP_OK(bad == 0, "and norm_redact redacts each as the full scan does (%d differ)", bad);

	/* Each secret embedded at every offset of a plain text, and cut at each length. */
	bad = 0;
	for (size_t i = 0; i < VG_ARRAY_LEN(secret); i++) {
		char buf[512];
		size_t n = strlen(secret[i]);

		for (size_t cut = 0; cut <= n; cut++) {
			snprintf(buf, sizeof(buf), "see %.*s here", (int)cut, secret[i]);
			agree(buf, &same);
			if (!same)
				bad++;
			snprintf(buf, sizeof(buf), "%.*s", (int)cut, secret[i] + (n - cut));
			agree(buf, &same);
			if (!same)
				bad++;
		}
	}
	TAP_OK(bad == 0, "prefixes and suffixes of every secret agree with the full scan (%d differ)",
	       bad);
}

static void test_key_kind(void)
{
	static const struct {
		const char *key, *kind;
	} cases[] = {
		{ "password", "password" },
		{ "DB_PASSWD", "password" },
		{ "token_password", "password" }, /* the last word decides */
		{ "x_api_key_token", "token" },
		{ "privateKey", "private_key" }, /* the last two words together */
		{ "PRIVATE_KEY", "private_key" },
		{ "aws_access_key_id", NULL }, /* an id names the key, it is not one */
		{ "ApiKey", "api_key" },
		{ "credentials", "credential" },
		{ "client_secret", "secret" },
		{ "client-key-data", "key" }, /* before a suffix word */
		{ "tokens", NULL },	      /* max_tokens counts them */
		{ "toke", NULL },
		{ "session_id", NULL }, /* an agent's session id is no secret */
		{ "NOPASSWD", NULL },
		{ "", NULL },
	};
	int bad = 0;

	for (size_t i = 0; i < VG_ARRAY_LEN(cases); i++) {
		const char *k = NULL;

		if (rd_key_class(pctx->rd, cases[i].key, strlen(cases[i].key), &k) == RD_KEY_NONE)
			k = NULL;

		if (!k != !cases[i].kind || (k && strcmp(k, cases[i].kind) != 0)) {
			TAP_DIAG("%s: %s", cases[i].key, k ? k : "(none)");
			bad++;
		}
	}
	TAP_OK(bad == 0, "rd_key_class: the last word or pair, any case (%d wrong)", bad);
}

/* ---- threads ---------------------------------------------------------------------------- */

#define THREADS 4
#define ROUNDS 40

struct job {
	const struct norm_ctx *ctx;
	char **lines;
	size_t n;
	char **want;
	int bad;
};

static char *event_bytes(const struct norm_ctx *ctx, const char *line, size_t k)
{
	struct norm_envelope env = { .id = "0190c7c0-0000-7000-8000-000000000002",
				     .recv_ns = 1763899620000000000ull + k, .pid = 9, .ppid = 8,
				     .uid = 7 };
	struct vbuf b;
	json_t *ev = NULL;
	char err[128];

	if (norm_event(ctx, &env, line, strlen(line), &ev, err, sizeof(err)) < 0)
		return NULL;
	vbuf_init(&b, 1u << 24);
	if (norm_serialize(ev, &b) < 0)
		vbuf_release(&b);
	json_decref(ev);
	return (char *)b.data;
}

static void *worker(void *arg)
{
	struct job *j = arg;

	for (int r = 0; r < ROUNDS; r++) {
		for (size_t i = 0; i < j->n; i++) {
			char *got = event_bytes(j->ctx, j->lines[i], i);

			if (!got || strcmp(got, j->want[i]) != 0)
				j->bad++;
			vg_free(got);
		}
	}
	return NULL;
}

static void test_threads(void)
{
	struct norm_options o = { .host = "h", .user = "u", .max_string = 64 };
	struct norm_ctx *ctx = NULL;
	char *lines[64], *want[64], *line = NULL;
	size_t n = 0, cap = 0;
	struct job jobs[THREADS];
	pthread_t t[THREADS];
	int started = 0, bad = 0;
	FILE *f = fopen(FIXTURE, "r");
	ssize_t got;

	if (!f || norm_ctx_new(&o, &ctx) < 0) {
		TAP_OK(false, "the fixture and a context");
		return;
	}
	while (n < VG_ARRAY_LEN(lines) && (got = getline(&line, &cap, f)) > 1) {
		line[got - 1] = 0;
		lines[n] = strdup(line);
		want[n] = event_bytes(ctx, lines[n], n);
		if (!lines[n] || !want[n])
			bad++;
		n++;
	}
	free(line);
	fclose(f);
	TAP_OK(n == 24 && bad == 0, "one thread normalizes the fixture (%zu events)", n);
	for (int i = 0; i < THREADS; i++) {
		jobs[i] = (struct job){ .ctx = ctx, .lines = lines, .n = n, .want = want };
		if (pthread_create(&t[i], NULL, worker, &jobs[i]) == 0)
			started++;
	}
	for (int i = 0; i < started; i++) {
		pthread_join(t[i], NULL);
		bad += jobs[i].bad;
	}
	TAP_OK(started == THREADS && bad == 0,
	       "%d threads sharing one context get the same events (%d differ)", started, bad);
	for (size_t i = 0; i < n; i++) {
		free(lines[i]);
		vg_free(want[i]);
	}
	norm_ctx_free(ctx);
}

int main(void)
{
	TAP_OK(norm_ctx_new(NULL, &pctx) == 0, "a context with the default catalogue");
	if (!pctx)
		return tap_done();
	test_prepass();
	test_key_kind();
	test_threads();
	norm_ctx_free(pctx);
	return tap_done();
}
