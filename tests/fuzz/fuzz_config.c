/*
 * fuzz_config.c - fuzz target for src/config: vigil.yaml text through
 * config_load_text() (YAML, schema validation, secret references, paths,
 * the alerts check) and, when it loads, the typed accessors.
 *
 * Oracles (abort on violation): the result is 0 or a known error; a failed
 * load has at least one error diagnostic and no config; a loaded one has no
 * error, and its accessors return values inside the documented ranges; every
 * diagnostic formats to one line.  ${file:...} references are confined: the
 * target runs with HOME and the config's directory set to an empty
 * temporary directory, and the environment variable it knows holds a
 * marker that must never appear in a diagnostic.
 */
#include "config.h"
#include "common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MARKER "fuzz-secret-9f3b"

static char dir[128];

static void check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_config: oracle failed: %s\n", what);
		abort();
	}
}

static void remove_dir(void)
{
	rmdir(dir); /* nothing is written into it */
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	json_set_alloc_funcs(vg_malloc, vg_free);
	snprintf(dir, sizeof(dir), "/tmp/vigil-fuzz-config-XXXXXX");
	if (!mkdtemp(dir))
		abort();
	atexit(remove_dir);
	setenv("HOME", dir, 1);
	setenv("FUZZ_TOKEN", MARKER, 1);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config_diags d = { 0 };
	struct config *c = NULL;
	char name[200], line[8192];
	int rc;

	snprintf(name, sizeof(name), "%s/vigil.yaml", dir);
	rc = config_load_text(name, (const char *)data, size, &c, &d);
	check(rc == 0 || rc == -EINVAL || rc == -EFBIG || rc == -ENOMEM, "known return code");
	if (rc < 0) {
		check(!c, "no config on failure");
		check(d.errors > 0 || rc == -ENOMEM, "a failure has an error");
	} else {
		const json_t *t = config_tree(c);

		check(c && d.errors == 0, "success has no error");
		check(config_decisions_timeout_ms(t) >= 10 &&
			      config_decisions_timeout_ms(t) <= 60000,
		      "timeout_ms in range");
		check(config_daemon_workers(t) <= 64, "workers in range");
		check(config_daemon_max_string(t) >= 16 &&
			      config_daemon_max_string(t) <= (1u << 24),
		      "max_string in range");
		check(config_rules_regex_match_limit(t) >= 1000, "regex limit in range");
		check(config_rules_path_count(t) <= CONFIG_MAX_LIST, "paths bounded");
		for (size_t i = 0; i < config_rules_path_count(t); i++)
			check(config_rules_path(t, i) && config_rules_path(t, i)[0] == '/',
			      "rule paths are absolute");
	}
	for (size_t i = 0; i < d.n; i++) {
		config_diag_format(&d, &d.v[i], line, sizeof(line));
		check(!strchr(line, '\n'), "a diagnostic is one line");
		check(!strstr(line, MARKER), "a secret never appears in a diagnostic");
	}
	config_free(c);
	config_diags_release(&d);
	return 0;
}
