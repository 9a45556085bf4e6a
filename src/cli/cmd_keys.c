/*
 * cmd_keys.c - `vigil keys init` and `vigil keys show`.
 */
#include "options.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

struct keys_opts {
	uint64_t epoch_s;
	bool force;
	const char *vko; /* --verify-key-out */
};

#define KO struct keys_opts
static const struct cli_option keys_options[] = {
	CLI_DURATION("epoch", KO, epoch_s, 1, UINT64_MAX, "", "DURATION",
		     "init: MAC key epoch length (default 15m; e.g. 900, 5m, 1h)"),
	CLI_FLAG("force", 0, KO, force, "init: replace existing keys"),
	CLI_STRING("verify-key-out", 0, KO, vko, "FILE",
		   "init: also write the verification key to FILE (0600)"),
	CLI_OPT_JSON("print the result as JSON"),
	CLI_OPT_STATE_DIR,
	CLI_END,
};
#undef KO

static const struct cli_cmd keys_cmd = {
	.name = "keys",
	.usage = "usage: vigil keys init [--epoch DURATION] [--force] [--verify-key-out FILE] [--json]\n"
		 "       vigil keys show [--json]\n"
		 "\n"
		 "init  Creates, in STATE/keys, the Ed25519 signing key (signing.key, 0600), its\n"
		 "      public key (signing.pub) and the forward-secure MAC key (mac.key, 0600),\n"
		 "      which evolves one way every epoch so that a later compromise cannot\n"
		 "      re-seal earlier records.  Prints the MAC VERIFICATION KEY once: store\n"
		 "      it off this machine and give it to 'vigil verify --mac-key'.\n"
		 "show  Shows the public key fingerprint, the key files and their modes, and the\n"
		 "      MAC key's epoch length and current epoch (never a secret).\n",
	.options = keys_options,
	.max_args = 0,
};

static void print_json(json_t *j)
{
	json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', stdout);
	json_decref(j);
}

int cli_keys_init(struct cli *c, uint64_t epoch_s, bool force, const char *vko)
{
	bool json = c->json;

	struct ledger_keys_created kc;
	char dir[4200], err[2048], vk[256];
	int rc, n;

	if (cli_state_path(c, dir, sizeof(dir), "keys") < 0) {
		cli_error("state directory path too long");
		return CLI_ERROR;
	}
	if (base_mkdir_p(c->state_dir, 0700, NULL) < 0) {
		cli_error("cannot create state directory '%s': %s", c->state_dir, strerror(errno));
		return CLI_ERROR;
	}
	/* Keys written where another user can rename keys/ are not secret. */
	if (vg_state_dir_check(c->state_dir, err, sizeof(err)) < 0) {
		cli_error("refusing the state directory: %s", err);
		return CLI_ERROR;
	}
	if (force) {
		/* New keys would leave the existing ledger verifiable by nobody. */
		char ledger[4200], seg[4300];

		if (cli_state_path(c, ledger, sizeof(ledger), "ledger") == 0 &&
		    vg_path(seg, sizeof(seg), "%s/0000000001.seg", ledger) == 0 &&
		    access(seg, F_OK) == 0) {
			cli_error("'%s' holds a ledger sealed with the current keys; move it aside "
				  "(keeping the current public key to verify it) before replacing "
				  "the keys",
				  ledger);
			return CLI_FAIL;
		}
	}
	rc = ledger_keys_create(dir, epoch_s, force, &kc, err, sizeof(err));
	if (rc < 0) {
		cli_error("%s", err);
		return rc == -EEXIST ? CLI_FAIL : CLI_ERROR;
	}
	n = ledger_mackey_format(&kc.verify_key, vk, sizeof(vk) - 1);
	ledger_mackey_wipe(&kc.verify_key);
	if (n < 0) {
		cli_error("cannot format the verification key");
		return CLI_ERROR;
	}
	if (vko) {
		vk[n] = '\n';
		rc = vg_write_file_atomic(vko, vk, (size_t)n + 1, 0600);
		vk[n] = 0;
		if (rc < 0) {
			cli_error("cannot write the verification key to '%s': %s", vko,
				  strerror(-rc));
			vg_wipe(vk, sizeof(vk));
			return CLI_ERROR;
		}
	}
	if (json) {
		json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:s?}",
				      "keys_dir", dir, "signing_key", kc.signing_path,
				      "public_key", kc.public_path, "mac_key", kc.mac_path,
				      "fingerprint", kc.pub.fingerprint, "epoch_seconds",
				      (json_int_t)epoch_s, "verify_key", vk, "verify_key_file", vko);
		print_json(j);
	} else {
		printf("Created keys in %s\n", dir);
		printf("  signing key   %s (secret, mode 0600)\n", kc.signing_path);
		printf("  public key    %s\n", kc.public_path);
		printf("  fingerprint   %s\n", kc.pub.fingerprint);
		printf("  MAC key       %s (secret, mode 0600; evolves every %" PRIu64 " s)\n",
		       kc.mac_path, epoch_s);
		printf("\n%sMAC verification key%s (shown once; store it OFF this machine and give it\n"
		       "to 'vigil verify --mac-key'; whoever holds it can check, and forge, seals):\n"
		       "  %s\n",
		       cli_c(c, CLI_BOLD), cli_c(c, CLI_RESET), vk);
		if (vko)
			printf("  (also written to %s)\n", vko);
	}
	vg_wipe(vk, sizeof(vk));
	return CLI_OK;
}

static int keys_show(struct cli *c, bool json)
{
	char sk[4200], pk[4200], mk[4200], err[512], mode[3][8] = { "-", "-", "-" };
	const char *paths[3] = { sk, pk, mk };
	bool exists[3];
	struct stat st[3];
	struct ledger_pubkey pub;
	struct ledger_mackey mac;
	bool have_pub, have_mac;
	int rc = CLI_OK;

	if (cli_state_path(c, sk, sizeof(sk), "keys/" LEDGER_SIGNING_KEY_FILE) < 0 ||
	    cli_state_path(c, pk, sizeof(pk), "keys/" LEDGER_PUBLIC_KEY_FILE) < 0 ||
	    cli_state_path(c, mk, sizeof(mk), "keys/" LEDGER_MAC_KEY_FILE) < 0) {
		cli_error("state directory path too long");
		return CLI_ERROR;
	}
	for (int i = 0; i < 3; i++) {
		exists[i] = stat(paths[i], &st[i]) == 0;
		if (!exists[i] && cli_denied(errno, "read", paths[i]))
			return CLI_ERROR;
		if (exists[i])
			snprintf(mode[i], sizeof(mode[i]), "%04o", (unsigned)(st[i].st_mode & 07777));
	}
	if (!exists[0] && !exists[1] && !exists[2]) {
		cli_error("no keys in '%s/keys'; run 'vigil keys init'", c->state_dir);
		return CLI_FAIL;
	}
	have_pub = ledger_pubkey_load(pk, &pub, err, sizeof(err)) == 0;
	have_mac = exists[2] && ledger_mackey_load(mk, &mac, err, sizeof(err)) == 0;
	if (json) {
		json_t *j = json_object(), *files = json_array();

		for (int i = 0; i < 3; i++)
			json_array_append_new(files, json_pack("{s:s, s:b, s:s}", "path", paths[i],
							       "exists", exists[i], "mode", mode[i]));
		json_object_set_new(j, "state_dir", json_string(c->state_dir));
		json_object_set_new(j, "fingerprint",
				    have_pub ? json_string(pub.fingerprint) : json_null());
		json_object_set_new(j, "files", files);
		if (have_mac) {
			json_object_set_new(j, "epoch_seconds", json_integer((json_int_t)mac.interval_s));
			json_object_set_new(j, "epoch_start", json_integer((json_int_t)mac.start_s));
			json_object_set_new(j, "key_epoch", json_integer((json_int_t)mac.epoch));
			json_object_set_new(j, "current_epoch",
					    json_integer((json_int_t)ledger_mackey_epoch_of(
						    &mac, vg_now_ns())));
		}
		print_json(j);
	} else {
		printf("Keys in %s/keys\n", c->state_dir);
		printf("  fingerprint   %s\n", have_pub ? pub.fingerprint : "(public key unreadable)");
		printf("  signing key   %s  %s\n", mode[0], sk);
		printf("  public key    %s  %s\n", mode[1], pk);
		printf("  MAC key       %s  %s\n", mode[2], mk);
		if (have_mac) {
			char start[40];

			vg_format_time(mac.start_s * 1000000000ull, start, sizeof(start));
			printf("  MAC epochs    %" PRIu64 " s each from %s; key file at epoch %" PRIu64
			       ", now epoch %" PRIu64 "\n",
			       mac.interval_s, start, mac.epoch,
			       ledger_mackey_epoch_of(&mac, vg_now_ns()));
		}
	}
	for (int i = 0; i < 3; i += 2) {
		if (exists[i] && (st[i].st_mode & 077)) {
			fprintf(stderr,
				"vigil: warning: %s is readable by group or others; run chmod 600\n",
				paths[i]);
			rc = CLI_FAIL;
		}
	}
	if (have_mac)
		ledger_mackey_wipe(&mac);
	return rc;
}

int cmd_keys(struct cli *c, int argc, char **argv)
{
	struct keys_opts o = { .epoch_s = LEDGER_DEFAULT_EPOCH_SECONDS };
	const char *sub;
	int rc;

	if (argc < 2 || argv[1][0] == '-') {
		if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
			cli_help(&keys_cmd, stdout);
			return CLI_OK;
		}
		return cli_usage_error("keys", "expected 'init' or 'show'");
	}
	sub = argv[1];
	argc--;
	argv++;
	if ((rc = cli_parse(c, &keys_cmd, &o, &argc, &argv)) != CLI_CONTINUE)
		return rc;
	if (cli_state(c) < 0)
		return CLI_ERROR;
	if (!strcmp(sub, "init"))
		return cli_keys_init(c, o.epoch_s, o.force, o.vko);
	if (!strcmp(sub, "show"))
		return keys_show(c, c->json);
	return cli_usage_error("keys", "unknown subcommand '%s'", sub);
}
