/*
 * shtest.h - what the shell tests (corpus, sh_dump, fuzz, bench) assume about
 * the machine: the directory, $HOME and user the corpus's expectations were
 * written for, and the home directories of two other users.
 */
#ifndef VIGIL_TESTS_SHTEST_H
#define VIGIL_TESTS_SHTEST_H

#include "shell.h"

#include <stdio.h>
#include <string.h>

static inline int shtest_home_of(void *arg, const char *user, char *out, size_t cap)
{
	const char *h = !strcmp(user, "root")	 ? "/root"
			: !strcmp(user, "alice") ? "/home/alice"
						 : NULL;

	(void)arg;
	if (!h || strlen(h) >= cap)
		return -1;
	memcpy(out, h, strlen(h) + 1);
	return 0;
}

static inline struct sh_opts shtest_opts(void)
{
	struct sh_opts o = {
		.cwd = "/home/u/proj", .home = "/home/u", .user = "u", .home_of = shtest_home_of
	};

	return o;
}

#endif
