/*
 * keys.c - the ledger's keys: an Ed25519 signing key (static; the public key
 * alone verifies checkpoints) and a forward-secure MAC key that evolves one
 * way every epoch, so that a machine compromised today cannot re-seal
 * records sealed in an earlier epoch (the idea of journald's Forward Secure
 * Sealing and of Schneier & Kelsey's evolving keys).
 *
 * All key material is kept in one-line text forms so that it can live in a
 * file, an environment variable or a secrets manager's output alike.
 */
#include "ledger_int.h"

#include <errno.h>
#include <inttypes.h>
#include <openssl/core_names.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define SECRET_PREFIX "vigil-ed25519-secret-v1:"
#define PUBLIC_PREFIX "vigil-ed25519-public-v1:"
#define MAC_PREFIX "vigil-mac-v1:"
#define EVOLVE_LABEL "vigil-mac-evolve-v1"

static void pubkey_fill_ids(struct ledger_pubkey *pub)
{
	uint8_t h[32];
	char hex[65];

	sha256_buf(pub->key, sizeof(pub->key), h);
	memcpy(pub->key_id, h, 4);
	base_hex_encode(h, 32, hex);
	snprintf(pub->fingerprint, sizeof(pub->fingerprint), "SHA256:%s", hex);
}

int ledger_pubkey_parse(const char *text, size_t len, struct ledger_pubkey *out)
{
	size_t plen = strlen(PUBLIC_PREFIX);

	while (len && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' '))
		len--;
	if (len != plen + 64 || memcmp(text, PUBLIC_PREFIX, plen) != 0)
		return -EINVAL;
	if (base_hex_decode(text + plen, 64, out->key, 32) < 0)
		return -EINVAL;
	pubkey_fill_ids(out);
	return 0;
}

int ledger_pubkey_load(const char *path, struct ledger_pubkey *out, char *err, size_t errcap)
{
	char *text = NULL;
	size_t len;
	int rc = vg_read_file(path, 4096, &text, &len);

	if (rc < 0) {
		snprintf(err, errcap, "cannot read public key '%s': %s", path,
			 rc == -EFBIG ? "file too large" : strerror(-rc));
		return rc;
	}
	rc = ledger_pubkey_parse(text, len, out);
	if (rc < 0)
		snprintf(err, errcap, "'%s' is not a vigil public key (expected %s<64 hex>)",
			 path, PUBLIC_PREFIX);
	vg_free(text);
	return rc;
}

static int parse_u64(const char **p, const char *end, char stop, uint64_t *out)
{
	uint64_t v = 0;
	const char *s = *p;

	if (s >= end || *s < '0' || *s > '9')
		return -EINVAL;
	while (s < end && *s >= '0' && *s <= '9') {
		uint64_t d = (uint64_t)(*s - '0');

		/* Exact overflow test: format prints any uint64_t, parse takes it back. */
		if (v > (UINT64_MAX - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
		s++;
	}
	if (s >= end || *s != stop)
		return -EINVAL;
	*out = v;
	*p = s + 1;
	return 0;
}

int ledger_mackey_parse(const char *text, size_t len, struct ledger_mackey *out)
{
	const char *p = text, *end;
	size_t plen = strlen(MAC_PREFIX);

	while (len && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' '))
		len--;
	end = text + len;
	if (len < plen || memcmp(text, MAC_PREFIX, plen) != 0)
		return -EINVAL;
	p += plen;
	if (parse_u64(&p, end, ':', &out->start_s) < 0 ||
	    parse_u64(&p, end, ':', &out->interval_s) < 0 ||
	    parse_u64(&p, end, ':', &out->epoch) < 0)
		return -EINVAL;
	if (out->interval_s == 0 || out->interval_s > 366ull * 86400)
		return -EINVAL;
	if ((size_t)(end - p) != 64 || base_hex_decode(p, 64, out->key, 32) < 0)
		return -EINVAL;
	return 0;
}

int ledger_mackey_load(const char *spec, struct ledger_mackey *out, char *err, size_t errcap)
{
	char *text;
	size_t len;
	int rc = vg_secret_load(spec, &text, &len, err, errcap);

	if (rc < 0)
		return rc;
	rc = ledger_mackey_parse(text, len, out);
	if (rc < 0)
		snprintf(err, errcap, "MAC key from '%s' is malformed (expected %s...)", spec,
			 MAC_PREFIX);
	vg_secret_free(text, len);
	return rc;
}

int ledger_mackey_format(const struct ledger_mackey *k, char *out, size_t cap)
{
	char hex[65];
	int n;

	base_hex_encode(k->key, 32, hex);
	n = snprintf(out, cap, MAC_PREFIX "%" PRIu64 ":%" PRIu64 ":%" PRIu64 ":%s", k->start_s,
		     k->interval_s, k->epoch, hex);
	vg_wipe(hex, sizeof(hex));
	return n < 0 || (size_t)n >= cap ? -ENOSPC : n;
}

void ledger_mackey_evolve(struct ledger_mackey *k, uint64_t to)
{
	uint8_t buf[sizeof(EVOLVE_LABEL) - 1 + 32];

	while (k->epoch < to) {
		memcpy(buf, EVOLVE_LABEL, sizeof(EVOLVE_LABEL) - 1);
		memcpy(buf + sizeof(EVOLVE_LABEL) - 1, k->key, 32);
		sha256_buf(buf, sizeof(buf), k->key);
		k->epoch++;
	}
	vg_wipe(buf, sizeof(buf));
}

uint64_t ledger_mackey_epoch_of(const struct ledger_mackey *k, uint64_t time_ns)
{
	uint64_t s = time_ns / 1000000000ull;

	if (s < k->start_s || k->interval_s == 0)
		return 0;
	return (s - k->start_s) / k->interval_s;
}

void ledger_mackey_wipe(struct ledger_mackey *k)
{
	vg_wipe(k, sizeof(*k));
}

void ledger_hmac(const uint8_t key[32], const void *msg, size_t len, uint8_t out[32])
{
	unsigned outlen = 32;

	HMAC(EVP_sha256(), key, 32, msg, len, out, &outlen);
}

int ledger_signer_load(const char *spec, struct ledger_signer *s, char *err, size_t errcap)
{
	char *text;
	size_t len, plen = strlen(SECRET_PREFIX), publen = 32;
	uint8_t seed[32];
	int rc = vg_secret_load(spec, &text, &len, err, errcap);

	memset(s, 0, sizeof(*s));
	if (rc < 0)
		return rc;
	if (len != plen + 64 || memcmp(text, SECRET_PREFIX, plen) != 0 ||
	    base_hex_decode(text + plen, 64, seed, 32) < 0) {
		snprintf(err, errcap, "signing key from '%s' is malformed (expected %s<64 hex>)",
			 spec, SECRET_PREFIX);
		rc = -EINVAL;
		goto out;
	}
	s->pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
	if (!s->pkey || EVP_PKEY_get_raw_public_key(s->pkey, s->pub.key, &publen) != 1) {
		snprintf(err, errcap, "cannot load the Ed25519 signing key");
		rc = -EINVAL;
		goto out;
	}
	pubkey_fill_ids(&s->pub);
out:
	vg_wipe(seed, sizeof(seed));
	vg_secret_free(text, len);
	if (rc < 0)
		ledger_signer_release(s);
	return rc;
}

void ledger_signer_release(struct ledger_signer *s)
{
	EVP_PKEY_free(s->pkey);
	s->pkey = NULL;
}

int ledger_sign(const struct ledger_signer *s, const void *msg, size_t len, uint8_t sig[64])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t siglen = 64;
	int rc = -EIO;

	if (!ctx)
		return -ENOMEM;
	if (EVP_DigestSignInit(ctx, NULL, NULL, NULL, s->pkey) == 1 &&
	    EVP_DigestSign(ctx, sig, &siglen, msg, len) == 1 && siglen == 64)
		rc = 0;
	EVP_MD_CTX_free(ctx);
	return rc;
}

int ledger_sig_verify(const struct ledger_pubkey *pub, const void *msg, size_t len,
		      const uint8_t sig[64])
{
	EVP_PKEY *pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub->key, 32);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int rc = -EBADMSG;

	if (!pkey || !ctx) {
		rc = -ENOMEM;
		goto out;
	}
	if (EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pkey) == 1 &&
	    EVP_DigestVerify(ctx, sig, 64, msg, len) == 1)
		rc = 0;
out:
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pkey);
	return rc;
}

static int write_key_file(const char *path, const char *text, mode_t mode, char *err,
			  size_t errcap)
{
	int rc = vg_write_file_atomic(path, text, strlen(text), mode);

	if (rc < 0)
		snprintf(err, errcap, "cannot write '%s': %s", path, strerror(-rc));
	return rc;
}

int ledger_keys_create(const char *keys_dir, uint64_t epoch_s, bool force,
		       struct ledger_keys_created *out, char *err, size_t errcap)
{
	char line[256], hex[65];
	uint8_t seed[32];
	struct ledger_signer signer = { 0 };
	struct ledger_mackey mac = { 0 };
	size_t publen = 32;
	int rc;

	memset(out, 0, sizeof(*out));
	if (epoch_s == 0 || epoch_s > 366ull * 86400) {
		snprintf(err, errcap, "epoch length must be between 1 second and 366 days");
		return -EINVAL;
	}
	rc = base_mkdir_p(keys_dir, 0700, NULL);
	if (rc < 0) {
		snprintf(err, errcap, "cannot create '%s': %s", keys_dir, strerror(-rc));
		return rc;
	}
	if (vg_path(out->signing_path, sizeof(out->signing_path), "%s/" LEDGER_SIGNING_KEY_FILE,
		    keys_dir) < 0 ||
	    vg_path(out->public_path, sizeof(out->public_path), "%s/" LEDGER_PUBLIC_KEY_FILE,
		    keys_dir) < 0 ||
	    vg_path(out->mac_path, sizeof(out->mac_path), "%s/" LEDGER_MAC_KEY_FILE, keys_dir) < 0) {
		snprintf(err, errcap, "key directory path too long");
		return -ENAMETOOLONG;
	}
	if (!force && (access(out->signing_path, F_OK) == 0 || access(out->mac_path, F_OK) == 0)) {
		snprintf(err, errcap,
			 "keys already exist in '%s' (use --force to replace them; a ledger "
			 "sealed with the old keys then verifies only with the old public key)",
			 keys_dir);
		return -EEXIST;
	}
	if ((rc = vg_random(seed, sizeof(seed))) < 0 || (rc = vg_random(mac.key, 32)) < 0) {
		snprintf(err, errcap, "no randomness: %s", strerror(-rc));
		goto out;
	}
	signer.pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
	if (!signer.pkey || EVP_PKEY_get_raw_public_key(signer.pkey, out->pub.key, &publen) != 1) {
		snprintf(err, errcap, "cannot create an Ed25519 key");
		rc = -EIO;
		goto out;
	}
	pubkey_fill_ids(&out->pub);

	base_hex_encode(seed, 32, hex);
	snprintf(line, sizeof(line), SECRET_PREFIX "%s\n", hex);
	if ((rc = write_key_file(out->signing_path, line, 0600, err, errcap)) < 0)
		goto out;
	base_hex_encode(out->pub.key, 32, hex);
	snprintf(line, sizeof(line), PUBLIC_PREFIX "%s\n", hex);
	if ((rc = write_key_file(out->public_path, line, 0644, err, errcap)) < 0)
		goto out;
	mac.start_s = vg_now_ns() / 1000000000ull;
	mac.interval_s = epoch_s;
	mac.epoch = 0;
	rc = ledger_mackey_format(&mac, line, sizeof(line) - 1);
	if (rc < 0)
		goto out;
	line[rc] = '\n';
	line[rc + 1] = 0;
	if ((rc = write_key_file(out->mac_path, line, 0600, err, errcap)) < 0)
		goto out;
	out->verify_key = mac;
	rc = 0;
out:
	vg_wipe(seed, sizeof(seed));
	vg_wipe(line, sizeof(line));
	vg_wipe(hex, sizeof(hex));
	ledger_mackey_wipe(&mac);
	ledger_signer_release(&signer);
	return rc;
}
