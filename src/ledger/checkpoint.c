/*
 * checkpoint.c - signed checkpoints in the signed-note form of C2SP
 * tlog-checkpoint, so the same text is a ledger record, what `vigil
 * checkpoint` prints for safekeeping elsewhere, and what `vigil verify
 * --trusted-checkpoint` takes back:
 *
 *   vigil/ledger/<log id, 32 lowercase hex>\n
 *   <seq of the last record covered, decimal>\n
 *   <base64 of that record's hash>\n
 *   time <ns since the Unix epoch>\n
 *   epoch <MAC key epoch>\n
 *   mac <64 lowercase hex>\n            HMAC-SHA256(epoch key, lines 1-5)
 *   \n
 *   — vigil <base64(4-byte key id || 64-byte Ed25519 signature)>\n
 *
 * The signature covers lines 1-6 (with their newlines).  Parsing is strict:
 * a note is accepted only if rendering the parsed fields gives back exactly
 * the same bytes, so there is one encoding of each checkpoint.
 */
#include "ledger_int.h"

#include <errno.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>

#define ORIGIN_PREFIX "vigil/ledger/"
#define SIG_PREFIX "\xe2\x80\x94 vigil " /* em dash, as in C2SP signed notes */

int checkpoint_body(const struct ledger_checkpoint *cp, bool with_mac, char *out, size_t cap)
{
	char id[33], head[48], mac[65];
	int n;

	base_hex_encode(cp->log_id, LEDGER_LOG_ID_LEN, id);
	vg_base64_encode(cp->head, LEDGER_HASH_LEN, head);
	n = snprintf(out, cap, ORIGIN_PREFIX "%s\n%" PRIu64 "\n%s\ntime %" PRIu64 "\nepoch %" PRIu64 "\n",
		     id, cp->seq, head, cp->time_ns, cp->epoch);
	if (n < 0 || (size_t)n >= cap)
		return -ENOSPC;
	if (with_mac) {
		int m;

		base_hex_encode(cp->mac, 32, mac);
		m = snprintf(out + n, cap - (size_t)n, "mac %s\n", mac);
		if (m < 0 || (size_t)m >= cap - (size_t)n)
			return -ENOSPC;
		n += m;
	}
	return n;
}

int ledger_checkpoint_format(const struct ledger_checkpoint *cp, char *out, size_t cap)
{
	uint8_t sigblob[68];
	char b64[100];
	int n, m;

	n = checkpoint_body(cp, true, out, cap);
	if (n < 0)
		return n;
	memcpy(sigblob, cp->key_id, 4);
	memcpy(sigblob + 4, cp->sig, 64);
	vg_base64_encode(sigblob, sizeof(sigblob), b64);
	m = snprintf(out + n, cap - (size_t)n, "\n" SIG_PREFIX "%s\n", b64);
	if (m < 0 || (size_t)m >= cap - (size_t)n)
		return -ENOSPC;
	return n + m;
}

int checkpoint_make(const struct ledger_signer *s, const struct ledger_mackey *mac,
		    const uint8_t log_id[16], uint64_t seq, const uint8_t head[32],
		    uint64_t time_ns, char *out, size_t cap, struct ledger_checkpoint *cp)
{
	char body[LEDGER_CHECKPOINT_MAX];
	int n, rc;

	memset(cp, 0, sizeof(*cp));
	memcpy(cp->log_id, log_id, LEDGER_LOG_ID_LEN);
	cp->seq = seq;
	memcpy(cp->head, head, LEDGER_HASH_LEN);
	cp->time_ns = time_ns;
	cp->epoch = mac->epoch;
	n = checkpoint_body(cp, false, body, sizeof(body));
	if (n < 0)
		return n;
	ledger_hmac(mac->key, body, (size_t)n, cp->mac);
	n = checkpoint_body(cp, true, body, sizeof(body));
	if (n < 0)
		return n;
	memcpy(cp->key_id, s->pub.key_id, 4);
	rc = ledger_sign(s, body, (size_t)n, cp->sig);
	if (rc < 0)
		return rc;
	return ledger_checkpoint_format(cp, out, cap);
}

static int next_line(const char **p, const char *end, const char **line, size_t *len)
{
	const char *nl = memchr(*p, '\n', (size_t)(end - *p));

	if (!nl)
		return -EINVAL;
	*line = *p;
	*len = (size_t)(nl - *p);
	*p = nl + 1;
	return 0;
}

static int parse_dec(const char *s, size_t len, uint64_t *out)
{
	char tmp[24];
	char *end;

	if (len == 0 || len >= sizeof(tmp) || (s[0] == '0' && len > 1))
		return -EINVAL;
	for (size_t i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
	memcpy(tmp, s, len);
	tmp[len] = 0;
	errno = 0;
	*out = strtoull(tmp, &end, 10);
	return errno ? -EINVAL : 0;
}

int ledger_checkpoint_parse(const char *text, size_t len, struct ledger_checkpoint *out,
			    char *err, size_t errcap)
{
	const char *p = text, *end = text + len, *line;
	size_t llen;
	uint8_t sigblob[68];
	char again[LEDGER_CHECKPOINT_MAX];
	int n;

	memset(out, 0, sizeof(*out));
	if (len == 0 || len > LEDGER_CHECKPOINT_MAX) {
		snprintf(err, errcap, "checkpoint is empty or too long (%zu bytes)", len);
		return -EINVAL;
	}
	/* Origin line. */
	if (next_line(&p, end, &line, &llen) < 0 || llen != strlen(ORIGIN_PREFIX) + 32 ||
	    memcmp(line, ORIGIN_PREFIX, strlen(ORIGIN_PREFIX)) != 0 ||
	    base_hex_decode(line + strlen(ORIGIN_PREFIX), 32, out->log_id, 16) < 0) {
		snprintf(err, errcap, "checkpoint line 1: expected '" ORIGIN_PREFIX "<log id>'");
		return -EINVAL;
	}
	if (next_line(&p, end, &line, &llen) < 0 || parse_dec(line, llen, &out->seq) < 0) {
		snprintf(err, errcap, "checkpoint line 2: expected a record number");
		return -EINVAL;
	}
	if (next_line(&p, end, &line, &llen) < 0 ||
	    vg_base64_decode(line, llen, out->head, 32) != 32) {
		snprintf(err, errcap, "checkpoint line 3: expected a base64 SHA-256 hash");
		return -EINVAL;
	}
	if (next_line(&p, end, &line, &llen) < 0 || llen < 6 || memcmp(line, "time ", 5) != 0 ||
	    parse_dec(line + 5, llen - 5, &out->time_ns) < 0) {
		snprintf(err, errcap, "checkpoint line 4: expected 'time <ns>'");
		return -EINVAL;
	}
	if (next_line(&p, end, &line, &llen) < 0 || llen < 7 || memcmp(line, "epoch ", 6) != 0 ||
	    parse_dec(line + 6, llen - 6, &out->epoch) < 0) {
		snprintf(err, errcap, "checkpoint line 5: expected 'epoch <n>'");
		return -EINVAL;
	}
	if (next_line(&p, end, &line, &llen) < 0 || llen != 68 || memcmp(line, "mac ", 4) != 0 ||
	    base_hex_decode(line + 4, 64, out->mac, 32) < 0) {
		snprintf(err, errcap, "checkpoint line 6: expected 'mac <64 hex>'");
		return -EINVAL;
	}
	if (next_line(&p, end, &line, &llen) < 0 || llen != 0) {
		snprintf(err, errcap, "checkpoint line 7: expected an empty line");
		return -EINVAL;
	}
	if (next_line(&p, end, &line, &llen) < 0 || llen < strlen(SIG_PREFIX) ||
	    memcmp(line, SIG_PREFIX, strlen(SIG_PREFIX)) != 0 ||
	    vg_base64_decode(line + strlen(SIG_PREFIX), llen - strlen(SIG_PREFIX), sigblob,
			     sizeof(sigblob)) != (int)sizeof(sigblob)) {
		snprintf(err, errcap, "checkpoint line 8: expected a signature line");
		return -EINVAL;
	}
	memcpy(out->key_id, sigblob, 4);
	memcpy(out->sig, sigblob + 4, 64);
	/* Canonical form only: re-render and compare byte for byte. */
	n = ledger_checkpoint_format(out, again, sizeof(again));
	if (n < 0 || (size_t)n != len || memcmp(again, text, len) != 0) {
		snprintf(err, errcap, "checkpoint is not in canonical form");
		return -EINVAL;
	}
	return 0;
}

int ledger_checkpoint_check_sig(const struct ledger_checkpoint *cp,
				const struct ledger_pubkey *pub)
{
	char body[LEDGER_CHECKPOINT_MAX];
	int n;

	if (memcmp(cp->key_id, pub->key_id, 4) != 0)
		return -EKEYREJECTED;
	n = checkpoint_body(cp, true, body, sizeof(body));
	if (n < 0)
		return n;
	return ledger_sig_verify(pub, body, (size_t)n, cp->sig);
}

int ledger_checkpoint_check_mac(const struct ledger_checkpoint *cp,
				const struct ledger_mackey *mac)
{
	struct ledger_mackey k = *mac;
	char body[LEDGER_CHECKPOINT_MAX];
	uint8_t tag[32];
	int n, rc;

	if (mac->epoch > cp->epoch)
		return -ERANGE;
	/* Epoch numbers come from input: refuse to hash forever. One epoch per
	 * second for 100 years is 3.2e9; far beyond any real ledger. */
	if (cp->epoch - mac->epoch > 4000000000ull)
		return -ERANGE;
	ledger_mackey_evolve(&k, cp->epoch);
	n = checkpoint_body(cp, false, body, sizeof(body));
	if (n < 0) {
		rc = n;
		goto out;
	}
	ledger_hmac(k.key, body, (size_t)n, tag);
	rc = CRYPTO_memcmp(tag, cp->mac, 32) == 0 ? 0 : -EBADMSG;
out:
	ledger_mackey_wipe(&k);
	return rc;
}

int ledger_latest_checkpoint(const char *dir, struct ledger_checkpoint *cp,
			     struct ledger_record *where, char *err, size_t errcap)
{
	struct ledger_reader *r;
	struct ledger_record rec;
	bool found = false;
	int rc;

	rc = ledger_reader_open(dir, &r, err, errcap);
	if (rc < 0)
		return rc;
	while ((rc = ledger_reader_next(r, &rec, err, errcap)) == 1) {
		if (!rec_is_seal(rec.type))
			continue;
		if (ledger_checkpoint_parse((const char *)rec.payload, rec.payload_len, cp, err,
					    errcap) < 0)
			continue;
		found = true;
		if (where) {
			*where = rec;
			where->payload = NULL;
			where->prev_hash = NULL;
		}
	}
	ledger_reader_free(r);
	if (rc < 0 && !found)
		return rc;
	if (!found) {
		snprintf(err, errcap, "no checkpoint in ledger '%s' yet", dir);
		return -ENOENT;
	}
	return 0;
}
