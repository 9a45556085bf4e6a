/*
 * util.c - the daemon's small helpers: the set of event ids seen in this
 * run, and JSON replies.
 */
#include "daemon.h"

#include <errno.h>
#include <string.h>

/* ---- id set --------------------------------------------------------------------- */

/* A UUID's 32 hex digits as 16 bytes; false for anything else.  Ids that are
 * not UUIDs (possible only from a foreign sender) are simply not remembered:
 * the index lookup still deduplicates them. */
static bool uuid_key(const char *s, uint8_t out[16])
{
	size_t n = 0;

	for (; *s && n < 32; s++) {
		int v;

		if (*s == '-')
			continue;
		if (*s >= '0' && *s <= '9')
			v = *s - '0';
		else if (*s >= 'a' && *s <= 'f')
			v = *s - 'a' + 10;
		else if (*s >= 'A' && *s <= 'F')
			v = *s - 'A' + 10;
		else
			return false;
		if (n % 2 == 0)
			out[n / 2] = (uint8_t)(v << 4);
		else
			out[n / 2] |= (uint8_t)v;
		n++;
	}
	return n == 32 && !*s;
}

static size_t slot_of(const uint8_t k[16], size_t cap)
{
	uint64_t h;

	/* UUIDv7's random tail is already uniform; mix in the time part too. */
	memcpy(&h, k + 8, 8);
	h ^= (uint64_t)k[0] << 56 | (uint64_t)k[5] << 8 | k[6];
	h *= 0x9e3779b97f4a7c15ull;
	return (size_t)(h >> 20) & (cap - 1);
}

static const uint8_t zero_key[16];

static bool table_has(uint8_t (*t)[16], size_t cap, const uint8_t k[16])
{
	if (!t)
		return false;
	for (size_t i = slot_of(k, cap), n = 0; n < cap; i = (i + 1) & (cap - 1), n++) {
		if (!memcmp(t[i], zero_key, 16))
			return false;
		if (!memcmp(t[i], k, 16))
			return true;
	}
	return false;
}

int vd_idset_init(struct vd_idset *s, size_t cap)
{
	memset(s, 0, sizeof(*s));
	s->cap = 1024;
	while (s->cap < cap)
		s->cap <<= 1;
	/* Both generations now: the memory is what it will ever be. */
	s->cur = vg_calloc(s->cap, 16);
	s->old = vg_calloc(s->cap, 16);
	if (!s->cur || !s->old) {
		vd_idset_free(s);
		return -ENOMEM;
	}
	return 0;
}

void vd_idset_free(struct vd_idset *s)
{
	vg_free(s->cur);
	vg_free(s->old);
	memset(s, 0, sizeof(*s));
}

/*
 * The key of an event: its id's 16 bytes, mixed with the first 16 bytes of
 * the SHA-256 of its payload when known.  Two frames are the same event only
 * when both agree: a spooled copy and the live one do (the hook sends the same
 * payload), while a local sender that reuses a real event's id with other
 * content cannot make vigild drop the real one as a duplicate.
 */
static bool event_key(const char *uuid, const char *sha_hex, uint8_t k[16])
{
	if (!uuid || !uuid_key(uuid, k) || !memcmp(k, zero_key, 16))
		return false;
	if (sha_hex && strlen(sha_hex) >= 32) {
		uint8_t d[16];

		if (base_hex_decode(sha_hex, 32, d, sizeof(d)) == 0)
			for (int i = 0; i < 16; i++)
				k[i] ^= d[i];
	}
	return memcmp(k, zero_key, 16) != 0;
}

bool vd_idset_has(const struct vd_idset *s, const char *uuid, const char *sha_hex)
{
	uint8_t k[16];

	if (!event_key(uuid, sha_hex, k))
		return false;
	return table_has(s->cur, s->cap, k) || table_has(s->old, s->cap, k);
}

void vd_idset_add(struct vd_idset *s, const char *uuid, const char *sha_hex)
{
	uint8_t k[16];
	size_t i;

	if (!event_key(uuid, sha_hex, k) || !s->cur)
		return;
	if (table_has(s->cur, s->cap, k))
		return;
	/* Half full: the old generation is forgotten and its memory becomes
	 * the new one (half full keeps probing short). */
	if (s->cur_n >= s->cap / 2) {
		uint8_t(*fresh)[16] = s->old;

		memset(fresh, 0, s->cap * 16);
		s->old = s->cur;
		s->cur = fresh;
		s->cur_n = 0;
	}
	for (i = slot_of(k, s->cap); memcmp(s->cur[i], zero_key, 16); i = (i + 1) & (s->cap - 1))
		;
	memcpy(s->cur[i], k, 16);
	s->cur_n++;
}

char *vd_json_take(json_t *o, size_t flags, size_t *len)
{
	char *s = o ? json_dumps(o, flags) : NULL;
	char *copy = NULL;

	json_decref(o);
	if (!s)
		return NULL;
	*len = strlen(s);
	copy = vg_malloc(*len + 1);
	if (copy)
		memcpy(copy, s, *len + 1);
	free(s);
	return copy;
}
