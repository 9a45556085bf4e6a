/*
 * config_get.c - typed reads of a loaded, validated vigil.yaml tree: what
 * each key holds, or its default when the file says nothing.  config.c
 * loads and validates; these never fail (a value the schema refused never
 * reaches them).
 */
#include "config.h"
#include "config_int.h"

#include <string.h>

/* ---- typed accessors ----------------------------------------------------------------- */

static const json_t *get2(const json_t *conf, const char *section, const char *key)
{
	return json_object_get(json_object_get(conf, section), key);
}

bool config_rules_default_pack(const json_t *conf)
{
	const json_t *v = get2(conf, "rules", "default_pack");

	return v ? json_is_true(v) : true;
}

size_t config_rules_path_count(const json_t *conf)
{
	return json_array_size(get2(conf, "rules", "paths"));
}

const char *config_rules_path(const json_t *conf, size_t i)
{
	return json_string_value(json_array_get(get2(conf, "rules", "paths"), i));
}

const json_t *config_rules_overrides(const json_t *conf)
{
	const json_t *v = get2(conf, "rules", "overrides");

	return json_is_object(v) && json_object_size(v) ? v : NULL;
}

uint64_t config_rules_regex_match_limit(const json_t *conf)
{
	const json_t *v = get2(conf, "rules", "regex_match_limit");

	return json_is_integer(v) ? (uint64_t)json_integer_value(v) : CONFIG_DEF_REGEX_MATCH_LIMIT;
}

uint32_t config_decisions_timeout_ms(const json_t *conf)
{
	const json_t *v = get2(conf, "decisions", "timeout_ms");

	return json_is_integer(v) ? (uint32_t)json_integer_value(v) : CONFIG_DEF_TIMEOUT_MS;
}

const char *config_decisions_unparseable(const json_t *conf)
{
	const char *s = json_string_value(get2(conf, "decisions", "unparseable"));

	return s && cfg_in_choices(s, cfg_unparseable_policies) ? s : cfg_unparseable_policies[0];
}

const json_t *config_alerts(const json_t *conf)
{
	const json_t *v = json_object_get(conf, "alerts");

	return json_is_object(v) ? v : NULL;
}

unsigned config_daemon_workers(const json_t *conf)
{
	const json_t *v = get2(conf, "daemon", "workers");

	return json_is_integer(v) ? (unsigned)json_integer_value(v) : 0;
}

size_t config_daemon_max_string(const json_t *conf)
{
	const json_t *v = get2(conf, "daemon", "max_string");

	return json_is_integer(v) ? (size_t)json_integer_value(v) : CONFIG_DEF_MAX_STRING;
}

uint64_t config_daemon_abandon_ns(const json_t *conf)
{
	const json_t *v = get2(conf, "daemon", "abandon_after");
	uint64_t s = json_is_integer(v) ? (uint64_t)json_integer_value(v) : CONFIG_DEF_ABANDON_S;

	return s * 1000000000ull;
}

uint64_t config_daemon_client_timeout_ns(const json_t *conf)
{
	const json_t *v = get2(conf, "daemon", "client_timeout");
	uint64_t s = json_is_integer(v) ? (uint64_t)json_integer_value(v)
					: CONFIG_DEF_CLIENT_TIMEOUT_S;

	return s * 1000000000ull;
}

const char *config_daemon_state_dir(const json_t *conf)
{
	return json_string_value(get2(conf, "daemon", "state_dir"));
}

const char *config_daemon_user(const json_t *conf)
{
	return json_string_value(get2(conf, "daemon", "user"));
}
