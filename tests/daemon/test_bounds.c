/*
 * test_bounds.c - what vigild keeps in memory stays within its stated
 * limits whatever it is fed: the id set of appended events (VD_IDSET_SLOTS).
 * Each test feeds several times the limit and checks the size after every
 * step.
 */
#include "daemon.h"
#include "tap.h"

#include <stdio.h>
#include <string.h>

/* The i-th UUIDv7-shaped id (time part from i, random part scrambled). */
static void nth_id(uint64_t i, char out[37])
{
	uint64_t r = (i + 1) * 0x9e3779b97f4a7c15ull;

	snprintf(out, 37, "%08llx-%04llx-7%03llx-8%03llx-%012llx", (unsigned long long)(i >> 16),
		 (unsigned long long)(i & 0xffff), (unsigned long long)(r >> 52),
		 (unsigned long long)((r >> 40) & 0xfff),
		 (unsigned long long)(r & 0xffffffffffffull));
}

static void test_idset(void)
{
	struct vd_idset s;
	const size_t cap = 1u << 12, fed = 10 * cap;
	uint8_t(*cur)[16], (*old)[16];
	bool same_memory = true, recent = true;
	size_t max_n = 0;
	char id[37];

	TAP_OK(vd_idset_init(&s, cap) == 0 && s.cap == cap && s.cur && s.old,
	       "init: both generations of %zu slots allocated", cap);
	cur = s.cur;
	old = s.old;
	for (size_t i = 0; i < fed; i++) {
		nth_id(i, id);
		vd_idset_add(&s, id, NULL);
		max_n = s.cur_n > max_n ? s.cur_n : max_n;
		/* Never other memory than the two tables of init. */
		if (!((s.cur == cur && s.old == old) || (s.cur == old && s.old == cur)))
			same_memory = false;
	}
	TAP_OK(same_memory && s.cap == cap, "%zu ids fed: still the two tables of init (%zu bytes)",
	       fed, 2 * cap * 16);
	TAP_OK(max_n <= cap / 2, "a generation never held more than cap/2 = %zu (%zu)", cap / 2,
	       max_n);
	for (size_t i = fed - cap / 2; i < fed; i++) {
		nth_id(i, id);
		if (!vd_idset_has(&s, id, NULL))
			recent = false;
	}
	TAP_OK(recent, "the last cap/2 = %zu ids are all still known", cap / 2);
	nth_id(0, id);
	TAP_OK(!vd_idset_has(&s, id, NULL), "the first id was forgotten");
	vd_idset_free(&s);

	TAP_OK(vd_idset_init(&s, VD_IDSET_SLOTS) == 0 && s.cap == VD_IDSET_SLOTS,
	       "vigild's id set: %u slots a generation, %u bytes in all", VD_IDSET_SLOTS,
	       2 * VD_IDSET_SLOTS * 16);
	vd_idset_free(&s);
}

int main(void)
{
	test_idset();
	return tap_done();
}
