/*
 * channels.c - the channel types vigil knows, one line each.  A new type is
 * a ch_NAME.c defining a struct nf_chan_type (notify_int.h says what each
 * callback does) and a line here; nothing else changes.  The order is the
 * order of the list in error messages.
 */
#include "notify_int.h"

#include <errno.h>

extern const struct nf_chan_type nf_ch_log, nf_ch_file, nf_ch_webhook, nf_ch_slack,
	nf_ch_teams, nf_ch_email, nf_ch_syslog, nf_ch_grafana;

const struct nf_chan_type *const nf_chan_types[] = {
	&nf_ch_log,
	&nf_ch_file,
	&nf_ch_webhook,
	&nf_ch_slack,
	&nf_ch_teams,
	&nf_ch_email,
	&nf_ch_syslog,
	&nf_ch_grafana,
	&nf_ch_session,
};

const size_t nf_chan_ntypes = VG_ARRAY_LEN(nf_chan_types);

const struct nf_chan_type *nf_chan_type_find(const char *name)
{
	for (size_t i = 0; i < nf_chan_ntypes; i++)
		if (strcmp(nf_chan_types[i]->name, name) == 0)
			return nf_chan_types[i];
	return NULL;
}

int nf_chan_render(const struct nf_chan_cfg *cfg, const char *hostname, const struct nf_msg *m,
		   struct vbuf *out)
{
	struct nf_chan c;

	if (!cfg->type->format)
		return -EOPNOTSUPP;
	memset(&c, 0, sizeof(c));
	c.cfg = *cfg;
	c.hostname = hostname;
	return cfg->type->format(&c, m, out);
}
