/*
 * head.c - the head file: the writer's own, keyed note of how far it got,
 * kept outside the ledger directory (<ledger dir>.head by default).
 *
 * Why it exists.  Records after the newest seal carry no key: anyone who can
 * write the ledger directory while the writer is down can append records
 * with the right seq, previous hash and CRC, and a writer that simply
 * continued the chain would seal them as its own.  And a ledger cut back to
 * an earlier seal (or deleted) is a valid ledger: nothing in it says that
 * more was there.  The head file answers both at start-up: it names the last
 * record this writer knows it wrote, under the MAC key, so a restarted writer
 * can tell its own unsealed records from records someone else added, and
 * can see that records it once made durable are gone.
 *
 * FORMAT (342 bytes of ASCII, fixed width so that one pwrite() replaces it
 * in place and a crashed process never leaves half of two versions):
 *
 *   vigil-ledger-head-v1\n
 *   log <log id, 32 hex>\n
 *   durable <seq, 20 digits> <hash of that record, 64 hex>\n
 *   written <seq, 20 digits> <hash of that record, 64 hex>\n
 *   epoch <MAC key epoch, 20 digits>\n
 *   mac <HMAC-SHA256(key of that epoch, the five lines above), 64 hex>\n
 *
 * "written" is the last record of the batch the writer is about to write:
 * the file is rewritten before each batch, so a writer killed while it
 * waits for fdatasync (where a busy writer spends most of its time) still
 * vouches for that batch on restart.  "durable" is the last record known to
 * be on disk when the file was written: a ledger that ends before it was
 * cut.  The file is fdatasync'ed with every batch that holds a seal; in
 * between it may lag after a power loss, which can only make the writer
 * vouch for less, never for more.
 */
#include "ledger_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <unistd.h>

#define HEAD_MAGIC "vigil-ledger-head-v1"
#define HEAD_BODY_LEN (LEDGER_HEAD_LEN - 69) /* all but the mac line */

int ledger_head_path(const char *dir, char *out, size_t cap)
{
	size_t n = strlen(dir);

	/* "STATE/ledger/" and "STATE/ledger" name the same file. */
	while (n > 1 && dir[n - 1] == '/')
		n--;
	if (n == 0 || (n == 1 && dir[0] == '/'))
		return -EINVAL;
	return vg_path(out, cap, "%.*s.head", (int)n, dir);
}

/* Renders h; with_mac false stops before the mac line.  Returns the length. */
static int head_render(const struct ledger_head *h, bool with_mac, char *out, size_t cap)
{
	char id[33], dh[65], wh[65], mac[65];
	int n;

	base_hex_encode(h->log_id, LEDGER_LOG_ID_LEN, id);
	base_hex_encode(h->durable_hash, LEDGER_HASH_LEN, dh);
	base_hex_encode(h->written_hash, LEDGER_HASH_LEN, wh);
	base_hex_encode(h->mac, 32, mac);
	n = snprintf(out, cap,
		     HEAD_MAGIC "\nlog %s\ndurable %020" PRIu64 " %s\nwritten %020" PRIu64
				" %s\nepoch %020" PRIu64 "\n",
		     id, h->durable_seq, dh, h->written_seq, wh, h->epoch);
	if (n < 0 || (size_t)n >= cap)
		return -ENOSPC;
	if (with_mac) {
		int m = snprintf(out + n, cap - (size_t)n, "mac %s\n", mac);

		if (m < 0 || (size_t)m >= cap - (size_t)n)
			return -ENOSPC;
		n += m;
	}
	return n;
}

int head_seal(struct ledger_head *h, const struct ledger_mackey *mac, char *out, size_t cap)
{
	char body[LEDGER_HEAD_LEN + 1];
	int n;

	h->epoch = mac->epoch;
	n = head_render(h, false, body, sizeof(body));
	if (n != HEAD_BODY_LEN)
		return n < 0 ? n : -EINVAL;
	ledger_hmac(mac->key, body, (size_t)n, h->mac);
	n = head_render(h, true, out, cap);
	if (n >= 0 && n != LEDGER_HEAD_LEN)
		return -EINVAL;
	return n;
}

static int field_u64(const char *p, size_t digits, uint64_t *out)
{
	uint64_t v = 0;

	for (size_t i = 0; i < digits; i++) {
		if (p[i] < '0' || p[i] > '9' || v > (UINT64_MAX - 9) / 10)
			return -EINVAL;
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	*out = v;
	return 0;
}

int ledger_head_parse(const char *text, size_t len, struct ledger_head *h)
{
	char again[LEDGER_HEAD_LEN + 1];
	const char *p = text;

	memset(h, 0, sizeof(*h));
	if (len != LEDGER_HEAD_LEN || memcmp(p, HEAD_MAGIC "\nlog ", 25) != 0)
		return -EINVAL;
	p += 25;
	if (base_hex_decode(p, 32, h->log_id, LEDGER_LOG_ID_LEN) < 0)
		return -EINVAL;
	p += 33 + 8; /* id, "\n", "durable " */
	if (field_u64(p, 20, &h->durable_seq) < 0 ||
	    base_hex_decode(p + 21, 64, h->durable_hash, LEDGER_HASH_LEN) < 0)
		return -EINVAL;
	p += 86 + 8; /* seq, " ", hash, "\n", "written " */
	if (field_u64(p, 20, &h->written_seq) < 0 ||
	    base_hex_decode(p + 21, 64, h->written_hash, LEDGER_HASH_LEN) < 0)
		return -EINVAL;
	p += 86 + 6; /* ..., "epoch " */
	if (field_u64(p, 20, &h->epoch) < 0)
		return -EINVAL;
	p += 21 + 4; /* epoch, "\n", "mac " */
	if (base_hex_decode(p, 64, h->mac, 32) < 0)
		return -EINVAL;
	/* One encoding only: what renders back byte for byte. */
	if (head_render(h, true, again, sizeof(again)) != LEDGER_HEAD_LEN ||
	    memcmp(again, text, LEDGER_HEAD_LEN) != 0)
		return -EINVAL;
	return 0;
}

int head_check_mac(const struct ledger_head *h, const struct ledger_mackey *mac)
{
	struct ledger_mackey k = *mac;
	char body[LEDGER_HEAD_LEN + 1];
	uint8_t tag[32];
	int n, rc;

	/* The caller bounds how far ahead the epoch may be (check_head in
	 * writer_open.c). */
	if (h->epoch < mac->epoch)
		return -ERANGE;
	ledger_mackey_evolve(&k, h->epoch);
	n = head_render(h, false, body, sizeof(body));
	if (n != HEAD_BODY_LEN) {
		rc = -EINVAL;
		goto out;
	}
	ledger_hmac(k.key, body, (size_t)n, tag);
	rc = CRYPTO_memcmp(tag, h->mac, 32) == 0 ? 0 : -EBADMSG;
out:
	ledger_mackey_wipe(&k);
	return rc;
}

int head_read_fd(int fd, struct ledger_head *h)
{
	char buf[LEDGER_HEAD_LEN + 1];
	ssize_t n = pread(fd, buf, sizeof(buf), 0);

	if (n < 0)
		return -errno;
	if (n == 0)
		return -ENOENT; /* created but never written */
	return ledger_head_parse(buf, (size_t)n, h);
}

int ledger_head_read(const char *path, struct ledger_head *h)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), rc;

	if (fd < 0)
		return -errno;
	rc = head_read_fd(fd, h);
	close(fd);
	return rc;
}
