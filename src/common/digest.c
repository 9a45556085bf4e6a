/*
 * digest.c - SHA-256 of a buffer, raw or as lowercase hex: the payload and
 * file-content hashes events carry (payload_sha256, before_sha256...).
 *
 * The algorithm is fetched from OpenSSL once per process: EVP_sha256()
 * makes EVP_Digest look it up again on every call, which shows in the
 * per-event cost (docs/benchmarks.md, pipeline).
 */
#include "common.h"

#include <errno.h>
#include <pthread.h>

#include <openssl/evp.h>

static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void)
{
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

int vg_sha256(const void *p, size_t n, uint8_t out[32])
{
	unsigned mdlen = 0;
	const EVP_MD *alg;

	pthread_once(&sha256_once, sha256_fetch);
	alg = sha256_md ? sha256_md : EVP_sha256();
	if (EVP_Digest(p, n, out, &mdlen, alg, NULL) != 1 || mdlen != 32)
		return -EIO;
	return 0;
}

int vg_sha256_hex(const void *p, size_t n, char out[65])
{
	uint8_t md[32];
	int rc = vg_sha256(p, n, md);

	if (rc < 0)
		return rc;
	base_hex_encode(md, sizeof(md), out);
	return 0;
}
