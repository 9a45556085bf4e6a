/*
 * helpers.c - see helpers.h.
 */
#include "helpers.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

int tledger_init(struct tledger *t, uint64_t epoch_s)
{
	struct ledger_keys_created kc;
	char err[256];
	const char *tmp = getenv("TMPDIR");
	int rc;

	memset(t, 0, sizeof(*t));
	snprintf(t->root, sizeof(t->root), "%s/vigil-test-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(t->root))
		return -errno;
	snprintf(t->dir, sizeof(t->dir), "%s/ledger", t->root);
	snprintf(t->keys, sizeof(t->keys), "%s/keys", t->root);
	rc = ledger_keys_create(t->keys, epoch_s, false, &kc, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "keys: %s\n", err);
		return rc;
	}
	snprintf(t->signing, sizeof(t->signing), "file:%s", kc.signing_path);
	snprintf(t->mac, sizeof(t->mac), "file:%s", kc.mac_path);
	t->pub = kc.pub;
	t->verify_key = kc.verify_key;
	return 0;
}

void tledger_options(const struct tledger *t, struct ledger_options *o)
{
	memset(o, 0, sizeof(*o));
	o->dir = t->dir;
	o->signing_key = t->signing;
	o->mac_key = t->mac;
	o->heartbeat_ms = -1;
}

void tledger_cleanup(struct tledger *t)
{
	if (!t->root[0] || getenv("VIGIL_KEEP_TMP"))
		return;
	tdir_remove(t->root);
}

int tverify_dir(const char *dir, const struct ledger_pubkey *pub, const struct ledger_mackey *mac,
		bool require_sealed, const char *trusted, struct ledger_verify_result *res)
{
	struct ledger_verify_options vo = {
		.dir = dir,
		.pub = pub,
		.mac = mac,
		.require_sealed = require_sealed,
	};
	const char *tr[1] = { trusted };

	if (trusted) {
		vo.trusted = tr;
		vo.ntrusted = 1;
	}
	return ledger_verify(&vo, res);
}

int tledger_verify(const struct tledger *t, bool with_mac, bool require_sealed,
		   const char *trusted, struct ledger_verify_result *res)
{
	return tverify_dir(t->dir, &t->pub, with_mac ? &t->verify_key : NULL, require_sealed,
			   trusted, res);
}

bool tledger_has(const struct ledger_verify_result *res, enum ledger_finding_kind k)
{
	return tledger_find(res, k) != NULL;
}

const struct ledger_finding *tledger_find(const struct ledger_verify_result *res,
					  enum ledger_finding_kind k)
{
	for (size_t i = 0; i < res->nfindings; i++)
		if (res->findings[i].kind == k)
			return &res->findings[i];
	return NULL;
}

bool tledger_only(const struct ledger_verify_result *res, enum ledger_finding_kind k)
{
	if (res->nfindings == 0)
		return false;
	for (size_t i = 0; i < res->nfindings; i++)
		if (res->findings[i].kind != k)
			return false;
	return true;
}

void tledger_dump(const struct ledger_verify_result *res)
{
	printf("# verdict %d, %zu findings%s%s\n", res->verdict, res->nfindings,
	       res->error[0] ? ": " : "", res->error);
	for (size_t i = 0; i < res->nfindings && i < 20; i++)
		printf("#   %s seg %llu off %llu seq %llu: %s\n",
		       ledger_finding_name(res->findings[i].kind),
		       (unsigned long long)res->findings[i].segment,
		       (unsigned long long)res->findings[i].offset,
		       (unsigned long long)res->findings[i].seq, res->findings[i].detail);
}

int tledger_append_events(struct ledger *l, int first, int n, size_t pad, uint64_t *last_seq)
{
	char buf[4096];
	int rc = 0;

	if (pad > sizeof(buf) - 64)
		pad = sizeof(buf) - 64;
	for (int i = 0; i < n && rc == 0; i++) {
		int k = snprintf(buf, sizeof(buf), "{\"n\":%d,\"pad\":\"", first + i);

		memset(buf + k, 'x', pad);
		k += (int)pad;
		k += snprintf(buf + k, sizeof(buf) - (size_t)k, "\"}");
		rc = ledger_append(l, LEDGER_REC_EVENT, buf, (size_t)k, last_seq);
	}
	return rc;
}

/* ---- files ----------------------------------------------------------------- */

int tfile_write(const char *path, const void *data, size_t len, unsigned mode)
{
	const uint8_t *p = data;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, (mode_t)mode);

	if (fd < 0)
		return -errno;
	while (len) {
		ssize_t w = write(fd, p, len);

		if (w < 0) {
			int rc = -errno;

			close(fd);
			return rc;
		}
		p += w;
		len -= (size_t)w;
	}
	if (fchmod(fd, (mode_t)mode) < 0) {
		int rc = -errno;

		close(fd);
		return rc;
	}
	return close(fd) < 0 ? -errno : 0;
}

void tdir_remove(const char *dir)
{
	char cmd[4400];

	if (!dir[0])
		return;
	/* With the ledger goes its head file (<dir>.head), as in real use. */
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s.head'", dir, dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

int tdir_copy(const char *src, const char *dst)
{
	DIR *d;
	struct dirent *de;
	int rc = 0;

	tdir_remove(dst);
	if (mkdir(dst, 0700) < 0)
		return -errno;
	d = opendir(src);
	if (!d)
		return -errno;
	while ((de = readdir(d)) && rc == 0) {
		char from[4400], to[4400];
		struct stat st;
		char *data = NULL;
		size_t len;

		snprintf(from, sizeof(from), "%s/%s", src, de->d_name);
		snprintf(to, sizeof(to), "%s/%s", dst, de->d_name);
		if (stat(from, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		rc = vg_read_file(from, SIZE_MAX / 2, &data, &len);
		if (rc == 0)
			rc = tfile_write(to, data, len, st.st_mode & 0777);
		vg_free(data);
	}
	closedir(d);
	/* A ledger's head file lives next to it (<dir>.head) and goes with it. */
	if (rc == 0) {
		char from[4400], to[4400];
		char *data = NULL;
		size_t len;

		ledger_head_path(src, from, sizeof(from));
		ledger_head_path(dst, to, sizeof(to));
		unlink(to);
		if (vg_read_file(from, 4096, &data, &len) == 0)
			rc = tfile_write(to, data, len, 0600);
		vg_free(data);
	}
	return rc;
}

void tseg_path(char *out, const char *dir, uint64_t segno)
{
	snprintf(out, 4200, "%s/%010" PRIu64 ".seg", dir, segno);
}

long tseg_count(const char *dir)
{
	uint64_t *nums;
	size_t n;
	int rc = seg_list(dir, &nums, &n);

	if (rc < 0)
		return rc;
	vg_free(nums);
	return (long)n;
}

/* ---- segment images ------------------------------------------------------ */

int timage_load(const char *dir, struct timage *im)
{
	uint64_t *nums = NULL;
	size_t n = 0;
	int rc;

	memset(im, 0, sizeof(*im));
	rc = seg_list(dir, &nums, &n);
	if (rc < 0)
		return rc;
	im->s = calloc(n ? n : 1, sizeof(*im->s));
	if (!im->s) {
		vg_free(nums);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		char path[4200];
		char *data;
		size_t len;

		tseg_path(path, dir, nums[i]);
		rc = vg_read_file(path, SEG_READ_MAX, &data, &len);
		if (rc < 0)
			break;
		im->s[i].no = nums[i];
		im->s[i].buf = malloc(len ? len : 1);
		if (!im->s[i].buf) {
			vg_free(data);
			rc = -ENOMEM;
			break;
		}
		memcpy(im->s[i].buf, data, len);
		im->s[i].len = len;
		vg_free(data);
		im->n = i + 1;
	}
	vg_free(nums);
	if (rc < 0)
		timage_free(im);
	return rc;
}

int timage_save(const char *dir, const struct timage *im)
{
	uint64_t *nums = NULL;
	size_t n = 0;
	int rc = seg_list(dir, &nums, &n);

	if (rc < 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		char path[4200];

		tseg_path(path, dir, nums[i]);
		unlink(path);
	}
	vg_free(nums);
	for (size_t i = 0; i < im->n; i++) {
		char path[4200];

		tseg_path(path, dir, im->s[i].no);
		if ((rc = tfile_write(path, im->s[i].buf, im->s[i].len, 0600)) < 0)
			return rc;
	}
	return 0;
}

void timage_free(struct timage *im)
{
	for (size_t i = 0; i < im->n; i++)
		free(im->s[i].buf);
	free(im->s);
	memset(im, 0, sizeof(*im));
}

int tseg_insert(struct tseg *s, size_t off, const uint8_t *data, size_t len)
{
	uint8_t *nb = realloc(s->buf, s->len + len);

	if (!nb)
		return -ENOMEM;
	memmove(nb + off + len, nb + off, s->len - off);
	memcpy(nb + off, data, len);
	s->buf = nb;
	s->len += len;
	return 0;
}

void tseg_cut(struct tseg *s, size_t off, size_t len)
{
	memmove(s->buf + off, s->buf + off + len, s->len - off - len);
	s->len -= len;
}

size_t tseg_frames(const uint8_t *buf, size_t len, size_t *off, size_t max)
{
	size_t n = 0;

	for (size_t p = SEG_HEADER_LEN; p + 4 <= len && n < max;) {
		uint32_t flen = vg_get_le32(buf + p);

		if (flen < FRAME_OVERHEAD || flen > len - p)
			break;
		off[n++] = p;
		p += flen;
	}
	return n;
}

void tframe_fix_crc(uint8_t *f)
{
	uint32_t flen = vg_get_le32(f);

	vg_put_le32(f + flen - 4, (uint32_t)crc32(0L, f, (uInt)(flen - 4)));
}

void tseg_fix_header_crc(uint8_t *hdr)
{
	vg_put_le32(hdr + 92, (uint32_t)crc32(0L, hdr, 92));
}

int timage_find_seq(const struct timage *im, uint64_t seq, size_t *segi, size_t *off)
{
	for (size_t i = 0; i < im->n; i++) {
		size_t offs[4096];
		size_t n = tseg_frames(im->s[i].buf, im->s[i].len, offs, VG_ARRAY_LEN(offs));

		for (size_t j = 0; j < n; j++)
			if (tframe_seq(im->s[i].buf + offs[j]) == seq) {
				*segi = i;
				*off = offs[j];
				return 0;
			}
	}
	return -ENOENT;
}

int timage_rechain(struct timage *im, tseal_fn fn, void *arg)
{
	struct hasher hs;
	uint8_t head[LEDGER_HASH_LEN] = { 0 };
	int rc, seals = 0;

	if ((rc = hasher_init(&hs)) < 0)
		return rc;
	for (size_t i = 0; i < im->n && rc == 0; i++) {
		struct tseg *s = &im->s[i];
		struct vbuf out;
		struct seg_header h;
		size_t off = SEG_HEADER_LEN;
		char why[160];

		vbuf_init(&out, SEG_READ_MAX);
		if (seg_header_decode(s->buf, s->len, &h, why, sizeof(why)) == 0) {
			uint8_t hdr[SEG_HEADER_LEN];

			memcpy(h.prev_hash, head, LEDGER_HASH_LEN);
			seg_header_encode(&h, hdr);
			rc = vbuf_append(&out, hdr, sizeof(hdr));
		} else {
			rc = vbuf_append(&out, s->buf, s->len < off ? s->len : off);
		}
		while (rc == 0 && off < s->len) {
			struct ledger_record rec;
			char note[LEDGER_CHECKPOINT_MAX];
			const void *payload;
			size_t plen;

			enum frame_status st = frame_decode(&hs, s->buf + off, s->len - off, &rec);

			/* A CRC mismatch is the attacker's own edit: re-encoding fixes it. */
			if (st != FRAME_OK && st != FRAME_CRC) {
				rc = vbuf_append(&out, s->buf + off, s->len - off);
				off = s->len;
				break;
			}
			payload = rec.payload;
			plen = rec.payload_len;
			if (rec_is_seal(rec.type) && fn) {
				struct ledger_checkpoint old;
				uint8_t log_id[LEDGER_LOG_ID_LEN];
				int n;

				memcpy(log_id, s->buf + 16, LEDGER_LOG_ID_LEN);
				if (ledger_checkpoint_parse((const char *)rec.payload, rec.payload_len,
							    &old, why, sizeof(why)) < 0)
					memset(&old, 0, sizeof(old));
				n = fn(arg, &old, log_id, rec.seq - 1, head, rec.time_ns, note,
				       sizeof(note));
				if (n < 0) {
					rc = n;
					break;
				}
				payload = note;
				plen = (size_t)n;
				seals++;
			}
			rc = frame_encode(&hs, &out, rec.type, rec.seq, rec.time_ns, head, payload,
					  plen, head);
			off += rec.frame_len;
		}
		if (rc == 0) {
			free(s->buf);
			s->buf = malloc(out.len ? out.len : 1);
			if (!s->buf)
				rc = -ENOMEM;
			else
				memcpy(s->buf, out.data, out.len);
			s->len = out.len;
		}
		vbuf_release(&out);
	}
	hasher_release(&hs);
	return rc < 0 ? rc : seals;
}

int tforger_init(struct tforger *f, const char *signing_spec, const char *mac_spec)
{
	char err[256];
	int rc;

	memset(f, 0, sizeof(*f));
	if ((rc = ledger_signer_load(signing_spec, &f->signer, err, sizeof(err))) < 0 ||
	    (rc = ledger_mackey_load(mac_spec, &f->mac, err, sizeof(err))) < 0) {
		fprintf(stderr, "forger: %s\n", err);
		ledger_signer_release(&f->signer);
		return rc;
	}
	return 0;
}

void tforger_release(struct tforger *f)
{
	ledger_signer_release(&f->signer);
	ledger_mackey_wipe(&f->mac);
}

int tforger_seal(void *arg, const struct ledger_checkpoint *old, const uint8_t log_id[16],
		 uint64_t seq, const uint8_t head[32], uint64_t time_ns, char *note, size_t cap)
{
	struct tforger *f = arg;
	struct ledger_mackey k = f->mac;
	struct ledger_checkpoint cp;
	int n;

	if (k.epoch < old->epoch)
		ledger_mackey_evolve(&k, old->epoch);
	/* checkpoint_make claims k.epoch and MACs with k.key: claiming another
	 * epoch than the key's own is exactly a relabelled key. */
	if (!f->claim_own_epoch)
		k.epoch = old->epoch;
	n = checkpoint_make(&f->signer, &k, log_id, seq, head, time_ns, note, cap, &cp);
	ledger_mackey_wipe(&k);
	if (n < 0 || !f->forge_key_id)
		return n;
	memcpy(cp.key_id, f->key_id, 4);
	return ledger_checkpoint_format(&cp, note, cap);
}
