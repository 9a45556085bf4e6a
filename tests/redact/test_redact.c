/*
 * test_redact.c - the redactor against tests/redact/samples.jsonl (secrets
 * of 55 token formats and 35 contexts, each in three places: a command, a
 * file's content, a tool's output) and against lines that only look like
 * secrets, which must come out unchanged.  Also: the catalogue's error
 * messages, idempotence, the pre-pass never missing what the scan finds,
 * key classification and the range limit.
 */
#include "redact.h"
#include "tap.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static struct rd_catalog *cat;

static char *scan(const char *s, int *hits)
{
	struct vbuf out;
	char *r;

	vbuf_init(&out, 1u << 24);
	*hits = rd_scan(cat, s, strlen(s), &out);
	r = strdup(out.data ? (const char *)out.data : "");
	vbuf_release(&out);
	return r;
}

/* No 8-byte window of the secret (all of it when shorter) survives.  A long
 * token's first bytes are its public prefix, which the kind may repeat
 * ("[REDACTED:rubygems_key]"), so windows start after them. */
static bool leaks(const char *out, const char *secret)
{
	size_t n = strlen(secret), w = n < 8 ? n : 8, from = n > 24 ? 12 : 0;

	for (size_t i = from; i + w <= n; i++) {
		char win[9];

		memcpy(win, secret + i, w);
		win[w] = '\0';
		if (strstr(out, win))
			return true;
	}
	return false;
}

/* before + what + after through the scanner: secret must be gone. */
static void place(const char *kind, const char *secret, const char *what, const char *before,
		  const char *after, const char *where)
{
	size_t cap = strlen(before) + strlen(what) + strlen(after) + 1;
	char *text = malloc(cap), *out;
	int hits;

	snprintf(text, cap, "%s%s%s", before, what, after);
	out = scan(text, &hits);
	TAP_OK(hits > 0 && !leaks(out, secret), "%s in %s: redacted", kind, where);
	if (hits <= 0 || leaks(out, secret))
		TAP_DIAG("in:  %.300s\n# out: %.300s", text, out);
	TAP_OK(rd_needed(cat, text, strlen(text)), "%s in %s: the pre-pass sees it", kind, where);
	free(out);
	free(text);
}

static void samples(void)
{
	FILE *f = fopen(SAMPLES, "r");
	char line[8192];
	int n = 0;

	TAP_OK(f != NULL, "open %s", SAMPLES);
	while (f && fgets(line, sizeof(line), f)) {
		json_t *e = json_loads(line, 0, NULL);
		const char *kind = json_string_value(json_object_get(e, "kind"));
		const char *secret = json_string_value(json_object_get(e, "secret"));
		const char *text = json_string_value(json_object_get(e, "text"));

		if (!kind || !secret) {
			TAP_OK(0, "sample line %d is well-formed", n + 1);
			json_decref(e);
			continue;
		}
		if (text) {
			/* A context: the line as written, inside a file, in output. */
			place(kind, secret, text, "", "", "a command");
			place(kind, secret, text, "# deploy notes\n", "\nmake deploy\n", "a file");
			place(kind, secret, text, "+ ", "\nexit status 0", "tool output");
		} else {
			place(kind, secret, secret, "echo ", " | gh auth login --with-token",
			      "a command");
			place(kind, secret, secret, "const client = new Client({\n  apiKey: \"",
			      "\",\n});\n", "a file");
			place(kind, secret, secret, "{\"ok\":true,\"credentials\":{\"value\":\"",
			      "\"}}", "tool output");
			place(kind, secret, secret, "using ", "", "prose");
		}
		n++;
		json_decref(e);
	}
	if (f)
		fclose(f);
	TAP_OK(n >= 100, "%d samples read", n);
}

/* Lines of ordinary code and commands that only look like secrets. */
static const char *const benign[] = {
	"if token == \"@\":",
	"    if token != '@' and token_type == TokenType.NAME:",
	"max_tokens: 4096",
	"def check(password: str) -> bool:",
	"    password: str",
	"dev ALL=(ALL) NOPASSWD:ALL",
	"%sudo   ALL=(ALL:ALL) NOPASSWD: ALL",
	"{\"Credentials\": [{\"Type\": \"x\"}], \"ok\": true}",
	"token = get_token()",
	"password = os.environ[\"DB_PASSWORD\"]",
	"password = self.password",
	"self.token = token",
	"const token = await getToken(req);",
	"secret_name: my-app-tls",
	"password_length = 16",
	"token_type: bearer",
	"key: value",
	"primary_key=True",
	"api_key = settings.API_KEY",
	"export TOKEN=$(gh auth token)",
	"curl -H \"Authorization: Bearer $TOKEN\" https://api.github.com/user",
	"Authorization: Bearer ${GITHUB_TOKEN}",
	"password: ${DB_PASSWORD}",
	"password: \"{{ vault_db_password }}\"",
	"password=<your-password>",
	"API_KEY=your_api_key_here",
	"SECRET_KEY=changeme_xxxx",
	"git push origin feature/login-token",
	"import { useAuthToken } from './hooks/useAuthToken';",
	"const [token, setToken] = useState<string | null>(null);",
	"session_key = f\"user:{user_id}\"",
	"for key, value in os.environ.items():",
	"<input type=\"password\" name=\"password\" />",
	"CREATE TABLE users (id serial, password_hash text NOT NULL);",
	"ssh-keygen -t ed25519 -f ./test-keys/id_test -N \"\"",
	"openssl req -x509 -newkey rsa:2048 -nodes -keyout certs/dev.key -out certs/dev.crt",
	"https://github.com/expressjs/express/blob/master/lib/router/index.js?plain=1",
	"commit 3f9a1c2e4b5d6f7a8b9c0d1e2f3a4b5c6d7e8f9a",
	"sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
	"\"integrity\": \"sha512-abc\"",
	"cache-key: node-modules-${{ hashFiles('package-lock.json') }}",
	"mysql -u root -p app_db",
	"curl -u admin https://jenkins.internal/api/json",
	"DEBUG=1 NODE_ENV=production npm start",
	"export PWD=/home/dev/proj",
	"passport.use(new LocalStrategy(verify));",
	"bypass_cache = true",
	"compass: north",
	"The password must be at least 12 characters long.",
	"Set the token in your environment before running the tests.",
	"keyboard: us",
	"monkey_patch = False",
	"k8s.io/client-go/tools/clientcmd",
	"com.example.app.MainActivity",
	"uuid: 123e4567-e89b-12d3-a456-426614174000",
};

static void precision(void)
{
	for (size_t i = 0; i < sizeof(benign) / sizeof(benign[0]); i++) {
		int hits;
		char *out = scan(benign[i], &hits);

		TAP_OK(hits == 0 && !strcmp(out, benign[i]), "unchanged: %s", benign[i]);
		if (hits != 0)
			TAP_DIAG("out: %s", out);
		free(out);
	}
}

static void idempotent(void)
{
	const char *t = "curl -u a:Sup3rS3cret! -H 'Authorization: Bearer abc.def.ghi1234' "
			"https://x:y2@h/?sig=abcdef1234 ghp_0123456789abcdefghij0123456789abcdef";
	int h1, h2;
	char *a = scan(t, &h1), *b = scan(a, &h2);

	TAP_OK(h1 >= 4, "a line with four secrets: %d found", h1);
	TAP_OK(h2 == 0 && !strcmp(a, b), "redacting redacted text changes nothing");
	if (h2)
		TAP_DIAG("first:  %s\n# second: %s", a, b);
	free(a);
	free(b);
	/* Text that only looks like a marker shields nothing. */
	a = scan("[REDACTED: x ghp_0123456789abcdefghij0123456789abcdef ]", &h1);
	TAP_OK(h1 == 1 && !strstr(a, "0123456789abcdefghij"), "a fake marker shields nothing: %s",
	       a);
	free(a);
	a = scan("openssl pkcs12 -passout pass:[REDACTED:password] -out c.p12", &h1);
	TAP_OK(h1 == 0, "an option whose value was redacted before is left alone: %s", a);
	free(a);
}

static void keys(void)
{
	const char *kind;

	TAP_OK(rd_key_class(cat, "DB_PASSWORD", 11, &kind) == RD_KEY_STRONG &&
		       !strcmp(kind, "password"),
	       "DB_PASSWORD is a strong key");
	TAP_OK(rd_key_class(cat, "PGPASSWORD", 10, NULL) == RD_KEY_STRONG, "PGPASSWORD is strong");
	TAP_OK(rd_key_class(cat, "clientSecret", 12, NULL) == RD_KEY_STRONG,
	       "clientSecret is strong");
	TAP_OK(rd_key_class(cat, "accessToken", 11, NULL) == RD_KEY_WEAK, "accessToken is weak");
	TAP_OK(rd_key_class(cat, "client-key-data", 15, NULL) == RD_KEY_WEAK,
	       "client-key-data: key before a suffix word");
	TAP_OK(rd_key_class(cat, "password_length", 15, NULL) == RD_KEY_NONE,
	       "password_length is not a secret's key");
	TAP_OK(rd_key_class(cat, "NOPASSWD", 8, NULL) == RD_KEY_NONE, "NOPASSWD is not");
	TAP_OK(rd_key_class(cat, "max_tokens", 10, NULL) == RD_KEY_NONE, "max_tokens is not");
	TAP_OK(!rd_value_secret(RD_KEY_WEAK, "my-component-key", 16),
	       "a kebab-case name is not random");
	TAP_OK(rd_value_secret(RD_KEY_WEAK, "q8Zt3LmN0pXv7RsK", 16), "a random value is");
	TAP_OK(rd_value_secret(RD_KEY_STRONG, "hunter22", 8), "any literal under a strong key");
	TAP_OK(!rd_value_secret(RD_KEY_STRONG, "${PASS}", 7), "a reference is not");
}

static void limits(void)
{
	struct vbuf out;
	size_t n = (RD_MAX_RANGES + 10) * 16;
	char *t = malloc(n + 1);
	int hits;

	for (size_t i = 0; i < RD_MAX_RANGES + 10; i++)
		memcpy(t + i * 16, "x pw=S3cr3tVa9! ", 16);
	t[n] = '\0';
	vbuf_init(&out, 1u << 24);
	hits = rd_scan(cat, t, n, &out);
	TAP_OK(hits > 0 && !strstr((const char *)out.data + out.len / 2, "S3cr3t"),
	       "past %u secrets the rest of the text is cut, not kept", RD_MAX_RANGES);
	vbuf_release(&out);
	free(t);
}

static void catalog_errors(void)
{
	static const struct {
		const char *text, *want;
	} bad[] = {
		{ "formats: []\ncontext: {}\n", "t.yml:1:10: formats: a list" },
		{ "formats:\n  - kind: x\n    title: t\n    prefix: ab\n    parts: [{ chars: \"z-a\", len: 9 }]\n",
		  "t.yml:5:" },
		{ "formats:\n  - kind: x\n    title: t\n    prefix: a\n    parts: [{ chars: \"a\", len: 2 }]\n",
		  "shorter than 8" },
		{ "- a\n", "one mapping" },
	};
	char err[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct rd_catalog *c = NULL;
		int rc = rd_catalog_new(bad[i].text, strlen(bad[i].text), "t.yml", &c, err,
					sizeof(err));

		TAP_OK(rc == -EINVAL && !c && strstr(err, bad[i].want), "bad catalogue %zu: %s", i,
		       err);
	}
}

int main(void)
{
	char err[256] = "";
	int rc = rd_catalog_default(&cat, err, sizeof(err));

	TAP_OK(rc == 0, "the embedded catalogue compiles: %s", err);
	if (rc)
		return tap_done();
	TAP_OK(rd_format_count(cat) >= 45, "%zu token formats", rd_format_count(cat));
	samples();
	precision();
	idempotent();
	keys();
	limits();
	catalog_errors();
	rd_catalog_free(cat);
	return tap_done();
}
