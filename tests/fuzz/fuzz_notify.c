/*
 * fuzz_notify.c - fuzz target for src/notify's two inputs: the `alerts`
 * configuration and the alert records the daemon submits.  The first byte
 * picks the mode (its low bit, so corpus files can start with '0' or '1'):
 *
 *   0  the rest as JSON: an `alerts` section for notify_check_config()
 *   1  the rest as JSON: an alert record, copied (nf_msg_from_record) and
 *      rendered as every kind of notification in every channel format
 *
 * Oracles (abort on violation): a configuration is accepted or refused with
 * a message naming `alerts`; every rendering of an accepted record exists
 * (so it is valid UTF-8 and within its limits); the one-line text has no
 * control character; a mail has CRLF line endings only and no header line
 * that does not start with a known name (no header injection); a syslog
 * line fits its buffer and holds one line.
 */
#include "notify_int.h"
#include "render.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_notify: oracle failed: %s\n", what);
		abort();
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	render_setup();
	return 0;
}

static void fuzz_config(const json_t *j)
{
	struct vg_diag d;
	int rc = notify_check_config(j, &d);

	check(rc == 0 || rc == -EINVAL || rc == -ENOMEM, "config: rc is 0, -EINVAL or -ENOMEM");
	if (rc == -EINVAL) {
		check(strncmp(d.msg, "alerts", 6) == 0, "config: the error names alerts");
		check(d.code != VG_DIAG_NONE && d.code != VG_DIAG_NOMEM, "config: a code is set");
		check(d.index >= -1 && d.index < 64, "config: the index is a channel's or -1");
	}
}

static void check_mail(const struct vbuf *b)
{
	static const char *const names[] = { "Date:", "From:", "To:", "Subject:", "Message-ID:",
					     "MIME-Version:", "Content-Type:",
					     "Content-Transfer-Encoding:", "Auto-Submitted:",
					     "X-Vigil-Severity:", "X-Vigil-Alert:", " ", NULL };
	const char *p = (const char *)b->data, *end = p + b->len;
	bool in_headers = true;

	for (size_t i = 0; i < b->len; i++)
		if (p[i] == '\n')
			check(i > 0 && p[i - 1] == '\r', "mail: LF without CR");
		else if (p[i] == '\r')
			check(i + 1 < b->len && p[i + 1] == '\n', "mail: CR without LF");
	while (in_headers && p < end) {
		const char *eol = strstr(p, "\r\n");
		bool known = false;

		check(eol != NULL, "mail: headers end with CRLF");
		if (eol == p)
			break;
		for (size_t i = 0; names[i]; i++)
			if (strncmp(p, names[i], strlen(names[i])) == 0)
				known = true;
		check(known, "mail: every header line is one vigil writes");
		p = eol + 2;
	}
}

static void fuzz_record(const json_t *j)
{
	static const enum nf_msg_kind kinds[] = { NF_MSG_ALERT, NF_MSG_REPEAT, NF_MSG_SUMMARY,
						NF_MSG_UPDATE };
	struct nf_msg *m = NULL;
	struct vbuf mail;
	char line[2400];

	if (nf_msg_from_record(j, "host", 1795453201123000000ull, &m) < 0)
		return;
	vbuf_init(&mail, NF_BODY_MAX);
	for (size_t k = 0; k < VG_ARRAY_LEN(kinds); k++) {
		json_t *r[5], *t;
		int len;

		m->kind = kinds[k];
		m->more = 3;
		m->since_ns = 1795453200000000000ull;
		nf_msg_render_text(m);
		for (const char *p = m->text; *p; p++)
			check((unsigned char)*p >= 0x20 && *p != 0x7f, "text: no control characters");
		t = json_string(m->text);
		check(t != NULL, "text: valid UTF-8");
		json_decref(t);
		r[0] = render_json(R_WEBHOOK, m);
		r[1] = render_json(R_SLACK, m);
		r[2] = render_json(R_TEAMS, m);
		r[3] = render_json(R_CARD, m);
		r[4] = render_json(R_GRAFANA, m);
		for (size_t i = 0; i < VG_ARRAY_LEN(r); i++) {
			check(r[i] != NULL, "every JSON rendering exists");
			json_decref(r[i]);
		}
		check(render(R_EMAIL, m, "host", &mail) == 0, "mail rendered");
		check_mail(&mail);
		len = render_line(m, line, sizeof(line));
		check(len > 0 && (size_t)len < sizeof(line), "syslog: fits");
		check(!strchr(line, '\n') && !strchr(line, '\r'), "syslog: one line");
	}
	vbuf_release(&mail);
	nf_msg_unref(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *j;

	if (size < 1 || size > (1u << 16))
		return 0;
	j = json_loadb((const char *)data + 1, size - 1, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
	if (!j)
		return 0;
	if (data[0] & 1)
		fuzz_record(j);
	else
		fuzz_config(j);
	json_decref(j);
	return 0;
}
