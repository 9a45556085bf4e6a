/*
 * encode.c - hex and base64.  Base64 uses OpenSSL's EVP encoder; hex is a
 * few lines and has no library worth a dependency.
 */
#include "common.h"

#include <errno.h>
#include <openssl/evp.h>

void vg_base64_encode(const uint8_t *in, size_t n, char *out)
{
	EVP_EncodeBlock((unsigned char *)out, in, (int)n);
}

int vg_base64_decode(const char *in, size_t inlen, uint8_t *out, size_t cap)
{
	uint8_t tmp[4096];
	int n, pad = 0;

	/* EVP_DecodeBlock ignores nothing useful for us: require the strict
	 * canonical form (length multiple of 4, alphabet only, padding last). */
	if (inlen == 0 || inlen % 4 || inlen / 4 * 3 > sizeof(tmp))
		return inlen == 0 ? 0 : -EINVAL;
	for (size_t i = 0; i < inlen; i++) {
		char c = in[i];
		int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			 (c >= '0' && c <= '9') || c == '+' || c == '/';

		if (c == '=' && i >= inlen - 2) {
			pad++;
			continue;
		}
		if (!ok || pad)
			return -EINVAL;
	}
	n = EVP_DecodeBlock(tmp, (const unsigned char *)in, (int)inlen);
	if (n < 0)
		return -EINVAL;
	n -= pad; /* EVP_DecodeBlock counts padding as zero bytes */
	if ((size_t)n > cap)
		return -E2BIG;
	memcpy(out, tmp, (size_t)n);
	/* Reject non-canonical encodings (stray bits under the padding). */
	{
		char back[4096 / 3 * 4 + 8];

		EVP_EncodeBlock((unsigned char *)back, out, n);
		if (strlen(back) != inlen || memcmp(back, in, inlen) != 0)
			return -EINVAL;
	}
	return n;
}
