/*
 * cmd_import.c - `vigil import`: appends JSON lines to the ledger without a
 * daemon (recorded sessions, demos, tests).  A line is either an agent hook
 * payload (one hook's stdin, as in a recorded hook log), which goes through
 * the same normalizer as live events, or an already normalized event
 * ("schema": "vigil.event.v1", e.g. from an export), which is kept as it is.
 * Each event is stored as canonical JSON (compact, keys sorted) so its hash
 * does not depend on how the input was formatted.
 */
#include "options.h"
#include "pipeline.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <unistd.h>

#define IMPORT_DEFAULT_MAX_LINE (1024u * 1024)
#define IMPORT_MAX_FILES 4096
#define IMPORT_MAX_REPORTED 100 /* bad lines listed in --json output */

struct import_opts {
	const char *agent;
	bool raw, strict;
	uint64_t max_string, max_line, segment;
	const char *sign, *mac; /* key specs as given */
};

#define IO struct import_opts
static const struct cli_option import_options[] = {
	CLI_OPT_AGENT(IO, agent,
		      "agent that produced the hook log: claude-code (default),\n"
		      "codex, gemini, cursor, copilot, other"),
	CLI_FLAG("raw", 0, IO, raw, "store every line as it is, without normalizing"),
	CLI_SIZE("max-string", IO, max_string, 16, LEDGER_MAX_PAYLOAD, "between 16 and 16M",
		 "SIZE", "truncate longer payload strings (default 2000 bytes)"),
	CLI_FLAG("strict", 0, IO, strict, "stop at the first bad line"),
	CLI_SIZE("max-line", IO, max_line, 1, LEDGER_MAX_PAYLOAD, "between 1 and 16M", "SIZE",
		 "longest accepted line (default 1M, at most 16M)"),
	CLI_STRING("signing-key", 0, IO, sign, "SPEC",
		   "signing key (default $VIGIL_SIGNING_KEY, else\n"
		   "STATE/keys/signing.key)"),
	CLI_STRING("mac-key", 0, IO, mac, "SPEC",
		   "MAC key (default $VIGIL_MAC_KEY, else STATE/keys/mac.key)\n"
		   "SPEC is file:PATH, PATH, env:NAME or cmd:COMMAND"),
	CLI_SIZE("segment-size", IO, segment, 4096, UINT64_MAX, "of at least 4K", "SIZE",
		 "start a new segment past this size (default 64M)"),
	CLI_OPT_QUIET,
	CLI_OPT_JSON("print the summary as JSON"),
	CLI_OPT_STATE_DIR,
	CLI_END,
};
#undef IO

static const struct cli_cmd import_cmd = {
	.name = "import",
	.usage = "usage: vigil import [OPTIONS] FILE... | -\n"
		 "\n"
		 "Appends JSON lines to the ledger in STATE/ledger without a daemon, then seals\n"
		 "it with a signed checkpoint.  Each line is one agent hook payload (a hook's\n"
		 "stdin, as in a recorded hook log): it goes through the same normalizer as live\n"
		 "events (event type, project scope, secret redaction, truncation).  Lines that\n"
		 "already are vigil events (\"schema\": \"vigil.event.v1\") are kept as they are;\n"
		 "those without an \"id\" get a UUIDv7.  Empty lines are ignored.  Bad lines are\n"
		 "reported as FILE:LINE and skipped; with --strict the import stops at the first\n"
		 "one (everything before it stays in the ledger, sealed and durable).  The daemon\n"
		 "must not be running on the same state directory (it holds the ledger).\n",
	.options = import_options,
	.footer = "Exit status: 0 all lines imported; 1 bad lines were skipped (or --strict\n"
		  "stopped); 2 usage error; 3 the ledger or keys could not be used.\n",
	.max_args = -1,
};

struct import {
	struct cli *c;
	struct ledger *l;
	struct norm_ctx *norm; /* NULL with --raw */
	struct pair *corr;     /* pairs Pre/Post and links subagents, as the daemon does */
	struct vbuf canon;     /* the record being written, reused line to line */
	const char *agent;
	bool strict, quiet, json, stop;
	size_t max_line;
	uint64_t imported, skipped, first_seq, last_seq;
	json_t *bad; /* the first IMPORT_MAX_REPORTED bad lines, for --json */
	uint64_t progress_at;
	int fatal;	  /* a ledger error: stop everything */
	const char *file; /* the input being read, for messages */
	char dir[4200];	  /* the ledger directory */
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
	const char *schema = json_string_value(json_object_get(ev, EVF_SCHEMA));

	return schema && !strcmp(schema, EV_SCHEMA_V1);
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
		pair_apply(im->corr, ev, vg_now_ns());
	}
	id = json_object_get(ev, EVF_ID);
	if (id && !json_is_string(id)) {
		bad_line(im, file, lineno, "\"id\" must be a string");
		goto out;
	}
	if (!id) {
		char uuid[37];

		if (base_uuid7(uuid) < 0 ||
		    json_object_set_new(ev, EVF_ID, json_string(uuid)) < 0) {
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

/* Every input must be readable before anything is appended. */
static int check_inputs(int argc, char **argv)
{
	if (argc < 1)
		return cli_usage_error("import", "give one or more files, or - for standard input");
	if (argc > IMPORT_MAX_FILES)
		return cli_usage_error("import", "at most %d files at once", IMPORT_MAX_FILES);
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "-") && access(argv[i], R_OK) < 0) {
			cli_error("cannot read '%s': %s", argv[i], strerror(errno));
			return CLI_ERROR;
		}
	}
	return 0;
}

/* The normalizer and the correlator (not with --raw). */
static int setup_normalizer(struct import *im, const struct import_opts *o)
{
	struct norm_options no = { .max_string = (size_t)o->max_string, .max_input = im->max_line };
	int rc;

	if (o->raw)
		return 0;
	rc = norm_ctx_new(&no, &im->norm);
	if (rc == 0)
		rc = pair_new(NULL, &im->corr);
	if (rc < 0) {
		cli_error("cannot set up the normalizer: %s", strerror(-rc));
		return CLI_ERROR;
	}
	return 0;
}

/* Opens the ledger of the state directory with its keys; 0 or CLI_ERROR. */
static int open_ledger(struct import *im, const struct import_opts *o)
{
	struct ledger_options lo = { .dir = im->dir, .segment_bytes = o->segment };
	struct ledger_open_info info;
	char sbuf[4300], mbuf[4300], err[1024];
	int rc, sdefault;

	sdefault = vg_key_spec(o->sign, VG_SIGNING_KEY_ENV, im->c->state_dir,
			       LEDGER_SIGNING_KEY_FILE, sbuf, sizeof(sbuf));
	rc = vg_key_spec(o->mac, VG_MAC_KEY_ENV, im->c->state_dir, LEDGER_MAC_KEY_FILE, mbuf,
			 sizeof(mbuf));
	if (sdefault < 0 || rc < 0) {
		cli_error("state directory path too long");
		return CLI_ERROR;
	}
	lo.signing_key = sbuf;
	lo.mac_key = mbuf;
	if (sdefault == 1 && access(sbuf + 5, F_OK) < 0) {
		cli_error("no signing key at '%s'; run 'vigil keys init' first", sbuf + 5);
		return CLI_ERROR;
	}
	/* A writer: the state directory must be the user's alone (statedir.c). */
	if (vg_state_dir_check(im->c->state_dir, err, sizeof(err)) < 0) {
		cli_error("refusing the state directory: %s", err);
		return CLI_ERROR;
	}
	rc = ledger_open(&lo, &im->l, &info, err, sizeof(err));
	if (rc < 0) {
		cli_error("%s", err);
		return CLI_ERROR;
	}
	if (info.recovered && !im->quiet)
		fprintf(stderr,
			"vigil import: recovered the ledger after a crash: cut %" PRIu64
			" bytes (%" PRIu64 " partial records) from segment %" PRIu64 "\n",
			info.dropped_bytes, info.dropped_frames, info.recovered_segment);
	return 0;
}

/* Reads every input in turn; CLI_OK, or CLI_ERROR when one could not be read. */
static int import_files(struct import *im, int argc, char **argv)
{
	int status = CLI_OK;

	for (int i = 0; i < argc && !im->stop && !im->fatal; i++) {
		bool is_stdin = !strcmp(argv[i], "-");
		FILE *f = is_stdin ? stdin : fopen(argv[i], "re");

		if (!f) {
			cli_error("cannot open '%s': %s", argv[i], strerror(errno));
			status = CLI_ERROR;
			break;
		}
		if (import_stream(im, is_stdin ? "<stdin>" : argv[i], f) < 0)
			status = CLI_ERROR;
		if (!is_stdin)
			fclose(f);
	}
	show_progress(im, true);
	return status;
}

/* Seals and closes: what was appended is durable and sealed, whatever
 * happened before.  CLI_OK or CLI_ERROR. */
static int seal_and_close(struct import *im, uint64_t *sealed)
{
	int rc = ledger_seal(im->l, sealed);

	if (rc == 0)
		rc = ledger_close(im->l);
	else
		ledger_close(im->l);
	im->l = NULL;
	if (rc < 0) {
		cli_error("cannot make the ledger durable: %s", strerror(-rc));
		return CLI_ERROR;
	}
	return CLI_OK;
}

static void report(const struct import *im, uint64_t sealed)
{
	if (im->json) {
		json_t *j = json_pack("{s:I, s:I, s:I, s:I, s:I, s:s, s:b, s:O}", "imported",
				      (json_int_t)im->imported, "skipped", (json_int_t)im->skipped,
				      "first_seq", (json_int_t)im->first_seq, "last_seq",
				      (json_int_t)im->last_seq, "sealed_seq", (json_int_t)sealed,
				      "ledger", im->dir, "stopped", im->stop && im->strict,
				      "bad_lines", im->bad);

		json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
		json_decref(j);
	} else if (!im->quiet) {
		printf("Imported %" PRIu64 " event%s into %s", im->imported,
		       im->imported == 1 ? "" : "s", im->dir);
		if (im->imported)
			printf(" (seq %" PRIu64 "..%" PRIu64 ")", im->first_seq, im->last_seq);
		printf("; %" PRIu64 " bad line%s %s", im->skipped, im->skipped == 1 ? "" : "s",
		       im->strict && im->skipped ? "(stopped)" : "skipped");
		if (sealed)
			printf("; sealed through seq %" PRIu64, sealed);
		printf("\n");
	}
}

int cmd_import(struct cli *c, int argc, char **argv)
{
	struct import_opts o = { .agent = BASE_AGENT_DEFAULT, .max_line = IMPORT_DEFAULT_MAX_LINE };
	struct import im = { .c = c };
	uint64_t sealed = 0;
	int rc, status;

	if ((rc = cli_parse(c, &import_cmd, &o, &argc, &argv)) != CLI_CONTINUE)
		return rc;
	if ((rc = check_inputs(argc, argv)) != 0)
		return rc;
	if (cli_state(c) < 0)
		return CLI_ERROR;
	im.agent = o.agent;
	im.strict = o.strict;
	im.quiet = c->quiet;
	im.json = c->json;
	im.max_line = (size_t)o.max_line;
	if (cli_state_path(c, im.dir, sizeof(im.dir), "ledger") < 0) {
		cli_error("state directory path too long");
		return CLI_ERROR;
	}
	status = setup_normalizer(&im, &o);
	if (status == 0)
		status = open_ledger(&im, &o);
	if (status)
		goto out;
	if (im.json)
		im.bad = json_array();
	vbuf_init(&im.canon, LEDGER_MAX_PAYLOAD);
	status = import_files(&im, argc, argv);
	if (seal_and_close(&im, &sealed) != CLI_OK)
		status = CLI_ERROR;
	if (im.fatal) {
		cli_error("ledger append failed: %s", strerror(-im.fatal));
		status = CLI_ERROR;
	}
	if (status == CLI_OK && im.skipped)
		status = CLI_FAIL;
	report(&im, sealed);
out:
	norm_ctx_free(im.norm);
	pair_free(im.corr);
	vbuf_release(&im.canon);
	json_decref(im.bad);
	return status;
}
