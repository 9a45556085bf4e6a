/*
 * pack.c - the embedded default pack (rules_pack.c, generated from the .yml files
 * of rules/ by scripts/embed-rules) behind the public API.
 */
#include "pack.h"
#include "rules_int.h"

#include <errno.h>
#include <stdio.h>

size_t rules_pack_count(void)
{
	return rules_pack_n;
}

int rules_pack_file(size_t i, const char **name, const char **text, size_t *len)
{
	if (i >= rules_pack_n)
		return -ENOENT;
	*name = rules_pack[i].name;
	*text = rules_pack[i].text;
	*len = rules_pack[i].len;
	return 0;
}

int rules_add_default_pack(struct rules_set *set)
{
	char name[256];
	int rc;

	for (size_t i = 0; i < rules_pack_n; i++) {
		/* Named as in the source tree, so diagnostics point at the file. */
		snprintf(name, sizeof(name), "rules/%s", rules_pack[i].name);
		rc = rules_add_text(set, name, rules_pack[i].text, rules_pack[i].len);
		if (rc < 0)
			return rc;
	}
	return 0;
}
