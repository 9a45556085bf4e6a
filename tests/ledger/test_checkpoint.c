/*
 * test_checkpoint.c - checkpoint notes and keys: parse(format(x)) round
 * trips; every single-byte mutation and every truncation of a valid note is
 * rejected by the parser or fails the signature check; key ids; the RFC 6962
 * leaf hash; MAC key evolution and its text form.
 */
#include "helpers.h"
#include "tap.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

static struct tledger T, U;
static struct ledger_signer signer;
static uint64_t rs = 0x5eed5eed12345678ull;

static void fill(void *p, size_t n)
{
	uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)trand(&rs);
}

static int make_note(uint64_t seq, uint64_t epoch, char *out, size_t cap,
		     struct ledger_checkpoint *cp)
{
	struct ledger_mackey k = T.verify_key;
	uint8_t log_id[16], head[32];

	fill(log_id, sizeof(log_id));
	fill(head, sizeof(head));
	ledger_mackey_evolve(&k, epoch);
	return checkpoint_make(&signer, &k, log_id, seq, head, 1700000000123456789ull + seq, out,
			       cap, cp);
}

static void test_round_trip(void)
{
	unsigned bad = 0;

	for (int i = 0; i < 200; i++) {
		struct ledger_checkpoint cp, back;
		char text[LEDGER_CHECKPOINT_MAX], again[LEDGER_CHECKPOINT_MAX], err[160];
		int n, m;

		/* Arbitrary field values, including the extremes (field by field:
		 * the struct has padding, which parse leaves zero). */
		memset(&cp, 0, sizeof(cp));
		fill(cp.log_id, sizeof(cp.log_id));
		fill(cp.head, sizeof(cp.head));
		fill(cp.mac, sizeof(cp.mac));
		fill(cp.key_id, sizeof(cp.key_id));
		fill(cp.sig, sizeof(cp.sig));
		fill(&cp.seq, sizeof(cp.seq));
		fill(&cp.time_ns, sizeof(cp.time_ns));
		fill(&cp.epoch, sizeof(cp.epoch));
		if (i == 0)
			cp.seq = cp.time_ns = cp.epoch = 0;
		if (i == 1)
			cp.seq = cp.time_ns = cp.epoch = UINT64_MAX;
		n = ledger_checkpoint_format(&cp, text, sizeof(text));
		if (n <= 0 || ledger_checkpoint_parse(text, (size_t)n, &back, err, sizeof(err)) < 0 ||
		    memcmp(&cp, &back, sizeof(cp)) != 0) {
			if (++bad <= 3)
				printf("# round trip %d failed: %s\n", i, err);
			continue;
		}
		m = ledger_checkpoint_format(&back, again, sizeof(again));
		if (m != n || memcmp(text, again, (size_t)n) != 0)
			bad++;
	}
	TAP_EQ_U64(bad, 0, "parse(format(x)) == x and format(parse(t)) == t for 200 checkpoints");
	{
		struct ledger_checkpoint cp = { 0 };
		char small[100];

		TAP_OK(ledger_checkpoint_format(&cp, small, sizeof(small)) == -ENOSPC,
		       "format into a short buffer -> -ENOSPC");
	}
}

static void test_mutations(void)
{
	struct ledger_checkpoint cp, got;
	char note[LEDGER_CHECKPOINT_MAX], m[LEDGER_CHECKPOINT_MAX + 2], err[160];
	int n = make_note(1234, 3, note, sizeof(note), &cp);
	uint64_t tried = 0, parsed = 0, accepted = 0, sig_line_parsed = 0;
	size_t sig_line;

	TAP_OK(n > 0, "a signed, MACed checkpoint (%d bytes)", n);
	if (n <= 0)
		return;
	TAP_OK(ledger_checkpoint_parse(note, (size_t)n, &got, err, sizeof(err)) == 0 &&
		       ledger_checkpoint_check_sig(&got, &T.pub) == 0 &&
		       ledger_checkpoint_check_mac(&got, &T.verify_key) == 0,
	       "it parses, its signature and MAC verify");
	sig_line = (size_t)(strstr(note, "\n\n") - note) + 2;

	for (int i = 0; i < n; i++) {
		for (int v = 0; v < 256; v++) {
			if ((uint8_t)note[i] == v)
				continue;
			memcpy(m, note, (size_t)n);
			m[i] = (char)v;
			tried++;
			if (ledger_checkpoint_parse(m, (size_t)n, &got, err, sizeof(err)) < 0)
				continue;
			parsed++;
			if ((size_t)i >= sig_line)
				sig_line_parsed++;
			if (ledger_checkpoint_check_sig(&got, &T.pub) == 0) {
				if (++accepted <= 3)
					printf("# mutation at %d to 0x%02x accepted\n", i, v);
			}
		}
	}
	printf("# %" PRIu64 " mutations, %" PRIu64 " parsed (%" PRIu64
	       " of them in the signature line)\n",
	       tried, parsed, sig_line_parsed);
	TAP_EQ_U64(tried, (uint64_t)n * 255, "every single-byte mutation tried");
	TAP_EQ_U64(accepted, 0, "none both parses and verifies");

	/* Truncations and extensions. */
	accepted = 0;
	for (int len = 0; len < n; len++)
		if (ledger_checkpoint_parse(note, (size_t)len, &got, err, sizeof(err)) == 0)
			accepted++;
	TAP_EQ_U64(accepted, 0, "every truncation (%d) rejected by parse", n);
	memcpy(m, note, (size_t)n);
	m[n] = '\n';
	TAP_OK(ledger_checkpoint_parse(m, (size_t)n + 1, &got, err, sizeof(err)) == -EINVAL,
	       "an extra newline is rejected (%s)", err);
	m[n] = 'x';
	TAP_OK(ledger_checkpoint_parse(m, (size_t)n + 1, &got, err, sizeof(err)) == -EINVAL,
	       "an extra byte is rejected");
	TAP_OK(ledger_checkpoint_parse(note, LEDGER_CHECKPOINT_MAX + 1, &got, err, sizeof(err)) ==
		       -EINVAL,
	       "a note over the maximum length is rejected (%s)", err);
	/* Non-canonical encodings of the same values: uppercase hex, a leading zero. */
	{
		char *p;

		memcpy(m, note, (size_t)n);
		m[n] = 0;
		p = strstr(m, "mac ") + 4;
		for (; *p != '\n'; p++)
			if (*p >= 'a' && *p <= 'f') {
				*p = (char)(*p - 'a' + 'A');
				break;
			}
		TAP_OK(ledger_checkpoint_parse(m, (size_t)n, &got, err, sizeof(err)) == -EINVAL,
		       "uppercase hex in the MAC is not canonical (%s)", err);
	}
	{
		char lead[LEDGER_CHECKPOINT_MAX + 2];
		const char *nl = strchr(note, '\n');
		size_t at = (size_t)(nl - note) + 1;

		memcpy(lead, note, at);
		lead[at] = '0';
		memcpy(lead + at + 1, note + at, (size_t)n - at);
		TAP_OK(ledger_checkpoint_parse(lead, (size_t)n + 1, &got, err, sizeof(err)) == -EINVAL,
		       "a leading zero in the seq is rejected (%s)", err);
	}
}

static void test_key_ids(void)
{
	struct ledger_checkpoint cp;
	char note[LEDGER_CHECKPOINT_MAX];

	make_note(7, 0, note, sizeof(note), &cp);
	TAP_OK(ledger_checkpoint_check_sig(&cp, &T.pub) == 0, "signature verifies with its key");
	TAP_OK(ledger_checkpoint_check_sig(&cp, &U.pub) == -EKEYREJECTED,
	       "another key (other key id) -> -EKEYREJECTED");
	memcpy(cp.key_id, U.pub.key_id, 4);
	TAP_OK(ledger_checkpoint_check_sig(&cp, &U.pub) == -EBADMSG,
	       "the other key's id forged into the note -> -EBADMSG");
	memcpy(cp.key_id, T.pub.key_id, 4);
	cp.sig[10] ^= 1;
	TAP_OK(ledger_checkpoint_check_sig(&cp, &T.pub) == -EBADMSG, "a changed signature -> -EBADMSG");
	cp.sig[10] ^= 1;
	cp.seq++;
	TAP_OK(ledger_checkpoint_check_sig(&cp, &T.pub) == -EBADMSG, "a changed seq -> -EBADMSG");
	{
		uint8_t h[32];

		sha256_buf(T.pub.key, 32, h);
		TAP_OK(memcmp(h, T.pub.key_id, 4) == 0, "key id = first 4 bytes of SHA-256(key)");
	}
}

static void test_mac_checks(void)
{
	struct ledger_checkpoint cp;
	char note[LEDGER_CHECKPOINT_MAX];
	struct ledger_mackey later = T.verify_key, other = U.verify_key;

	make_note(9, 5, note, sizeof(note), &cp);
	TAP_OK(ledger_checkpoint_check_mac(&cp, &T.verify_key) == 0,
	       "MAC of epoch 5 verifies with the epoch-0 key");
	ledger_mackey_evolve(&later, 5);
	TAP_OK(ledger_checkpoint_check_mac(&cp, &later) == 0, "and with the epoch-5 key");
	ledger_mackey_evolve(&later, 6);
	TAP_OK(ledger_checkpoint_check_mac(&cp, &later) == -ERANGE,
	       "a later key cannot check an earlier epoch -> -ERANGE");
	TAP_OK(ledger_checkpoint_check_mac(&cp, &other) == -EBADMSG, "another MAC key -> -EBADMSG");
	cp.epoch = 4;
	TAP_OK(ledger_checkpoint_check_mac(&cp, &T.verify_key) == -EBADMSG,
	       "the epoch number changed -> -EBADMSG");
	cp.epoch = UINT64_MAX;
	TAP_OK(ledger_checkpoint_check_mac(&cp, &T.verify_key) == -ERANGE,
	       "an absurd epoch is refused rather than hashed to (-ERANGE)");
}

static void test_leaf_hash(void)
{
	static const char empty_leaf[] =
		"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d";
	static const char abc[] = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
	struct hasher hs;
	uint8_t out[32], x[32];
	char hex[65];

	TAP_OK(hasher_init(&hs) == 0, "hasher");
	hasher_leaf(&hs, (const uint8_t *)"", 0, out);
	base_hex_encode(out, 32, hex);
	TAP_OK(!strcmp(hex, empty_leaf), "RFC 6962 leaf hash of empty data = SHA-256(0x00) (%s)", hex);
	sha256_buf("abc", 3, out);
	base_hex_encode(out, 32, hex);
	TAP_OK(!strcmp(hex, abc), "SHA-256(\"abc\") known answer");
	/* leaf(d) = SHA-256(0x00 || d) */
	{
		uint8_t buf[4] = { 0, 'a', 'b', 'c' };

		hasher_leaf(&hs, buf + 1, 3, out);
		sha256_buf(buf, 4, x);
		TAP_OK(memcmp(out, x, 32) == 0, "leaf(\"abc\") = SHA-256(0x00 || \"abc\")");
	}
	/* A frame's record hash is the leaf hash of the frame without its CRC. */
	{
		struct vbuf v;
		uint8_t prev[32] = { 1 }, h[32];
		struct ledger_record rec;

		vbuf_init(&v, 4096);
		frame_encode(&hs, &v, LEDGER_REC_EVENT, 42, 99, prev, "{\"a\":1}", 7, h);
		hasher_leaf(&hs, v.data, v.len - 4, out);
		TAP_OK(memcmp(h, out, 32) == 0 && v.len == FRAME_OVERHEAD + 7,
		       "record hash = leaf(frame bytes 0..55+P)");
		TAP_OK(frame_decode(&hs, v.data, v.len, &rec) == FRAME_OK && rec.seq == 42 &&
			       rec.time_ns == 99 && memcmp(rec.hash, h, 32) == 0 &&
			       memcmp(rec.prev_hash, prev, 32) == 0,
		       "frame_decode gives back the fields and the hash");
		vbuf_release(&v);
	}
	hasher_release(&hs);
}

static void test_mac_keys(void)
{
	struct ledger_mackey a = T.verify_key, b = T.verify_key, c = T.verify_key, d;
	uint8_t buf[19 + 32], k1[32];
	char text[256], err[160];
	int n;
	unsigned bad = 0;

	ledger_mackey_evolve(&a, 5);
	ledger_mackey_evolve(&b, 2);
	ledger_mackey_evolve(&b, 5);
	TAP_OK(a.epoch == 5 && b.epoch == 5 && memcmp(a.key, b.key, 32) == 0,
	       "evolve 0->5 equals 0->2->5");
	ledger_mackey_evolve(&b, 3);
	TAP_OK(b.epoch == 5 && memcmp(a.key, b.key, 32) == 0, "evolving backwards is a no-op");
	memcpy(buf, "vigil-mac-evolve-v1", 19);
	memcpy(buf + 19, c.key, 32);
	sha256_buf(buf, sizeof(buf), k1);
	ledger_mackey_evolve(&c, 1);
	TAP_OK(c.epoch == 1 && memcmp(c.key, k1, 32) == 0,
	       "key(e+1) = SHA-256(\"vigil-mac-evolve-v1\" || key(e)) (one-way)");
	TAP_OK(memcmp(c.key, T.verify_key.key, 32) != 0 && memcmp(c.key, a.key, 32) != 0,
	       "keys of different epochs differ");

	/* Epochs of times. */
	{
		struct ledger_mackey e = { .start_s = 1000, .interval_s = 60 };

		TAP_OK(ledger_mackey_epoch_of(&e, 0) == 0 &&
			       ledger_mackey_epoch_of(&e, 999999999999ull) == 0 &&
			       ledger_mackey_epoch_of(&e, 1059999999999ull) == 0 &&
			       ledger_mackey_epoch_of(&e, 1060000000000ull) == 1 &&
			       ledger_mackey_epoch_of(&e, 1000000000000ull + 3600000000000ull) == 60,
		       "epoch_of: before start 0, boundaries at start + k*interval");
	}

	/* Text form round trip. */
	for (int i = 0; i < 100; i++) {
		struct ledger_mackey k;

		fill(&k, sizeof(k));
		k.interval_s = 1 + k.interval_s % (366ull * 86400);
		if (i == 0)
			k.start_s = k.epoch = UINT64_MAX;
		n = ledger_mackey_format(&k, text, sizeof(text));
		if (n <= 0 || ledger_mackey_parse(text, (size_t)n, &d) < 0 || d.start_s != k.start_s ||
		    d.interval_s != k.interval_s || d.epoch != k.epoch || memcmp(d.key, k.key, 32))
			bad++;
	}
	TAP_EQ_U64(bad, 0, "ledger_mackey_parse(format(k)) == k for 100 keys");
	TAP_OK(ledger_mackey_format(&a, text, 20) == -ENOSPC, "format into a short buffer -> -ENOSPC");

	/* Every single-byte mutation of a valid key text either fails to parse
	 * or gives a different key: no two texts name the same key. */
	n = ledger_mackey_format(&T.verify_key, text, sizeof(text));
	bad = 0;
	for (int i = 0; i < n; i++)
		for (int v = 1; v < 256; v++) {
			char m[256];

			if ((uint8_t)text[i] == v)
				continue;
			memcpy(m, text, (size_t)n);
			m[i] = (char)v;
			if (ledger_mackey_parse(m, (size_t)n, &d) == 0 && d.start_s == T.verify_key.start_s &&
			    d.interval_s == T.verify_key.interval_s && d.epoch == T.verify_key.epoch &&
			    memcmp(d.key, T.verify_key.key, 32) == 0) {
				/* Only trailing whitespace (stripped by design) or hex case may
				 * name the same key. */
				bool ws = i == n - 1 && (v == ' ' || v == '\n' || v == '\r');
				bool hexcase = (m[i] >= 'A' && m[i] <= 'F') && (text[i] | 0x20) == (m[i] | 0x20);

				if (!ws && !hexcase && ++bad <= 3)
					printf("# mutation at %d to 0x%02x names the same key\n", i, v);
			}
		}
	TAP_EQ_U64(bad, 0, "MAC key text mutations never silently name the same key");
	for (int len = 0; len < n; len++)
		if (ledger_mackey_parse(text, (size_t)len, &d) == 0)
			bad++;
	TAP_EQ_U64(bad, 0, "every truncation of a MAC key text is rejected");
	(void)err;
}

int main(void)
{
	char err[256];

	if (tledger_init(&T, 900) < 0 || tledger_init(&U, 900) < 0 ||
	    ledger_signer_load(T.signing, &signer, err, sizeof(err)) < 0) {
		TAP_OK(0, "keys");
		return tap_done();
	}
	test_round_trip();
	test_mutations();
	test_key_ids();
	test_mac_checks();
	test_leaf_hash();
	test_mac_keys();
	ledger_signer_release(&signer);
	tledger_cleanup(&T);
	tledger_cleanup(&U);
	return tap_done();
}
