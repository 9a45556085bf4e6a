/*
 * filechange.c - what a Write, Edit or MultiEdit did to its file, computed
 * from the PostToolUse payload alone (so `vigil reindex` over the stored
 * payloads gives the same answer as the daemon did live):
 *
 *   before   SHA-256 of tool_response.originalFile; no originalFile on a
 *            Write means the file was created (unless the response says
 *            "type": "update": then the old contents are just unknown).
 *   after    Write: SHA-256 of tool_input.content.  Edit / MultiEdit: the
 *            edits replayed on originalFile (first occurrence, or every one
 *            with replace_all; MultiEdit's edits in order), then hashed.  An
 *            edit whose old_string is not found (Claude Code may have matched
 *            it after normalizing quotes) or a missing originalFile leaves
 *            the after hash unknown rather than guessing.  An empty
 *            old_string on a missing file creates it, as Claude Code does.
 *   lines    counted from tool_response.structuredPatch[].lines ('+' added,
 *            '-' removed) when the agent sent a patch, else by a simple line
 *            diff of before and after (a created file: every line added; see
 *            diff_count).
 *
 * Hashes cover the original strings, before any redaction or truncation,
 * so they can be checked against the file on disk.  The work is bounded:
 * the payload is capped by max_input, a replayed result by FC_MAX_RESULT
 * and the bytes a replay scans by FC_MAX_WORK.
 */
#include "pipeline.h"
#include "pipeline_int.h"

#include "common.h"

#include <errno.h>
#include <stdlib.h>

struct text {
	const char *p;
	size_t n;
};

static bool get_text(const json_t *o, const char *key, struct text *t)
{
	const json_t *v = json_is_object(o) ? json_object_get(o, key) : NULL;

	if (!json_is_string(v))
		return false;
	t->p = json_string_value(v);
	t->n = json_string_length(v);
	return true;
}

/* Lines in s: each '\n' ends one, and a last line may lack it. */
static uint64_t count_lines(const char *s, size_t n)
{
	uint64_t k = 0;

	for (size_t i = 0; i < n; i++)
		if (s[i] == '\n')
			k++;
	if (n > 0 && s[n - 1] != '\n')
		k++;
	return k;
}

/* FNV-1a of each line of s (the '\n' excluded) into a new array; NULL: no memory. */
static uint64_t *line_hashes(struct text s, size_t *count)
{
	size_t n = count_lines(s.p, s.n), k = 0;
	uint64_t *v = vg_malloc((n ? n : 1) * sizeof(*v)), h = BASE_FNV_OFFSET;

	if (!v)
		return NULL;
	for (size_t i = 0; i < s.n; i++) {
		if (s.p[i] == '\n') {
			v[k++] = h;
			h = BASE_FNV_OFFSET;
			continue;
		}
		h = base_fnv1a_step(h, (uint8_t)s.p[i]);
	}
	if (s.n > 0 && s.p[s.n - 1] != '\n')
		v[k++] = h;
	*count = k;
	return v;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * A simple line diff count: the whole lines a and b share at the start and
 * at the end are unchanged; in the middle, lines are compared as multisets
 * (a line of a with an equal line in b is unchanged, wherever it moved), the
 * rest of a counts as removed and the rest of b as added.  O(n log n) and
 * never worse than a real diff's count by more than moved lines.  Without
 * memory for the middle, all of it counts as changed.
 */
static void diff_count(struct text a, struct text b, uint64_t *added, uint64_t *removed)
{
	size_t i = 0, p = 0, j = 0, keep = 0, na = 0, nb = 0, x = 0, y = 0;
	struct text ma, mb;
	uint64_t *ha, *hb;

	while (i < a.n && i < b.n && a.p[i] == b.p[i]) {
		if (a.p[i] == '\n')
			p = i + 1;
		i++;
	}
	if (i == a.n && i == b.n) {
		*added = *removed = 0;
		return;
	}
	/* The common suffix must start on a line start in both texts. */
	while (a.n - j > p && b.n - j > p && a.p[a.n - 1 - j] == b.p[b.n - 1 - j]) {
		j++;
		if ((a.n - j == p || a.p[a.n - j - 1] == '\n') &&
		    (b.n - j == p || b.p[b.n - j - 1] == '\n'))
			keep = j;
	}
	ma = (struct text){ a.p + p, a.n - keep - p };
	mb = (struct text){ b.p + p, b.n - keep - p };
	*removed = count_lines(ma.p, ma.n);
	*added = count_lines(mb.p, mb.n);
	ha = line_hashes(ma, &na);
	hb = ha ? line_hashes(mb, &nb) : NULL;
	if (ha && hb) {
		qsort(ha, na, sizeof(*ha), cmp_u64);
		qsort(hb, nb, sizeof(*hb), cmp_u64);
		while (x < na && y < nb) {
			if (ha[x] == hb[y]) {
				(*removed)--;
				(*added)--;
				x++;
				y++;
			} else if (ha[x] < hb[y]) {
				x++;
			} else {
				y++;
			}
		}
	}
	vg_free(ha);
	vg_free(hb);
}

/* Counts the '+' and '-' lines of structuredPatch; false when it has none. */
static bool patch_count(const json_t *patch, uint64_t *added, uint64_t *removed)
{
	bool any = false;

	*added = *removed = 0;
	if (!json_is_array(patch))
		return false;
	for (size_t h = 0; h < json_array_size(patch); h++) {
		const json_t *lines = json_object_get(json_array_get(patch, h), "lines");

		if (!json_is_array(lines))
			continue;
		any = true;
		for (size_t i = 0; i < json_array_size(lines); i++) {
			const char *l = json_string_value(json_array_get(lines, i));

			if (l && l[0] == '+')
				(*added)++;
			else if (l && l[0] == '-')
				(*removed)++;
		}
	}
	return any;
}

/*
 * Replays one edit of src into dst (reset first).  Returns 1 when applied,
 * 0 when it cannot be reproduced (old_string not found, or empty on a
 * non-empty file), -E2BIG past the bounds, -ENOMEM.
 */
static int apply_edit(struct text src, struct text old, struct text new, bool all,
		      struct vbuf *dst, size_t *work)
{
	const char *pos = src.p, *end = src.p + src.n, *at;
	bool found = false;
	int rc;

	vbuf_reset(dst);
	*work += src.n + old.n + 1;
	if (*work > FC_MAX_WORK)
		return -E2BIG;
	if (old.n == 0) {
		/* Claude Code only accepts an empty old_string to fill an empty or new file. */
		if (src.n != 0)
			return 0;
		return vbuf_append(dst, new.p, new.n) < 0 ? -E2BIG : 1;
	}
	while ((at = memmem(pos, (size_t)(end - pos), old.p, old.n)) != NULL) {
		if ((rc = vbuf_append(dst, pos, (size_t)(at - pos))) < 0 ||
		    (rc = vbuf_append(dst, new.p, new.n)) < 0)
			return rc;
		pos = at + old.n;
		found = true;
		if (!all)
			break;
	}
	if (!found)
		return 0;
	rc = vbuf_append(dst, pos, (size_t)(end - pos));
	return rc < 0 ? rc : 1;
}

/* Reads edit e ({old_string, new_string, replace_all?}); false when malformed. */
static bool get_edit(const json_t *e, struct text *old, struct text *new, bool *all)
{
	if (!get_text(e, "old_string", old) || !get_text(e, "new_string", new))
		return false;
	*all = json_is_true(json_object_get(e, "replace_all"));
	return true;
}

/*
 * Replays the Edit (one edit in ti) or MultiEdit (ti.edits) on base.
 * Returns 1 with the result in *out (pointing into a or b), 0 when it
 * cannot be reproduced, -ENOMEM.
 */
static int replay(const json_t *ti, bool multi, struct text base, struct vbuf *a, struct vbuf *b,
		  struct text *out)
{
	const json_t *edits = multi ? json_object_get(ti, "edits") : NULL;
	size_t count = multi ? json_array_size(edits) : 1, work = 0;
	struct text cur = base, old, new;
	struct vbuf *dst = a;
	bool all;
	int rc;

	if ((multi && (!json_is_array(edits) || count == 0)))
		return 0;
	for (size_t i = 0; i < count; i++) {
		if (!get_edit(multi ? json_array_get(edits, i) : ti, &old, &new, &all))
			return 0;
		rc = apply_edit(cur, old, new, all, dst, &work);
		if (rc == -ENOMEM)
			return rc;
		if (rc <= 0)
			return 0; /* not found or past the bounds: unknown */
		cur.p = (const char *)dst->data;
		cur.n = dst->len;
		dst = dst == a ? b : a;
	}
	*out = cur;
	return 1;
}

int fc_compute(const json_t *in, const char *hook, const char *tool, struct fc_result *r)
{
	const json_t *ti = json_object_get(in, "tool_input"), *tr = json_object_get(in, "tool_response");
	struct text orig = { "", 0 }, after = { NULL, 0 }, first_old;
	struct vbuf a, b;
	bool write, multi, has_orig, unused;
	int rc = 0;

	memset(r, 0, sizeof(*r));
	if (!hook || !tool || strcmp(hook, "PostToolUse") != 0)
		return 0;
	write = strcmp(tool, "Write") == 0;
	multi = strcmp(tool, "MultiEdit") == 0;
	if (!write && !multi && strcmp(tool, "Edit") != 0)
		return 0;
	vbuf_init(&a, FC_MAX_RESULT);
	vbuf_init(&b, FC_MAX_RESULT);
	has_orig = get_text(tr, "originalFile", &orig);
	if (has_orig) {
		if ((rc = vg_sha256_hex(orig.p, orig.n, r->before)) < 0)
			goto out;
		r->before_known = true;
	}
	if (write) {
		const json_t *type = json_object_get(tr, "type");

		r->created = !has_orig && !(json_is_string(type) &&
					    strcmp(json_string_value(type), "update") == 0);
		if (!get_text(ti, "content", &after))
			after.p = NULL;
	} else {
		struct text new;
		const json_t *e0 = multi ? json_array_get(json_object_get(ti, "edits"), 0) : ti;

		/* No original file: only an edit that starts from nothing can be replayed. */
		if (!has_orig && get_edit(e0, &first_old, &new, &unused) && first_old.n == 0)
			r->created = true;
		if (has_orig || r->created) {
			rc = replay(ti, multi, orig, &a, &b, &after);
			if (rc < 0)
				goto out;
			if (rc == 0)
				after.p = NULL;
		}
	}
	if (after.p) {
		if ((rc = vg_sha256_hex(after.p, after.n, r->after)) < 0)
			goto out;
		r->after_known = true;
	}
	if (patch_count(json_object_get(tr, "structuredPatch"), &r->added, &r->removed) &&
	    (r->added || r->removed)) {
		r->lines_known = true;
	} else if (after.p && (r->before_known || r->created)) {
		diff_count(orig, after, &r->added, &r->removed);
		r->lines_known = true;
	}
	rc = 1;
out:
	vbuf_release(&a);
	vbuf_release(&b);
	return rc;
}
