/*
 * config_int.h - what the files of src/config/ share.  Internal.
 */
#ifndef VIGIL_CONFIG_INT_H
#define VIGIL_CONFIG_INT_H

#include "config.h"

#include <stdarg.h>

struct yj_doc;

/* Adds a diagnostic to d (config_diag.c); errors are counted even when
 * CONFIG_MAX_DIAGS drops the text. */
void cfg_diag(struct config_diags *d, bool warning, int line, int col, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
void cfg_diag_v(struct config_diags *d, bool warning, int line, int col, const char *fmt,
		va_list ap) __attribute__((format(printf, 5, 0)));
/* The closest of names[0..n) to key (case and -/_ ignored), or NULL when none is close
 * (config_diag.c). */
const char *cfg_suggest(const char *key, const char *const *names, size_t n);
/*
 * ~ and ~/x -> $HOME..., relative -> dir/in, absolute as is.  0, or -errno
 * with a reason in err.
 */
int cfg_expand_path(const char *dir, const char *in, char *out, size_t cap, char *err,
		    size_t errcap);
/* The parsed document behind c (locations), NULL when no file was loaded. */
const struct yj_doc *cfg_doc(const struct config *c);

/* config.c: s is one of the NULL-terminated choices; the policies of
 * decisions.unparseable, the default first. */
bool cfg_in_choices(const char *s, const char *const *choices);
extern const char *const cfg_unparseable_policies[];
/*
 * Checks the alerts section with notify_check_config() (config_alerts.c),
 * every channel on its own so that each bad channel is reported, at the
 * line of the channel or of the key the notifier named.  Adds errors to d;
 * returns the number added (>= 0) or -ENOMEM.  config_load_text() calls it.
 */
int cfg_check_alerts(const struct config *c, struct config_diags *d);

#endif
