/*
 * test_normalize.c - the event normalizer: every line of a real Claude Code
 * 2.1.197 capture, MCP naming, project scope, each redaction kind,
 * truncation and payload_sha256, and bad input.
 */
#include "common.h"
#include "pipeline.h"
#include "tap.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#ifndef FIXTURE
#error "FIXTURE must name the session-rich.hooks.jsonl capture"
#endif

static struct norm_ctx *ctx;

static const char *str(const json_t *ev, const char *key)
{
	const char *s = json_string_value(json_object_get(ev, key));

	return s ? s : "(absent)";
}

static bool streq(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

static json_t *norm(const char *payload, const struct norm_envelope *env)
{
	char err[256] = "";
	json_t *ev = NULL;
	int rc = norm_event(ctx, env, payload, strlen(payload), &ev, err, sizeof(err));

	if (rc < 0)
		TAP_DIAG("norm_event: %d %s", rc, err);
	return ev;
}

/* -1 absent, 0 false, 1 true */
static int scope_of(const json_t *ev)
{
	const json_t *v = json_object_get(ev, "outside_project_scope");

	return json_is_boolean(v) ? json_is_true(v) : -1;
}

struct want {
	const char *hook, *event_type, *tool, *target, *agent_id, *outcome;
	int outside; /* -1 absent */
	long duration;  /* -1 absent */
};

static const struct want fixture_want[] = {
	{ "SessionStart", "session_start", NULL, NULL, NULL, NULL, -1, -1 },
	{ "UserPromptSubmit", "user_prompt", NULL, "do the task", NULL, NULL, -1, -1 },
	{ "PreToolUse", "command_execution", "Bash", "ls -la && false", NULL, NULL, 0, -1 },
	{ "PostToolUseFailure", "command_execution", "Bash", "ls -la && false", NULL, "failure", 0,
	  2730 },
	{ "PreToolUse", "file_read", "Read", "/etc/passwd", NULL, NULL, 1, -1 },
	{ "PostToolUse", "file_read", "Read", "/etc/passwd", NULL, "success", 1, 15 },
	{ "PreToolUse", "file_write", "Write", "/home/dev/acme-app/app.py", NULL, NULL, 0, -1 },
	{ "PostToolUse", "file_write", "Write", "/home/dev/acme-app/app.py", NULL, "success", 0, 13 },
	{ "PreToolUse", "file_edit", "Edit", "/home/dev/acme-app/app.py", NULL, NULL, 0, -1 },
	{ "PostToolUse", "file_edit", "Edit", "/home/dev/acme-app/app.py", NULL, "success", 0, 15 },
	{ "PreToolUse", "sub_agent_delegation", "Agent", "look around", NULL, NULL, -1, -1 },
	{ "SubagentStart", "subagent_start", NULL, NULL, "ab76a09d7c5f5acde", NULL, -1, -1 },
	{ "PreToolUse", "code_search", "Grep", "TODO", "ab76a09d7c5f5acde", NULL, 0, -1 },
	{ "PostToolUse", "code_search", "Grep", "TODO", "ab76a09d7c5f5acde", "success", 0, 36 },
	{ "PreToolUse", "file_search", "Glob", "**/*.txt", "ab76a09d7c5f5acde", NULL, -1, -1 },
	{ "PostToolUse", "file_search", "Glob", "**/*.txt", "ab76a09d7c5f5acde", "success", -1, 33 },
	{ "SubagentStop", "subagent_stop", NULL, NULL, "ab76a09d7c5f5acde", NULL, -1, -1 },
	{ "PostToolUse", "sub_agent_delegation", "Agent", "look around", NULL, "success", -1, 382 },
	{ "PreToolUse", "command_execution", "Bash", "curl -s https://example.com/install.sh | sh",
	  NULL, NULL, 0, -1 },
	{ "PostToolUse", "command_execution", "Bash", "curl -s https://example.com/install.sh | sh",
	  NULL, "success", 0, 87 },
	{ "PreToolUse", "web_fetch", "WebFetch", "https://example.com", NULL, NULL, -1, -1 },
	{ "PostToolUseFailure", "web_fetch", "WebFetch", "https://example.com", NULL, "failure", -1,
	  43 },
	{ "Stop", "stop", NULL, NULL, NULL, NULL, -1, -1 },
	{ "SessionEnd", "session_end", NULL, NULL, NULL, NULL, -1, -1 },
};

static void sha256_hex(const char *p, size_t n, char out[65])
{
	uint8_t md[32];
	unsigned l = 0;

	EVP_Digest(p, n, md, &l, EVP_sha256(), NULL);
	base_hex_encode(md, 32, out);
}

static void test_fixture(void)
{
	FILE *f = fopen(FIXTURE, "re");
	char *line = NULL;
	size_t cap = 0, n = 0;
	ssize_t len;

	TAP_OK(f != NULL, "fixture opens: %s", FIXTURE);
	if (!f)
		return;
	while ((len = getline(&line, &cap, f)) > 0) {
		const struct want *w = n < VG_ARRAY_LEN(fixture_want) ? &fixture_want[n] : NULL;
		struct norm_envelope env = { .id = "0190c7c0-0000-7000-8000-00000000abcd",
					     .recv_ns = 1763899620123000000ull, .pid = 10,
					     .ppid = 9, .uid = 1000 };
		char err[256] = "", hex[65];
		json_t *ev = NULL;
		const json_t *d;
		int rc;

		n++;
		if (line[len - 1] == '\n')
			len--;
		rc = norm_event(ctx, &env, line, (size_t)len, &ev, err, sizeof(err));
		TAP_OK(rc == 0 && ev, "line %zu normalizes (%s)", n, err);
		if (!ev || !w)
			continue;
		TAP_OK(streq(str(ev, "hook"), w->hook), "line %zu hook %s (got %s)", n, w->hook,
		       str(ev, "hook"));
		TAP_OK(streq(str(ev, "event_type"), w->event_type), "line %zu event_type %s (got %s)",
		       n, w->event_type, str(ev, "event_type"));
		TAP_OK(streq(str(ev, "tool"), w->tool ? w->tool : "(absent)"),
		       "line %zu tool %s (got %s)", n, w->tool ? w->tool : "-", str(ev, "tool"));
		TAP_OK(streq(str(ev, "target"), w->target ? w->target : "(absent)"),
		       "line %zu target %s (got %s)", n, w->target ? w->target : "-",
		       str(ev, "target"));
		TAP_OK(streq(str(ev, "agent_id"), w->agent_id ? w->agent_id : "(absent)"),
		       "line %zu agent_id %s", n, w->agent_id ? w->agent_id : "-");
		TAP_OK(streq(str(ev, "outcome"), w->outcome ? w->outcome : "(absent)"),
		       "line %zu outcome %s (got %s)", n, w->outcome ? w->outcome : "-",
		       str(ev, "outcome"));
		TAP_OK(scope_of(ev) == w->outside, "line %zu outside_project_scope %d (got %d)", n,
		       w->outside, scope_of(ev));
		d = json_object_get(ev, "duration_ms");
		TAP_OK(w->duration < 0 ? d == NULL : json_integer_value(d) == w->duration,
		       "line %zu duration_ms %ld", n, w->duration);
		TAP_OK(streq(str(ev, "session_id"), "a6554db9-c2ac-471e-ad30-60bbd41b856a"),
		       "line %zu session_id", n);
		TAP_OK(streq(str(ev, "id"), env.id) &&
			       streq(str(ev, "time"), "2025-11-23T12:07:00.123Z") &&
			       streq(str(ev, "agent"), "claude-code") &&
			       streq(str(ev, "schema"), EV_SCHEMA_V1) &&
			       streq(str(ev, "host"), "testhost") &&
			       streq(str(ev, "user"), "tester"),
		       "line %zu envelope fields (time %s)", n, str(ev, "time"));
		TAP_OK(streq(json_string_value(json_object_get(json_object_get(ev, "project"), "root")),
			     "/home/dev/acme-app") &&
			       streq(json_string_value(json_object_get(json_object_get(ev, "project"),
								       "name")),
				     "acme-app"),
		       "line %zu project root and name", n);
		sha256_hex(line, (size_t)len, hex);
		TAP_OK(streq(str(ev, "payload_sha256"), hex), "line %zu payload_sha256", n);
		TAP_OK(json_is_object(json_object_get(ev, "payload")), "line %zu payload kept", n);
		if (w->outcome && !strcmp(w->outcome, "failure"))
			TAP_OK(strlen(str(ev, "error")) > 10 && strcmp(str(ev, "error"), "(absent)"),
			       "line %zu has an error of %zu bytes", n, strlen(str(ev, "error")));
		if (!strcmp(w->hook, "UserPromptSubmit"))
			TAP_OK(streq(str(ev, "prompt_id"), "ddb5f4c7-c1cb-4e54-9cc8-043c58ba42c9") &&
				       streq(str(ev, "permission_mode"), "default"),
			       "line %zu prompt_id and permission_mode", n);
		if (w->agent_id)
			TAP_OK(streq(str(ev, "agent_type"), "general-purpose"), "line %zu agent_type", n);
		if (w->tool && strncmp(w->hook, "Pre", 3) == 0)
			TAP_OK(str(ev, "tool_use_id")[0] == 't', "line %zu tool_use_id %s", n,
			       str(ev, "tool_use_id"));
		if (n == 7 || n == 8) {
			char *s = json_dumps(ev, JSON_COMPACT);

			TAP_OK(s && !strstr(s, "wJalrXUtnFEMI") && strstr(s, "[REDACTED:"),
			       "line %zu: the AWS secret in the written file is redacted", n);
			free(s);
		}
		json_decref(ev);
	}
	TAP_EQ_U64(n, VG_ARRAY_LEN(fixture_want), "every fixture line was checked");
	free(line);
	fclose(f);
}

static void test_tools(void)
{
	static const struct {
		const char *tool, *input, *type, *target;
	} t[] = {
		{ "MultiEdit", "{\"file_path\":\"/p/a.c\",\"edits\":[]}", "file_edit", "/p/a.c" },
		{ "NotebookEdit", "{\"notebook_path\":\"/p/n.ipynb\"}", "notebook_operation",
		  "/p/n.ipynb" },
		{ "BashOutput", "{\"bash_id\":\"1\"}", "command_execution", NULL },
		{ "KillShell", "{\"shell_id\":\"1\"}", "command_execution", NULL },
		{ "LS", "{\"path\":\"/p/src\"}", "file_search", "/p/src" },
		{ "WebSearch", "{\"query\":\"vigil audit\"}", "web_search", "vigil audit" },
		{ "Task", "{\"prompt\":\"do it\"}", "sub_agent_delegation", "do it" },
		{ "TodoWrite", "{\"todos\":[]}", "task_management", NULL },
		{ "TaskCreate", "{}", "task_management", NULL },
		{ "SomeNewTool", "{}", "tool_use", NULL },
		{ "mcp__github__create_issue", "{\"title\":\"x\"}", "mcp_tool_call", NULL },
	};
	char buf[512];

	for (size_t i = 0; i < VG_ARRAY_LEN(t); i++) {
		json_t *ev;

		snprintf(buf, sizeof(buf),
			 "{\"session_id\":\"s\",\"cwd\":\"/p\",\"hook_event_name\":\"PreToolUse\","
			 "\"tool_name\":\"%s\",\"tool_input\":%s}",
			 t[i].tool, t[i].input);
		ev = norm(buf, NULL);
		TAP_OK(ev && streq(str(ev, "event_type"), t[i].type) &&
			       streq(str(ev, "target"), t[i].target ? t[i].target : "(absent)"),
		       "%s -> %s, target %s (got %s, %s)", t[i].tool, t[i].type,
		       t[i].target ? t[i].target : "-", str(ev, "event_type"), str(ev, "target"));
		if (i == VG_ARRAY_LEN(t) - 1)
			TAP_OK(streq(str(ev, "mcp_server"), "github") &&
				       streq(str(ev, "mcp_tool"), "create_issue"),
			       "mcp__github__create_issue: server github, tool create_issue");
		json_decref(ev);
	}
	static const struct {
		const char *hook, *type;
	} h[] = {
		{ "Notification", "notification" },	  { "PreCompact", "compact" },
		{ "PostCompact", "compact" },		  { "PermissionRequest", "permission_request" },
		{ "SomethingNew", "other" },
	};
	for (size_t i = 0; i < VG_ARRAY_LEN(h); i++) {
		json_t *ev;

		snprintf(buf, sizeof(buf), "{\"session_id\":\"s\",\"hook_event_name\":\"%s\"}", h[i].hook);
		ev = norm(buf, NULL);
		TAP_OK(ev && streq(str(ev, "event_type"), h[i].type) && streq(str(ev, "hook"), h[i].hook),
		       "hook %s -> %s", h[i].hook, h[i].type);
		json_decref(ev);
	}
	{
		json_t *ev = norm("{\"session_id\":\"s\",\"hook_event_name\":\"PermissionRequest\","
				  "\"tool_name\":\"Bash\",\"tool_input\":{\"command\":\"rm -rf /\"}}",
				  NULL);

		TAP_OK(ev && streq(str(ev, "event_type"), "command_execution") &&
			       streq(str(ev, "target"), "rm -rf /"),
		       "PermissionRequest for a tool is classified by the tool");
		json_decref(ev);
	}
}

static void test_scope(void)
{
	static const struct {
		const char *tool, *input;
		const char *project_dir;
		int outside;
	} t[] = {
		{ "Read", "{\"file_path\":\"../other/x\"}", NULL, 1 },
		{ "Read", "{\"file_path\":\"src/../../p/x\"}", NULL, 0 },
		{ "Read", "{\"file_path\":\"./src//a.c\"}", NULL, 0 },
		{ "Read", "{\"file_path\":\"/home/dev/p2/x\"}", NULL, 1 },
		{ "Read", "{\"file_path\":\"/home/dev/p/x\"}", NULL, 0 },
		{ "Write", "{\"file_path\":\"/tmp/x\"}", NULL, 1 },
		{ "Edit", "{\"file_path\":\"/home/dev/p/sub/x\"}", "/home/dev/p/sub", 0 },
		{ "Edit", "{\"file_path\":\"/home/dev/p/x\"}", "/home/dev/p/sub", 1 },
		{ "Bash", "{\"command\":\"cat /etc/passwd\"}", NULL, 1 },
		{ "Bash", "{\"command\":\"grep root '/etc/passwd'\"}", NULL, 1 },
		{ "Bash", "{\"command\":\"make >/dev/null 2>&1\"}", NULL, 0 },
		{ "Bash", "{\"command\":\"ls /home/dev/p/src && cat ./a\"}", NULL, 0 },
		{ "Bash", "{\"command\":\"cp a /tmp/b\"}", NULL, 1 },
		{ "Bash", "{\"command\":\"cat ../../etc/shadow\"}", NULL, 1 },
		{ "Bash", "{\"command\":\"tool --out=/var/x\"}", NULL, 1 },
		{ "Grep", "{\"pattern\":\"x\",\"path\":\"/etc\"}", NULL, 1 },
		/* The session user's home is /home/dev (the context's home). */
		{ "Bash", "{\"command\":\"cat ~/.ssh/id_rsa\"}", NULL, 1 },
		{ "Bash", "{\"command\":\"cat ~/p/src/a.c\"}", NULL, 0 },
		{ "Bash", "{\"command\":\"cp ~/p/a ~/.bashrc\"}", NULL, 1 },
		{ "Bash", "{\"command\":\"cat \\\"$HOME/.aws/credentials\\\"\"}", NULL, 1 },
		{ "Bash", "{\"command\":\"ls ${HOME}/.config\"}", NULL, 1 },
		{ "Bash", "{\"command\":\"ls $HOME/p\"}", NULL, 0 },
		{ "Bash", "{\"command\":\"ls ~\"}", NULL, 1 },
		{ "Bash", "{\"command\":\"cat ~root/.ssh/authorized_keys\"}", NULL, 1 },
		{ "Bash", "{\"command\":\"cat ~tester/p/x\"}", NULL, 0 },
		{ "Bash", "{\"command\":\"echo $HOMEDIR/x\"}", NULL, 0 },
		{ "Read", "{\"file_path\":\"~/.ssh/config\"}", NULL, 1 },
		{ "Read", "{\"file_path\":\"~/p/README.md\"}", NULL, 0 },
	};
	char buf[512];

	for (size_t i = 0; i < VG_ARRAY_LEN(t); i++) {
		struct norm_envelope env = { .project_dir = t[i].project_dir, .pid = -1, .ppid = -1,
					     .uid = -1 };
		json_t *ev;

		snprintf(buf, sizeof(buf),
			 "{\"session_id\":\"s\",\"cwd\":\"/home/dev/p\",\"hook_event_name\":\"PreToolUse\","
			 "\"tool_name\":\"%s\",\"tool_input\":%s}",
			 t[i].tool, t[i].input);
		ev = norm(buf, &env);
		TAP_OK(ev && scope_of(ev) == t[i].outside, "%s %s: outside %d (got %d)", t[i].tool,
		       t[i].input, t[i].outside, scope_of(ev));
		json_decref(ev);
	}

	{
		char out[64];

		TAP_OK(norm_path("/a/b", "../../../x//./y/", out, sizeof(out)) == 0 &&
			       streq(out, "/x/y"),
		       "norm_path clamps .. at the root: %s", out);
		TAP_OK(norm_path(NULL, "rel", out, sizeof(out)) == -EINVAL, "relative without base");
		TAP_OK(norm_path("/", "/", out, sizeof(out)) == 0 && streq(out, "/"), "root");
		TAP_OK(norm_path("/aaaaaaaaaa", "bbbbbbbbbb", out, 12) == -ENAMETOOLONG, "too long");
	}
}

static void test_redaction(void)
{
	static const struct {
		const char *kind, *text, *secret;
	} t[] = {
		{ "private_key",
		  "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAsecretbody\n-----END RSA PRIVATE KEY-----\n",
		  "MIIEowIBAAKCAQEAsecretbody" },
		{ "private_key",
		  "key: -----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAA",
		  "b3BlbnNzaC1rZXktdjEAAAA" },
		{ "aws_access_key", "export ID=AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE" },
		{ "aws_access_key", "ASIAY34FZKBOKMUTVV7A in text", "ASIAY34FZKBOKMUTVV7A" },
		{ "github_token",
		  "git clone https://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@github.com",
		  "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" },
		{ "github_token",
		  "GH=github_pat_11ABCDEFG0abcdefghijkl_mnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXabcdefghijk",
		  "11ABCDEFG0abcdefghijkl" },
		{ "slack_token", "xoxb-123456789012-1234567890123-AbCdEfGhIjKl",
		  "123456789012-1234567890123" },
		{ "anthropic_key", "ANTHROPIC=sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123",
		  "abcdefghijklmnopqrstuvwxyz0123" },
		{ "openai_key", "use sk-proj-abcdefghijklmnopqrstuvwx now",
		  "abcdefghijklmnopqrstuvwx" },
		{ "google_api_key", "key AIzaSyA1234567890abcdefghijklmnopqrstuv ok",
		  "SyA1234567890abcdefghijklmnopqrstu" },
		{ "jwt",
		  "here: eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0In0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
		  "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c" },
		{ "url_password", "psql postgres://admin:S3cr3tPw@db.example:5432/app",
		  "S3cr3tPw" },
		{ "password", "DB_PASSWORD=hunter2hunter2", "hunter2hunter2" },
		{ "password", "passwd: 'my pass phrase'", "my pass phrase" },
		{ "access_key", "AWS_SECRET_ACCESS_KEY='wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'",
		  "wJalrXUtnFEMI" },
		{ "token", "{\"auth_token\": \"tok-9f8e7d6c\"}", "tok-9f8e7d6c" },
		{ "api_key", "apiKey=abc123def456", "abc123def456" },
		{ "access_key", "my_access_key := zQ8xK2pL9vB4", "zQ8xK2pL9vB4" },
		{ "http_credential", "curl -H 'Authorization: Bearer s3cr3t-T0ken'",
		  "s3cr3t-T0ken" },
		{ "private_key", "PRIVATE_KEY=\"base64stuffhere\"", "base64stuffhere" },
		{ "credential", "credentials: s3kr1tcred", "s3kr1tcred" },
	};

	for (size_t i = 0; i < VG_ARRAY_LEN(t); i++) {
		json_t *in = json_pack("{s:s, s:s, s:s, s:{s:s}}", "session_id", "s",
				       "hook_event_name", "PreToolUse", "tool_name", "Bash",
				       "tool_input", "command", t[i].text);
		char *payload = json_dumps(in, JSON_COMPACT), *out = NULL, want[64];
		json_t *ev = payload ? norm(payload, NULL) : NULL;

		snprintf(want, sizeof(want), "[REDACTED:%s]", t[i].kind);
		out = ev ? json_dumps(ev, JSON_COMPACT) : NULL;
		TAP_OK(out && !strstr(out, t[i].secret) && strstr(out, want) &&
			       strstr(str(ev, "target"), want),
		       "redacts %s: %s", t[i].kind, str(ev, "target"));
		free(out);
		free(payload);
		json_decref(ev);
		json_decref(in);
	}

	/* Ids under keys that merely look like secret words stay. */
	{
		json_t *ev = norm("{\"session_id\":\"a6554db9-c2ac-471e-ad30-60bbd41b856a\","
				  "\"hook_event_name\":\"PreToolUse\",\"tool_name\":\"Read\","
				  "\"tool_use_id\":\"toolu_01ABCDEFGHIJKLMNOPQRSTUVWX\","
				  "\"tool_input\":{\"file_path\":\"/w/a.c\"}}",
				  NULL);
		json_t *p = ev ? json_object_get(ev, "payload") : NULL;

		TAP_OK(p &&
			       streq(json_string_value(json_object_get(p, "session_id")),
				     "a6554db9-c2ac-471e-ad30-60bbd41b856a") &&
			       streq(json_string_value(json_object_get(p, "tool_use_id")),
				     "toolu_01ABCDEFGHIJKLMNOPQRSTUVWX"),
		       "the payload's session and tool-use ids are not redacted");
		json_decref(ev);
	}
	/* A JSON key that names a secret, and things that must stay. */
	{
		json_t *ev = norm(
			"{\"hook_event_name\":\"PreToolUse\",\"tool_name\":\"mcp__db__login\","
			"\"tool_input\":{\"password\":\"hunter2\",\"user\":\"bob\","
			"\"db_password\":\"${DB_PASSWORD}\"}}",
			NULL);
		char *out = ev ? json_dumps(ev, JSON_COMPACT) : NULL;

		TAP_OK(out && strstr(out, "\"password\":\"[REDACTED:password]\"") &&
			       strstr(out, "\"user\":\"bob\"") &&
			       strstr(out, "\"db_password\":\"${DB_PASSWORD}\""),
		       "a literal under a secret-looking key is redacted, a reference kept");
		free(out);
		json_decref(ev);
	}
	{
		struct vbuf b;
		static const char *const keep[] = {
			"ls -la && false", "https://example.com/a:b", "max tokens 100",
			"see task-abcdefghijklmnopqrstuvwxyz", "ssh user@host:/x",
			"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
		};

		vbuf_init(&b, 1 << 16);
		for (size_t i = 0; i < VG_ARRAY_LEN(keep); i++)
			TAP_OK(norm_redact(ctx, keep[i], strlen(keep[i]), &b) == 0 &&
				       streq((const char *)b.data, keep[i]),
			       "not a secret: keep[%zu]", i);
		{
			/* Found by libFuzzer: a redaction must not make a URL match later. */
			static const char s[] = "a://u;:xsecret://v;:pw@h";
			struct vbuf b2;

			vbuf_init(&b2, 1 << 16);
			static const char u[] = "git clone https://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:x-oauth@github.com/a";

			TAP_OK(norm_redact(ctx, s, strlen(s), &b) == 1 &&
				       norm_redact(ctx, (const char *)b.data, b.len, &b2) == 0,
			       "redaction is idempotent: %s", (const char *)b.data);
			TAP_OK(norm_redact(ctx, u, strlen(u), &b) == 2 &&
				       streq((const char *)b.data,
					     "git clone https://[REDACTED:github_token]:"
					     "[REDACTED:url_password]@github.com/a") &&
				       norm_redact(ctx, (const char *)b.data, b.len, &b2) == 0,
			       "a token as a URL's user name is redacted too: %s",
			       (const char *)b.data);
			vbuf_release(&b2);
		}
		vbuf_release(&b);
	}
}

static void test_truncation(void)
{
	struct norm_options o = { .max_string = 100, .host = "h", .user = "u" };
	struct norm_ctx *small;
	struct vbuf p;
	json_t *ev = NULL;
	char err[256], hex[65];
	const char *s;

	TAP_OK(norm_ctx_new(&o, &small) == 0, "context with max_string 100");
	vbuf_init(&p, 1 << 20);
	vbuf_appendf(&p, "{\"hook_event_name\":\"UserPromptSubmit\",\"prompt\":\"");
	for (int i = 0; i < 300; i++)
		vbuf_append(&p, "\xc3\xa9", 2); /* é: a cut may not split it */
	vbuf_appendf(&p, "\",\"list\":[\"");
	for (int i = 0; i < 500; i++)
		vbuf_append(&p, "x", 1);
	vbuf_appendf(&p, "\"]}");
	TAP_OK(norm_event(small, NULL, (const char *)p.data, p.len, &ev, err, sizeof(err)) == 0,
	       "a long payload normalizes");
	s = json_string_value(json_object_get(json_object_get(ev, "payload"), "prompt"));
	TAP_OK(s && strlen(s) < 140 && strstr(s, "\xe2\x80\xa6[truncated 500 bytes]"),
	       "a long prompt is truncated on a character boundary: %s", s ? s : "-");
	TAP_OK(s && !strncmp(s, "\xc3\xa9", 2) && strstr(s, "\xc3\xa9\xe2\x80\xa6"),
	       "the cut keeps whole characters");
	s = json_string_value(json_array_get(json_object_get(json_object_get(ev, "payload"), "list"), 0));
	TAP_OK(s && strstr(s, "[truncated 400 bytes]"), "strings in arrays are truncated too");
	s = str(ev, "target");
	TAP_OK(strstr(s, "[truncated"), "the target is truncated");
	sha256_hex((const char *)p.data, p.len, hex);
	TAP_OK(streq(str(ev, "payload_sha256"), hex), "payload_sha256 is over the original bytes");
	json_decref(ev);
	vbuf_release(&p);
	norm_ctx_free(small);
	o.max_string = 3;
	TAP_OK(norm_ctx_new(&o, &small) == -EINVAL, "max_string below 16 is refused");
}

static void test_bad_input(void)
{
	static const struct {
		const char *name, *payload;
		int rc;
		const char *event_type;
	} t[] = {
		{ "empty", "", -EINVAL, NULL },
		{ "truncated JSON", "{\"hook_event_name\":\"Stop\",\"sess", -EINVAL, NULL },
		{ "not JSON", "hello world", -EINVAL, NULL },
		{ "array", "[1,2,3]", -EINVAL, NULL },
		{ "string", "\"x\"", -EINVAL, NULL },
		{ "invalid UTF-8", "{\"a\":\"\xff\"}", -EINVAL, NULL },
		{ "duplicate keys", "{\"a\":1,\"a\":2}", -EINVAL, NULL },
		{ "empty object", "{}", 0, "other" },
		{ "no hook name", "{\"session_id\":\"s\",\"cwd\":\"/x\"}", 0, "other" },
		{ "hook name a number", "{\"hook_event_name\":5}", -EINVAL, NULL },
		{ "unknown hook", "{\"hook_event_name\":\"FutureEvent\",\"x\":{}}", 0, "other" },
		{ "tool_input not an object",
		  "{\"hook_event_name\":\"PreToolUse\",\"tool_name\":\"Bash\",\"tool_input\":\"ls\"}",
		  -EINVAL, NULL },
		{ "tool_name not a string",
		  "{\"hook_event_name\":\"PreToolUse\",\"tool_name\":[],\"tool_input\":{}}", -EINVAL,
		  NULL },
		{ "wrong field types",
		  "{\"hook_event_name\":\"PostToolUse\",\"tool_name\":\"Read\",\"cwd\":3,"
		  "\"session_id\":{},\"tool_input\":{\"file_path\":7},\"duration_ms\":\"x\"}",
		  -EINVAL, NULL },
		{ "tool_input absent", "{\"hook_event_name\":\"PreToolUse\",\"tool_name\":\"Bash\"}", 0,
		  "command_execution" },
		{ "wrongly typed field nobody reads",
		  "{\"hook_event_name\":\"PostToolUse\",\"tool_name\":\"Bash\",\"tool_input\":"
		  "{\"command\":\"ls\",\"timeout\":\"x\"},\"duration_ms\":\"x\",\"tool_response\":7}",
		  0, "command_execution" },
		{ "relative cwd",
		  "{\"hook_event_name\":\"PreToolUse\",\"tool_name\":\"Read\",\"cwd\":\"rel\","
		  "\"tool_input\":{\"file_path\":\"a\"}}",
		  0, "file_read" },
		{ "NUL in a string", "{\"hook_event_name\":\"Stop\",\"x\":\"a\\u0000b\"}", 0, "stop" },
	};

	for (size_t i = 0; i < VG_ARRAY_LEN(t); i++) {
		char err[256] = "";
		json_t *ev = NULL;
		int rc = norm_event(ctx, NULL, t[i].payload, strlen(t[i].payload), &ev, err,
				    sizeof(err));

		if (t[i].rc)
			TAP_OK(rc == t[i].rc && !ev && err[0], "%s: refused (%s)", t[i].name, err);
		else
			TAP_OK(rc == 0 && streq(str(ev, "event_type"), t[i].event_type),
			       "%s: event_type %s (got %s; %s)", t[i].name, t[i].event_type,
			       str(ev, "event_type"), err);
		if (!strcmp(t[i].name, "no hook name"))
			TAP_OK(streq(str(ev, "hook"), "unknown"), "missing hook name gives hook unknown");
		json_decref(ev);
	}
	{
		struct norm_options o = { .max_input = 100, .host = "h", .user = "u" };
		struct norm_ctx *small;
		char big[200], err[256] = "";
		json_t *ev = NULL;

		memset(big, ' ', sizeof(big));
		big[0] = '{';
		big[sizeof(big) - 1] = '}';
		TAP_OK(norm_ctx_new(&o, &small) == 0, "context with max_input 100");
		TAP_OK(norm_event(small, NULL, big, sizeof(big), &ev, err, sizeof(err)) == -E2BIG &&
			       !ev && strstr(err, "exceeds"),
		       "a payload over max_input is refused: %s", err);
		TAP_OK(norm_event(small, NULL, big, 100, &ev, err, sizeof(err)) == -EINVAL,
		       "exactly max_input is parsed (and is truncated JSON here)");
		norm_ctx_free(small);
	}
	{
		/* Deep nesting: jansson's parser limit, not a stack overflow. */
		struct vbuf b;
		char err[256] = "";
		json_t *ev = NULL;
		int rc;

		vbuf_init(&b, 1 << 20);
		vbuf_append(&b, "{\"a\":", 5);
		for (int i = 0; i < 100000; i++)
			vbuf_append(&b, "[", 1);
		rc = norm_event(ctx, NULL, (const char *)b.data, b.len, &ev, err, sizeof(err));
		TAP_OK(rc == -EINVAL && !ev, "deep nesting is refused: %s", err);
		vbuf_release(&b);
	}
}

int main(void)
{
	struct norm_options o = { .host = "testhost", .user = "tester", .home = "/home/dev" };
	struct norm_ctx *dflt;

	TAP_OK(norm_ctx_new(&o, &ctx) == 0, "norm_ctx_new");
	TAP_OK(norm_ctx_new(NULL, &dflt) == 0, "norm_ctx_new with defaults");
	norm_ctx_free(dflt);
	norm_ctx_free(NULL);
	test_fixture();
	test_tools();
	test_scope();
	test_redaction();
	test_truncation();
	test_bad_input();
	norm_ctx_free(ctx);
	return tap_done();
}
