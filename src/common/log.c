/*
 * log.c - the diagnostic logger (one line per message on stderr, prefixed
 * with the program name) and structured diagnostics.  The logger is the only
 * global state besides signal flags (house style): it is configured once at
 * start-up and read afterwards.
 */
#include "common.h"

#include <stdio.h>

static enum vg_log_level log_level = VG_LOG_WARN;
static const char *log_prefix = "vigil";

void vg_log_set_level(enum vg_log_level level)
{
	log_level = level;
}

void vg_log_set_prefix(const char *prefix)
{
	log_prefix = prefix;
}

void vg_log(enum vg_log_level level, const char *fmt, ...)
{
	static const char *const names[] = { "error", "warning", "info", "debug" };
	char line[2048];
	va_list ap;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* One fprintf per line so concurrent threads do not interleave. */
	fprintf(stderr, "%s: %s: %s\n", log_prefix, names[level], line);
}

/* ---- diagnostics --------------------------------------------------------------- */

void vg_diag_clear(struct vg_diag *d)
{
	memset(d, 0, sizeof(*d));
	d->index = -1;
}

void vg_diag_set(struct vg_diag *d, enum vg_diag_code code, long index, const char *section,
		 const char *key, const char *fmt, ...)
{
	va_list ap;

	if (!d)
		return;
	d->code = code;
	d->index = index;
	snprintf(d->section, sizeof(d->section), "%s", section ? section : "");
	snprintf(d->key, sizeof(d->key), "%s", key ? key : "");
	va_start(ap, fmt);
	vsnprintf(d->msg, sizeof(d->msg), fmt, ap);
	va_end(ap);
}
