/*
 * cmd_import.c - `vigil import`: appends JSON lines to the ledger without a
 * daemon (recorded sessions, demos, tests).  A line is either an agent hook
 * payload (one hook's stdin, as in a recorded hook log), which goes through
 * the same normalizer as live events, or an already normalized event
 * ("schema": "vigil.event.v1", e.g. from an export), which is kept as it is.
 * Each event is stored as canonical JSON (compact, keys sorted) so its hash
 * does not depend on how the input was formatted.
 */
#include "cli.h"
#include "pipeline.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <unistd.h>

#define IMPORT_DEFAULT_MAX_LINE (1024u * 1024)
#define IMPORT_MAX_FILES 4096
#define IMPORT_MAX_REPORTED 100 /* bad lines listed in --json output */

static const char import_usage[] =
	"usage: vigil import [OPTIONS] FILE... | -\n"
	"\n"
	"Appends JSON lines to the ledger in STATE/ledger without a daemon, then seals\n"
	"it with a signed checkpoint.  Each line is one agent hook payload (a hook's\n"
	"stdin, as in a recorded hook log): it goes through the same normalizer as live\n"
	"events (event type, project scope, secret redaction, truncation).  Lines that\n"
	"already are vigil events (\"schema\": \"vigil.event.v1\") are kept as they are;\n"
	"those without an \"id\" get a UUIDv7.  Empty lines are ignored.  Bad lines are\n"
	"reported as FILE:LINE and skipped; with --strict the import stops at the first\n"
	"one (everything before it stays in the ledger, sealed and durable).  The daemon\n"
	"must not be running on the same state directory (it holds the ledger).\n"
	"\n"
	"Options:\n"
	"  --agent NAME        agent that produced the hook log: claude-code (default),\n"
	"                      codex, gemini, cursor, copilot, other\n"
	"  --raw               store every line as it is, without normalizing\n"
	"  --max-string SIZE   truncate longer payload strings (default 2000 bytes)\n"
	"  --strict            stop at the first bad line\n"
	"  --max-line SIZE     longest accepted line (default 1M, at most 16M)\n"
	"  --signing-key SPEC  signing key (default $VIGIL_SIGNING_KEY, else\n"
	"                      STATE/keys/signing.key)\n"
	"  --mac-key SPEC      MAC key (default $VIGIL_MAC_KEY, else STATE/keys/mac.key)\n"
	"                      SPEC is file:PATH, PATH, env:NAME or cmd:COMMAND\n"
	"  --segment-size SIZE start a new segment past this size (default 64M)\n"
	"  --quiet             print nothing but errors\n"
	"  --json              print the summary as JSON\n"
	"  --state-dir DIR     state directory\n"
	"\n"
	"Exit status: 0 all lines imported; 1 bad lines were skipped (or --strict\n"
	"stopped); 2 usage error; 3 the ledger or keys could not be used.\n";

enum { OPT_AGENT = 200, OPT_RAW, OPT_MAXSTR, OPT_STRICT = 256, OPT_MAXLINE, OPT_SIGN, OPT_MAC, OPT_SEG, OPT_QUIET, OPT_JSON, OPT_STATE };

static const struct option import_opts[] = {
	{ "agent", required_argument, NULL, OPT_AGENT },
	{ "raw", no_argument, NULL, OPT_RAW },
	{ "max-string", required_argument, NULL, OPT_MAXSTR },
	{ "strict", no_argument, NULL, OPT_STRICT },
	{ "max-line", required_argument, NULL, OPT_MAXLINE },
	{ "signing-key", required_argument, NULL, OPT_SIGN },
	{ "mac-key", required_argument, NULL, OPT_MAC },
	{ "segment-size", required_argument, NULL, OPT_SEG },
	{ "quiet", no_argument, NULL, OPT_QUIET },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "state-dir", required_argument, NULL, OPT_STATE },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

struct import {
	struct cli *c;
	struct ledger *l;
	struct norm_ctx *norm; /* NULL with --raw */
	struct corr *corr;     /* pairs Pre/Post and links subagents, as the daemon does */
	struct vbuf canon;     /* the record being written, reused line to line */
	const char *agent;
	bool strict, quiet, json, stop;
	size_t max_line;
	uint64_t imported, skipped, first_seq, last_seq;
	json_t *bad; /* the first IMPORT_MAX_REPORTED bad lines, for --json */
	uint64_t progress_at;
	int fatal;	  /* a ledger error: stop everything */
	const char *file; /* the input being read, for messages */
};

static void bad_line(struct import *im, const char *file, uint64_t line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void bad_line(struct import *im, const char *file, uint64_t line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	im->skipped++;
	if (im->strict)
		im->stop = true;
	fprintf(stderr, "vigil import: %s:%" PRIu64 ": %s%s\n", file, line, msg,
		im->strict ? " (stopping: --strict)" : "; skipped");
	if (im->bad && json_array_size(im->bad) < IMPORT_MAX_REPORTED)
		json_array_append_new(im->bad, json_pack("{s:s, s:I, s:s}", "file", file, "line",
							 (json_int_t)line, "error", msg));
}

static bool is_vigil_event(const json_t *ev)
{
	const char *schema = json_string_value(json_object_get(ev, "schema"));

	return schema && !strcmp(schema, NORM_SCHEMA);
}

/* One non-blank line (without its newline) of input. */
static void import_line(struct import *im, const char *file, uint64_t lineno, const char *p,
			size_t len)
{
	json_error_t jerr;
	json_t *ev, *id;
	uint64_t seq;
	int rc;

	ev = json_loadb(p, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
	if (!ev) {
		bad_line(im, file, lineno, "invalid JSON at column %d: %s", jerr.column, jerr.text);
		return;
	}
	if (!json_is_object(ev)) {
		bad_line(im, file, lineno, "expected a JSON object, found %s",
			 json_is_array(ev) ? "an array" : "a scalar");
		goto out;
	}
	if (im->norm && !is_vigil_event(ev)) {
		struct norm_envelope env = { .agent = im->agent, .pid = -1, .ppid = -1, .uid = -1 };
		char nerr[512];
		json_t *nev = NULL;

		json_decref(ev);
		ev = NULL;
		rc = norm_event(im->norm, &env, p, len, &nev, nerr, sizeof(nerr));
		if (rc == -ENOMEM) {
			im->fatal = rc;
			goto out;
		}
		if (rc < 0) {
			bad_line(im, file, lineno, "%s", nerr);
			goto out;
		}
		ev = nev;
		corr_apply(im->corr, ev, vg_now_ns());
	}
	id = json_object_get(ev, "id");
	if (id && !json_is_string(id)) {
		bad_line(im, file, lineno, "\"id\" must be a string");
		goto out;
	}
	if (!id) {
		char uuid[37];

		if (vg_uuid7(uuid) < 0 || json_object_set_new(ev, "id", json_string(uuid)) < 0) {
			im->fatal = -ENOMEM;
			goto out;
		}
	}
	/* Canonical JSON: the bytes of json_dumps(COMPACT | SORT_KEYS). */
	vbuf_reset(&im->canon);
	rc = norm_serialize(ev, &im->canon);
	if (rc == -E2BIG || rc == -ELOOP) {
		bad_line(im, file, lineno, "%s", rc == -E2BIG ? "event too large for the ledger"
							     : "event nested too deeply");
		goto out;
	}
	if (rc < 0) {
		im->fatal = rc;
		goto out;
	}
	rc = ledger_append(im->l, LEDGER_REC_EVENT, im->canon.data, im->canon.len, &seq);
	if (rc == -EMSGSIZE) {
		bad_line(im, file, lineno, "event too large for the ledger");
		goto out;
	}
	if (rc < 0) {
		im->fatal = rc;
		goto out;
	}
	if (!im->first_seq)
		im->first_seq = seq;
	im->last_seq = seq;
	im->imported++;
out:
	json_decref(ev);
}

static void show_progress(struct import *im, bool final)
{
	uint64_t now = vg_mono_ns();

	if (im->quiet || im->json || !im->c->progress)
		return;
	if (!final && now - im->progress_at < 250000000ull)
		return;
	im->progress_at = now;
	fprintf(stderr, "\rimporting: %" PRIu64 " events, %" PRIu64 " skipped%s", im->imported,
		im->skipped, final ? "\n" : "");
}

static bool import_one(void *arg, uint64_t lineno, const char *p, size_t len, bool too_long)
{
	struct import *im = arg;

	if (too_long)
		bad_line(im, im->file, lineno, "line longer than %zu bytes", im->max_line);
	else
		import_line(im, im->file, lineno, p, len);
	show_progress(im, false);
	return !im->stop && !im->fatal;
}

/* Reads lines of at most max_line bytes; longer ones are reported and skipped. */
static int import_stream(struct import *im, const char *name, FILE *f)
{
	int rc;

	im->file = name;
	rc = cli_read_lines(f, im->max_line, import_one, im);
	if (rc < 0)
		cli_error("cannot read '%s': %s", name, strerror(errno));
	return rc;
}

static const char *key_spec(const char *opt, const char *env, char *buf, size_t cap,
			    struct cli *c, const char *file)
{
	const char *v = getenv(env);

	if (opt)
		return opt;
	if (v && *v)
		return v;
	if (vg_path(buf, cap, "file:%s/keys/%s", c->state_dir, file) < 0)
		return NULL;
	return buf;
}

int cmd_import(struct cli *c, int argc, char **argv)
{
	struct import im = { .c = c, .max_line = IMPORT_DEFAULT_MAX_LINE, .agent = "claude-code" };
	struct norm_options no = { 0 };
	bool raw = false;
	const char *sign_opt = NULL, *mac_opt = NULL, *sign, *mac;
	char sbuf[4300], mbuf[4300], dir[4200], err[1024];
	struct ledger_options lo = { 0 };
	struct ledger_open_info info;
	uint64_t seg = 0, v, sealed = 0;
	int o, rc, status = CLI_OK;

	optind = 0;
	while ((o = getopt_long(argc, argv, "h", import_opts, NULL)) != -1) {
		switch (o) {
		case OPT_AGENT:
			if (!cli_agent_valid(optarg))
				return cli_usage_error("import", "--agent: unknown agent '%s' (one of "
								 "%s)", optarg, CLI_AGENTS);
			im.agent = optarg;
			break;
		case OPT_RAW:
			raw = true;
			break;
		case OPT_MAXSTR:
			if (vg_parse_size(optarg, &v) < 0 || v < 16 || v > LEDGER_MAX_PAYLOAD)
				return cli_usage_error("import", "--max-string: '%s' is not a size "
								 "between 16 and 16M", optarg);
			no.max_string = (size_t)v;
			break;
		case OPT_STRICT:
			im.strict = true;
			break;
		case OPT_MAXLINE:
			if (vg_parse_size(optarg, &v) < 0 || v == 0 || v > LEDGER_MAX_PAYLOAD)
				return cli_usage_error("import", "--max-line: '%s' is not a size "
								 "between 1 and 16M", optarg);
			im.max_line = (size_t)v;
			break;
		case OPT_SIGN:
			sign_opt = optarg;
			break;
		case OPT_MAC:
			mac_opt = optarg;
			break;
		case OPT_SEG:
			if (vg_parse_size(optarg, &seg) < 0 || seg < 4096)
				return cli_usage_error("import", "--segment-size: '%s' is not a size "
								 "of at least 4K", optarg);
			break;
		case OPT_QUIET:
			im.quiet = true;
			break;
		case OPT_JSON:
			im.json = true;
			break;
		case OPT_STATE:
			if (cli_set_state_dir(c, optarg) < 0)
				return CLI_USAGE;
			break;
		case 'h':
			fputs(import_usage, stdout);
			return CLI_OK;
		default:
			return cli_usage_error("import", "unknown option");
		}
	}
	if (optind >= argc)
		return cli_usage_error("import", "give one or more files, or - for standard input");
	if (argc - optind > IMPORT_MAX_FILES)
		return cli_usage_error("import", "at most %d files at once", IMPORT_MAX_FILES);
	for (int i = optind; i < argc; i++) {
		if (strcmp(argv[i], "-") && access(argv[i], R_OK) < 0) {
			cli_error("cannot read '%s': %s", argv[i], strerror(errno));
			return CLI_ERROR;
		}
	}
	if (cli_state(c) < 0)
		return CLI_ERROR;
	sign = key_spec(sign_opt, "VIGIL_SIGNING_KEY", sbuf, sizeof(sbuf), c,
			LEDGER_SIGNING_KEY_FILE);
	mac = key_spec(mac_opt, "VIGIL_MAC_KEY", mbuf, sizeof(mbuf), c, LEDGER_MAC_KEY_FILE);
	if (!sign || !mac || cli_state_path(c, dir, sizeof(dir), "ledger") < 0) {
		cli_error("state directory path too long");
		return CLI_ERROR;
	}
	if (!sign_opt && !getenv("VIGIL_SIGNING_KEY") && access(sbuf + 5, F_OK) < 0) {
		cli_error("no signing key at '%s'; run 'vigil keys init' first", sbuf + 5);
		return CLI_ERROR;
	}
	if (!raw) {
		no.max_input = im.max_line;
		rc = norm_ctx_new(&no, &im.norm);
		if (rc == 0)
			rc = corr_new(NULL, &im.corr);
		if (rc < 0) {
			cli_error("cannot set up the normalizer: %s", strerror(-rc));
			return CLI_ERROR;
		}
	}
	lo.dir = dir;
	lo.signing_key = sign;
	lo.mac_key = mac;
	lo.segment_bytes = seg;
	rc = ledger_open(&lo, &im.l, &info, err, sizeof(err));
	if (rc < 0) {
		cli_error("%s", err);
		norm_ctx_free(im.norm);
		corr_free(im.corr);
		return CLI_ERROR;
	}
	if (info.recovered && !im.quiet)
		fprintf(stderr,
			"vigil import: recovered the ledger after a crash: cut %" PRIu64
			" bytes (%" PRIu64 " partial records) from segment %" PRIu64 "\n",
			info.dropped_bytes, info.dropped_frames, info.recovered_segment);
	if (im.json)
		im.bad = json_array();
	vbuf_init(&im.canon, LEDGER_MAX_PAYLOAD);

	for (int i = optind; i < argc && !im.stop && !im.fatal; i++) {
		bool is_stdin = !strcmp(argv[i], "-");
		FILE *f = is_stdin ? stdin : fopen(argv[i], "re");

		if (!f) {
			cli_error("cannot open '%s': %s", argv[i], strerror(errno));
			status = CLI_ERROR;
			break;
		}
		if (import_stream(&im, is_stdin ? "<stdin>" : argv[i], f) < 0)
			status = CLI_ERROR;
		if (!is_stdin)
			fclose(f);
	}
	show_progress(&im, true);

	/* Seal and close: what was appended is durable and sealed, whatever
	 * happened above. */
	rc = ledger_seal(im.l, &sealed);
	if (rc == 0)
		rc = ledger_close(im.l);
	else
		ledger_close(im.l);
	if (rc < 0) {
		cli_error("cannot make the ledger durable: %s", strerror(-rc));
		status = CLI_ERROR;
	}
	if (im.fatal) {
		cli_error("ledger append failed: %s", strerror(-im.fatal));
		status = CLI_ERROR;
	}
	norm_ctx_free(im.norm);
	corr_free(im.corr);
	vbuf_release(&im.canon);
	if (status == CLI_OK && im.skipped)
		status = CLI_FAIL;

	if (im.json) {
		json_t *j = json_pack("{s:I, s:I, s:I, s:I, s:I, s:s, s:b, s:o}", "imported",
				      (json_int_t)im.imported, "skipped", (json_int_t)im.skipped,
				      "first_seq", (json_int_t)im.first_seq, "last_seq",
				      (json_int_t)im.last_seq, "sealed_seq", (json_int_t)sealed,
				      "ledger", dir, "stopped", im.stop && im.strict, "bad_lines",
				      im.bad);

		json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
		json_decref(j);
	} else if (!im.quiet) {
		printf("Imported %" PRIu64 " event%s into %s", im.imported,
		       im.imported == 1 ? "" : "s", dir);
		if (im.imported)
			printf(" (seq %" PRIu64 "..%" PRIu64 ")", im.first_seq, im.last_seq);
		printf("; %" PRIu64 " bad line%s %s", im.skipped, im.skipped == 1 ? "" : "s",
		       im.strict && im.skipped ? "(stopped)" : "skipped");
		if (sealed)
			printf("; sealed through seq %" PRIu64, sealed);
		printf("\n");
	}
	return status;
}
