/*
 * cmd_verify.c - `vigil verify` and `vigil checkpoint`: the auditor's side.
 * Both read the ledger directory directly and need no daemon.
 */
#include "options.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <unistd.h>

#define VERIFY_MAX_TRUSTED 64

/* --trusted-checkpoint FILE, repeatable. */
struct trusted_list {
	const char *files[VERIFY_MAX_TRUSTED];
	size_t n;
};

struct verify_opts {
	const char *ledger, *pub, *mac;
	struct trusted_list trusted;
	bool require_sealed;
	uint64_t max_gap_s;
};

static int opt_trusted(const struct cli_optarg *p, const char *arg)
{
	struct trusted_list *t = p->value;

	if (t->n == VERIFY_MAX_TRUSTED)
		return cli_usage_error(p->cmd, "at most %d trusted checkpoints",
				       VERIFY_MAX_TRUSTED);
	t->files[t->n++] = arg;
	return 0;
}

#define VO struct verify_opts
static const struct cli_option verify_options[] = {
	CLI_STRING("ledger", 0, VO, ledger, "DIR", "ledger directory (default STATE/ledger)"),
	CLI_STRING("public-key", 0, VO, pub, "FILE", "public key (default STATE/keys/signing.pub)"),
	CLI_STRING("mac-key", 0, VO, mac, "SPEC",
		   "MAC verification key from 'vigil keys init'\n"
		   "(file:PATH, PATH, env:NAME or cmd:COMMAND)"),
	CLI_CALLBACK("trusted-checkpoint", 0, VO, trusted, CLI_ARG_REQUIRED, opt_trusted, "FILE",
		     "a checkpoint kept elsewhere (repeatable)"),
	CLI_FLAG("require-sealed", 0, VO, require_sealed,
		 "an unsealed tail makes the result INCOMPLETE"),
	CLI_DURATION("max-gap", VO, max_gap_s, 1, UINT64_MAX, "", "DURATION",
		     "report checkpoints further apart than this"),
	CLI_OPT_JSON("machine-readable result"),
	CLI_OPT_QUIET_HELP("print only the result line"),
	CLI_OPT_STATE_DIR,
	CLI_END,
};
#undef VO

static const struct cli_cmd verify_cmd = {
	.name = "verify",
	.usage = "usage: vigil verify [OPTIONS]\n"
		 "\n"
		 "Proves, offline and with no daemon, that no record of the ledger was changed,\n"
		 "removed, inserted, reordered or cut off since it was sealed, or shows exactly\n"
		 "where it was (segment, offset, seq, time).  Checks every CRC, every hash-chain\n"
		 "link, every checkpoint's Ed25519 signature, and with --mac-key every\n"
		 "checkpoint's forward-secure MAC under the key of its own epoch.\n"
		 "\n"
		 "Records after the last checkpoint are not sealed: someone with access to the\n"
		 "machine could cut them off without a trace.  Keep the output of\n"
		 "'vigil checkpoint' elsewhere and give it back with --trusted-checkpoint to\n"
		 "detect truncation or rewriting up to that point.\n",
	.options = verify_options,
	.footer = "Records a restarted writer found after the last checkpoint and did not write\n"
		  "(appended while no writer ran) are reported as UNVOUCHED; records it found\n"
		  "gone that it had made durable, as TRUNCATED.\n"
		  "\n"
		  "Exit status: 0 intact; 1 tampering found; 2 unsealed or incomplete (torn tail,\n"
		  "unvouched records, or an unsealed tail with --require-sealed); 3 could not\n"
		  "verify.\n",
	.max_args = 0,
};

struct checkpoint_opts {
	const char *ledger, *out, *out_dir;
};

#define CO struct checkpoint_opts
static const struct cli_option checkpoint_options[] = {
	CLI_STRING("ledger", 0, CO, ledger, "DIR", "ledger directory (default STATE/ledger)"),
	CLI_STRING("out", 0, CO, out, "FILE", "also write the note to FILE"),
	CLI_STRING("out-dir", 0, CO, out_dir, "DIR",
		   "also keep the note in DIR, one file per checkpoint\n"
		   "(vigil-checkpoint-TIME-SEQ.txt; kept, never replaced)"),
	CLI_OPT_JSON("print the checkpoint's fields as JSON"),
	CLI_OPT_STATE_DIR,
	CLI_END,
};
#undef CO

static const struct cli_cmd checkpoint_cmd = {
	.name = "checkpoint",
	.usage = "usage: vigil checkpoint [--ledger DIR] [--out FILE] [--out-dir DIR] [--json]\n"
		 "\n"
		 "Prints the newest signed checkpoint of the ledger: a signed note naming the\n"
		 "log, the number of records it covers and the hash of the last one.  Keep it\n"
		 "somewhere the machine's users cannot change (another host, a ticket, a\n"
		 "printout) and give it to 'vigil verify --trusted-checkpoint FILE' later.\n",
	.options = checkpoint_options,
	.footer = "--out-dir keeps every checkpoint it is given (the daily vigil-verify.timer runs\n"
		  "it): a file already there with the same note is left alone, one with another\n"
		  "note is never replaced (exit 1: two different checkpoints with the same time\n"
		  "and seq mean the ledger was rewritten).\n"
		  "\n"
		  "Exit status: 0 printed (and kept); 1 no checkpoint yet, or --out-dir holds\n"
		  "another note under the same name; 2 usage error; 3 could not read or write.\n",
	.max_args = 0,
};

static const char *verdict_name(enum ledger_verdict v)
{
	switch (v) {
	case LEDGER_OK:
		return "OK";
	case LEDGER_TAMPERED:
		return "TAMPERED";
	case LEDGER_INCOMPLETE:
		return "INCOMPLETE";
	default:
		return "ERROR";
	}
}

static void fmt_time(uint64_t ns, char *out, size_t cap)
{
	if (!ns)
		snprintf(out, cap, "-");
	else
		vg_format_time(ns, out, cap);
}

static json_t *jtime(uint64_t ns)
{
	char t[40];

	if (!ns)
		return json_null();
	vg_format_time(ns, t, sizeof(t));
	return json_string(t);
}

static void print_json_result(const struct ledger_verify_result *r, const char *dir,
			      const struct ledger_pubkey *pub)
{
	json_t *j = json_object(), *fs = json_array();
	char id[33] = "";

	if (r->have_log_id)
		base_hex_encode(r->log_id, LEDGER_LOG_ID_LEN, id);
	json_object_set_new(j, "result", json_string(verdict_name(r->verdict)));
	json_object_set_new(j, "exit_code", json_integer(r->verdict));
	json_object_set_new(j, "ledger", json_string(dir));
	if (r->verdict == LEDGER_ERROR && r->error[0])
		json_object_set_new(j, "error", json_string(r->error));
	json_object_set_new(j, "log_id", r->have_log_id ? json_string(id) : json_null());
	json_object_set_new(j, "public_key", pub ? json_string(pub->fingerprint) : json_null());
	json_object_set_new(j, "segments", json_integer((json_int_t)r->segments));
	json_object_set_new(j, "records", json_integer((json_int_t)r->records));
	json_object_set_new(j, "bytes", json_integer((json_int_t)r->bytes));
	json_object_set_new(j, "first_seq", json_integer((json_int_t)r->first_seq));
	json_object_set_new(j, "last_seq", json_integer((json_int_t)r->last_seq));
	json_object_set_new(j, "first_time", jtime(r->first_time_ns));
	json_object_set_new(j, "last_time", jtime(r->last_time_ns));
	json_object_set_new(j, "validated",
			    json_pack("{s:I, s:I, s:o}", "from_seq", (json_int_t)r->first_seq,
				      "to_seq", (json_int_t)r->valid_to_seq, "to_time",
				      jtime(r->valid_to_time_ns)));
	json_object_set_new(j, "sealed",
			    json_pack("{s:I, s:o}", "to_seq", (json_int_t)r->sealed_to_seq,
				      "to_time", jtime(r->sealed_to_time_ns)));
	json_object_set_new(j, "unsealed",
			    json_pack("{s:I, s:o, s:o}", "records", (json_int_t)r->unsealed,
				      "first_time", jtime(r->unsealed_first_ns), "last_time",
				      jtime(r->unsealed_last_ns)));
	json_object_set_new(j, "checkpoints",
			    json_pack("{s:I, s:I, s:b, s:I, s:I, s:I}", "total",
				      (json_int_t)r->seals, "signature_ok",
				      (json_int_t)r->seals_signed_ok, "mac_checked", r->mac_checked,
				      "mac_ok", (json_int_t)r->seals_mac_ok, "first_epoch",
				      (json_int_t)r->first_epoch, "last_epoch",
				      (json_int_t)r->last_epoch));
	json_object_set_new(j, "trusted_checkpoints_matched", json_integer((json_int_t)r->ntrusted_ok));
	json_object_set_new(j, "recoveries", json_integer((json_int_t)r->recoveries));
	json_object_set_new(j, "unvouched",
			    json_pack("{s:I, s:I}", "records", (json_int_t)r->unvouched, "ranges",
				      (json_int_t)r->unvouched_ranges));
	json_object_set_new(j, "max_checkpoint_gap_s", json_integer((json_int_t)r->max_seal_gap_s));
	for (size_t i = 0; i < r->nfindings; i++) {
		const struct ledger_finding *f = &r->findings[i];

		json_array_append_new(
			fs, json_pack("{s:s, s:b, s:I, s:I, s:I, s:o, s:s}", "kind",
				      ledger_finding_name(f->kind), "tampering",
				      ledger_finding_is_tamper(f->kind), "segment",
				      (json_int_t)f->segment, "offset", (json_int_t)f->offset, "seq",
				      (json_int_t)f->seq, "time", jtime(f->time_ns), "detail",
				      f->detail));
	}
	json_object_set_new(j, "findings", fs);
	json_object_set_new(j, "findings_not_shown", json_integer((json_int_t)r->findings_dropped));
	json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', stdout);
	json_decref(j);
}

static void print_text_result(struct cli *c, const struct ledger_verify_result *r,
			      const char *dir, const struct ledger_pubkey *pub, size_t ntrusted,
			      bool mac_given, bool quiet)
{
	char a[40], b[40], id[33] = "";
	const char *col = r->verdict == LEDGER_OK	  ? CLI_GREEN
			  : r->verdict == LEDGER_INCOMPLETE ? CLI_YELLOW
							    : CLI_RED;

	if (r->have_log_id)
		base_hex_encode(r->log_id, LEDGER_LOG_ID_LEN, id);
	if (!quiet && r->verdict != LEDGER_ERROR) {
		printf("Ledger       %s\n", dir);
		printf("Log id       %s\n", r->have_log_id ? id : "-");
		printf("Segments     %" PRIu64 " (%" PRIu64 "..%" PRIu64 "), %" PRIu64
		       " records, %" PRIu64 " bytes\n",
		       r->segments, r->first_segment, r->last_segment, r->records, r->bytes);
		fmt_time(r->first_time_ns, a, sizeof(a));
		fmt_time(r->last_time_ns, b, sizeof(b));
		printf("Time         %s .. %s\n", a, b);
		printf("Signatures   %" PRIu64 "/%" PRIu64 " checkpoints signed by %s\n",
		       r->seals_signed_ok, r->seals, pub->fingerprint);
		if (r->mac_checked || (mac_given && r->seals))
			printf("MAC          %" PRIu64 "/%" PRIu64 " checkpoints valid, epochs %" PRIu64
			       "..%" PRIu64 "\n",
			       r->seals_mac_ok, r->seals, r->first_epoch, r->last_epoch);
		else if (mac_given)
			printf("MAC          no checkpoint to check\n");
		else
			printf("MAC          not checked (give --mac-key with the verification key "
			       "from 'vigil keys init')\n");
		if (ntrusted)
			printf("Trusted      %zu/%zu trusted checkpoints match\n", r->ntrusted_ok,
			       ntrusted);
		if (r->recoveries)
			printf("Recoveries   %" PRIu64 " crash recover%s recorded by the writer\n",
			       r->recoveries, r->recoveries == 1 ? "y" : "ies");
	}
	for (size_t i = 0; i < r->nfindings; i++) {
		const struct ledger_finding *f = &r->findings[i];
		bool t = ledger_finding_is_tamper(f->kind);

		fmt_time(f->time_ns, a, sizeof(a));
		printf("%s%s%s %-22s segment %" PRIu64 " offset %" PRIu64 " seq %" PRIu64
		       " time %s: %s\n",
		       cli_c(c, t ? CLI_RED : CLI_YELLOW), t ? "FAIL" : "WARN", cli_c(c, CLI_RESET),
		       ledger_finding_name(f->kind), f->segment, f->offset, f->seq, a, f->detail);
	}
	if (r->findings_dropped)
		printf("... and %zu more findings not shown\n", r->findings_dropped);
	if (!quiet && r->verdict != LEDGER_ERROR) {
		fmt_time(r->valid_to_time_ns, b, sizeof(b));
		if (r->valid_to_seq)
			printf("Validated    seq %" PRIu64 "..%" PRIu64 " (up to %s)\n", r->first_seq,
			       r->valid_to_seq, b);
		else
			printf("Validated    nothing\n");
		fmt_time(r->sealed_to_time_ns, b, sizeof(b));
		if (r->sealed_to_seq)
			printf("Sealed       through seq %" PRIu64 " (%s)\n", r->sealed_to_seq, b);
		else
			printf("Sealed       no valid checkpoint\n");
		if (r->unvouched_ranges)
			printf("%sUnvouched    %" PRIu64 " record%s in %" PRIu64 " range%s found after a "
			       "checkpoint by a later writer that did not write them (see UNVOUCHED)%s\n",
			       cli_c(c, CLI_YELLOW), r->unvouched, r->unvouched == 1 ? "" : "s",
			       r->unvouched_ranges, r->unvouched_ranges == 1 ? "" : "s",
			       cli_c(c, CLI_RESET));
		if (r->unsealed) {
			fmt_time(r->unsealed_first_ns, a, sizeof(a));
			fmt_time(r->unsealed_last_ns, b, sizeof(b));
			printf("%sUnsealed     %" PRIu64 " record%s after the last checkpoint (%s .. %s)%s\n",
			       cli_c(c, CLI_YELLOW), r->unsealed, r->unsealed == 1 ? "" : "s", a, b,
			       cli_c(c, CLI_RESET));
		}
	}
	if (r->verdict == LEDGER_ERROR)
		printf("Result       %sERROR%s: %s\n", cli_c(c, CLI_RED), cli_c(c, CLI_RESET),
		       r->error);
	else
		printf("Result       %s%s%s (%zu finding%s)\n", cli_c(c, col),
		       verdict_name(r->verdict), cli_c(c, CLI_RESET),
		       r->nfindings + r->findings_dropped,
		       r->nfindings + r->findings_dropped == 1 ? "" : "s");
}

static void verify_progress(void *arg, uint64_t done, uint64_t total)
{
	(void)arg;
	fprintf(stderr, "\rverifying: segment %" PRIu64 "/%" PRIu64 "%s", done, total,
		done == total ? "\r\033[K" : "");
}

/* What verify holds while it runs: where the ledger and keys are, the keys,
 * and the trusted checkpoints read. */
struct verify_run {
	const char *ledger_dir, *pub_path;
	char dbuf[4200], pbuf[4200];
	struct ledger_pubkey pub;
	struct ledger_mackey mac;
	bool have_mac;
	char *trusted[VERIFY_MAX_TRUSTED];
};

/* The ledger directory and the public key: as given, else in STATE. */
static int verify_paths(struct cli *c, const struct verify_opts *o, struct verify_run *v)
{
	v->ledger_dir = o->ledger;
	v->pub_path = o->pub;
	if ((!o->ledger || !o->pub) && cli_state(c) < 0)
		return CLI_ERROR;
	if (!o->ledger) {
		if (cli_state_path(c, v->dbuf, sizeof(v->dbuf), "ledger") < 0)
			return CLI_ERROR;
		v->ledger_dir = v->dbuf;
	}
	if (!o->pub) {
		if (cli_state_path(c, v->pbuf, sizeof(v->pbuf), "keys/" LEDGER_PUBLIC_KEY_FILE) < 0)
			return CLI_ERROR;
		v->pub_path = v->pbuf;
	}
	return 0;
}

static int verify_keys(const struct verify_opts *o, struct verify_run *v)
{
	char err[512];

	if (ledger_pubkey_load(v->pub_path, &v->pub, err, sizeof(err)) < 0) {
		cli_error("%s%s", err, access(v->pub_path, F_OK) ? "; give --public-key FILE" : "");
		return CLI_ERROR;
	}
	if (o->mac) {
		if (ledger_mackey_load(o->mac, &v->mac, err, sizeof(err)) < 0) {
			cli_error("%s", err);
			return CLI_ERROR;
		}
		v->have_mac = true;
	}
	return 0;
}

static int read_trusted(const struct verify_opts *o, struct verify_run *v)
{
	for (size_t i = 0; i < o->trusted.n; i++) {
		const char *f = o->trusted.files[i];
		size_t len;
		int rc = vg_read_file(f, LEDGER_CHECKPOINT_MAX, &v->trusted[i], &len);

		if (rc < 0) {
			cli_error("cannot read trusted checkpoint '%s': %s", f,
				  rc == -EFBIG ? "too large to be a checkpoint" : strerror(-rc));
			return CLI_ERROR;
		}
	}
	return 0;
}

/* Verifies and prints the result; the verdict is the exit status. */
static int run_verify(struct cli *c, const struct verify_opts *o, struct verify_run *v)
{
	struct ledger_verify_options vo = {
		.dir = v->ledger_dir,
		.pub = &v->pub,
		.mac = v->have_mac ? &v->mac : NULL,
		.trusted = (const char *const *)v->trusted,
		.ntrusted = o->trusted.n,
		.require_sealed = o->require_sealed,
		.max_gap_s = o->max_gap_s,
	};
	struct ledger_verify_result res = { 0 };
	int status;

	if (c->progress && !c->json && !c->quiet)
		vo.progress = verify_progress;
	ledger_verify(&vo, &res);
	if (c->json)
		print_json_result(&res, v->ledger_dir, &v->pub);
	else
		print_text_result(c, &res, v->ledger_dir, &v->pub, o->trusted.n, v->have_mac,
				  c->quiet);
	status = (int)res.verdict;
	ledger_verify_result_release(&res);
	return status;
}

int cmd_verify(struct cli *c, int argc, char **argv)
{
	struct verify_opts o = { 0 };
	struct verify_run v = { 0 };
	int rc = cli_parse(c, &verify_cmd, &o, &argc, &argv);

	if (rc != CLI_CONTINUE) /* usage errors exit 3: 2 means "incomplete" here */
		return rc == CLI_USAGE ? CLI_ERROR : rc;
	rc = verify_paths(c, &o, &v);
	if (rc == 0)
		rc = verify_keys(&o, &v);
	if (rc == 0)
		rc = read_trusted(&o, &v);
	if (rc == 0)
		rc = run_verify(c, &o, &v);
	for (size_t i = 0; i < o.trusted.n; i++)
		vg_free(v.trusted[i]);
	if (v.have_mac)
		ledger_mackey_wipe(&v.mac);
	return rc;
}

static void print_checkpoint_json(const struct ledger_checkpoint *cp,
				  const struct ledger_record *where, const char *note)
{
	char id[33], head[65];
	json_t *j;

	base_hex_encode(cp->log_id, LEDGER_LOG_ID_LEN, id);
	base_hex_encode(cp->head, LEDGER_HASH_LEN, head);
	j = json_pack("{s:s, s:I, s:s, s:o, s:I, s:I, s:I, s:I, s:s}", "log_id", id, "seq",
		      (json_int_t)cp->seq, "head_sha256", head, "time", jtime(cp->time_ns), "epoch",
		      (json_int_t)cp->epoch, "record_seq", (json_int_t)where->seq, "segment",
		      (json_int_t)where->segment, "offset", (json_int_t)where->offset, "note",
		      note);
	json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', stdout);
	json_decref(j);
}

/*
 * --out-dir: keeps the note as DIR/vigil-checkpoint-TIME-SEQ.txt (TIME in UTC,
 * so that names sort by time).  The same note already there is left alone;
 * another one under that name is never replaced (CLI_FAIL).  The exit status.
 */
static int keep_in_dir(const char *dir, const struct ledger_checkpoint *cp, const char *note,
		       size_t len)
{
	char t[40], stamp[24], path[4400], *old = NULL;
	size_t old_len = 0, k = 0;
	int rc;

	vg_format_time(cp->time_ns, t, sizeof(t));
	/* 2025-11-23T12:07:00.123Z -> 20251123T120700Z */
	for (const char *p = t; *p && *p != '.' && *p != 'Z' && k < sizeof(stamp) - 2; p++)
		if (*p != '-' && *p != ':')
			stamp[k++] = *p;
	stamp[k++] = 'Z';
	stamp[k] = '\0';
	if (vg_path(path, sizeof(path), "%s/vigil-checkpoint-%s-%" PRIu64 ".txt", dir, stamp,
		    cp->seq) < 0) {
		cli_error("--out-dir: path too long: '%s'", dir);
		return CLI_ERROR;
	}
	if ((rc = base_mkdir_p(dir, 0755, NULL)) < 0) {
		cli_error("cannot create '%s': %s", dir, strerror(-rc));
		return CLI_ERROR;
	}
	rc = vg_read_file(path, LEDGER_CHECKPOINT_MAX, &old, &old_len);
	if (rc == 0) {
		bool same = old_len == len && !memcmp(old, note, len);

		vg_free(old);
		if (same)
			return CLI_OK;
		cli_error("'%s' holds another checkpoint with the same time and seq; not "
			  "replaced (the ledger was rewritten since it was kept?)",
			  path);
		return CLI_FAIL;
	}
	if (rc != -ENOENT) {
		cli_error("cannot read '%s': %s", path, strerror(-rc));
		return CLI_ERROR;
	}
	if ((rc = vg_write_file_atomic(path, note, len, 0644)) < 0) {
		cli_error("cannot write '%s': %s", path, strerror(-rc));
		return CLI_ERROR;
	}
	return CLI_OK;
}

int cmd_checkpoint(struct cli *c, int argc, char **argv)
{
	struct checkpoint_opts o = { 0 };
	const char *ledger_dir;
	char dbuf[4200], err[512], note[LEDGER_CHECKPOINT_MAX];
	struct ledger_checkpoint cp;
	struct ledger_record where;
	int n, rc;

	rc = cli_parse(c, &checkpoint_cmd, &o, &argc, &argv);
	if (rc != CLI_CONTINUE)
		return rc;
	ledger_dir = o.ledger;
	if (!ledger_dir) {
		if (cli_state(c) < 0 || cli_state_path(c, dbuf, sizeof(dbuf), "ledger") < 0)
			return CLI_ERROR;
		ledger_dir = dbuf;
	}
	rc = ledger_latest_checkpoint(ledger_dir, &cp, &where, err, sizeof(err));
	if (rc < 0) {
		cli_error("%s", err);
		return rc == -ENOENT ? CLI_FAIL : CLI_ERROR;
	}
	n = ledger_checkpoint_format(&cp, note, sizeof(note));
	if (n < 0) {
		cli_error("cannot format the checkpoint");
		return CLI_ERROR;
	}
	if (o.out && (rc = vg_write_file_atomic(o.out, note, (size_t)n, 0644)) < 0) {
		cli_error("cannot write '%s': %s", o.out, strerror(-rc));
		return CLI_ERROR;
	}
	if (o.out_dir && (rc = keep_in_dir(o.out_dir, &cp, note, (size_t)n)) != CLI_OK)
		return rc;
	if (c->json)
		print_checkpoint_json(&cp, &where, note);
	else
		fwrite(note, 1, (size_t)n, stdout);
	return CLI_OK;
}
