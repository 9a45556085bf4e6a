/*
 * fuzz_checkpoint.c - fuzz target for the text parsers: checkpoint notes
 * (ledger_checkpoint_parse and its signature and MAC checks), key texts
 * (public and MAC keys), base64/hex decoding and the key-rotation payload.
 *
 * Oracles (abort on violation): a parsed note formats back to exactly the
 * input (one encoding per checkpoint) and parses again to the same fields;
 * a rejection always says why; signature and MAC checks return only their
 * documented codes; parsed keys and decoded base64/hex re-encode to the
 * same values.
 */
#include "ledger_int.h"
#include "recover.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_SIGNING "vigil-ed25519-secret-v1:" \
	"0a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20212223242526272829"
#define FUZZ_MAC "vigil-mac-v1:1700000000:900:0:" \
	"4142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f60"
/* One hash per epoch to check a MAC, by design: keep runs short. */
#define MAX_MAC_EPOCH 10000

static struct ledger_pubkey pub;
static struct ledger_mackey mac;
static bool ready;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct ledger_signer s;
	char err[256];

	(void)argc;
	(void)argv;
	if (ready)
		return 0;
	setenv("VIGIL_FUZZ_SIGNING", FUZZ_SIGNING, 1);
	if (ledger_signer_load("env:VIGIL_FUZZ_SIGNING", &s, err, sizeof(err)) < 0 ||
	    ledger_mackey_parse(FUZZ_MAC, strlen(FUZZ_MAC), &mac) < 0)
		abort();
	pub = s.pub;
	ledger_signer_release(&s);
	ready = true;
	return 0;
}

static void fuzz_note(const char *text, size_t len)
{
	struct ledger_checkpoint cp, again_cp;
	char again[LEDGER_CHECKPOINT_MAX], err[160];
	int n;

	if (ledger_checkpoint_parse(text, len, &cp, err, sizeof(err)) < 0) {
		if (!err[0])
			abort(); /* a rejection always says why */
		return;
	}
	n = ledger_checkpoint_format(&cp, again, sizeof(again));
	if (n != (int)len || memcmp(again, text, len) != 0)
		abort();
	if (ledger_checkpoint_parse(again, (size_t)n, &again_cp, err, sizeof(err)) < 0 ||
	    memcmp(&cp, &again_cp, sizeof(cp)) != 0)
		abort();
	{
		int rc = ledger_checkpoint_check_sig(&cp, &pub);

		if (rc != 0 && rc != -EKEYREJECTED && rc != -EBADMSG)
			abort();
	}
	if (cp.epoch <= MAX_MAC_EPOCH) {
		int rc = ledger_checkpoint_check_mac(&cp, &mac);

		if (rc != 0 && rc != -EBADMSG)
			abort();
	}
}

static void fuzz_keys(const char *text, size_t len)
{
	struct ledger_pubkey pk;
	struct ledger_mackey k, k2;
	char out[256];

	if (ledger_pubkey_parse(text, len, &pk) == 0) {
		uint8_t h[32];

		sha256_buf(pk.key, 32, h);
		if (memcmp(h, pk.key_id, 4) != 0 || strncmp(pk.fingerprint, "SHA256:", 7) != 0)
			abort();
	}
	if (ledger_mackey_parse(text, len, &k) == 0) {
		int n = ledger_mackey_format(&k, out, sizeof(out));

		if (n <= 0 || ledger_mackey_parse(out, (size_t)n, &k2) != 0 ||
		    k.start_s != k2.start_s || k.interval_s != k2.interval_s || k.epoch != k2.epoch ||
		    memcmp(k.key, k2.key, 32) != 0 || k.interval_s == 0)
			abort();
		(void)ledger_mackey_epoch_of(&k, UINT64_MAX);
	}
}

static void fuzz_codecs(const char *text, size_t len)
{
	uint8_t out[4096];
	char back[8192];
	int n = vg_base64_decode(text, len, out, sizeof(out));
	uint64_t e;

	if (n > 0) {
		vg_base64_encode(out, (size_t)n, back);
		if (strlen(back) != len || memcmp(back, text, len) != 0)
			abort();
	}
	if (len % 2 == 0 && len / 2 <= sizeof(out) && base_hex_decode(text, len, out, len / 2) == 0) {
		base_hex_encode(out, len / 2, back);
		for (size_t i = 0; i < len; i++)
			if (tolower((unsigned char)text[i]) != back[i])
				abort();
	}
	(void)rotation_payload_epoch((const uint8_t *)text, len, &e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text;

	if (!ready)
		LLVMFuzzerInitialize(NULL, NULL);
	if (size > 8192)
		return 0;
	/* An exact-size copy so reads past the end are caught. */
	text = malloc(size ? size : 1);
	if (!text)
		return 0;
	if (size)
		memcpy(text, data, size);
	fuzz_note(text, size);
	fuzz_keys(text, size);
	fuzz_codecs(text, size);
	free(text);
	return 0;
}
