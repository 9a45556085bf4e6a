/*
 * lines.c - reading JSON Lines input (import, rules test) with a bound on
 * the memory one line may take.
 */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Nothing but spaces, tabs and CRs (a CRLF file's empty lines). */
static bool blank_line(const struct vbuf *line)
{
	for (size_t i = 0; i < line->len; i++)
		if (line->data[i] != ' ' && line->data[i] != '\t' && line->data[i] != '\r')
			return false;
	return true;
}

int cli_read_lines(FILE *f, size_t max_line, cli_line_fn fn, void *arg)
{
	struct vbuf line;
	char chunk[65536];
	uint64_t lineno = 1;
	bool too_long = false, go = true;
	size_t n;
	int rc = 0, saved;

	/* The line buffer's own limit is the line limit: an append that fails
	 * marks the line too long, and the rest of it up to the newline is
	 * dropped instead of buffered. */
	vbuf_init(&line, max_line);
	while (go && (n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		size_t off = 0;

		while (go && off < n) {
			char *nl = memchr(chunk + off, '\n', n - off);
			size_t take = nl ? (size_t)(nl - (chunk + off)) : n - off;

			if (!too_long && vbuf_append(&line, chunk + off, take) < 0) {
				too_long = true;
				vbuf_reset(&line);
			}
			off += take;
			if (!nl)
				break;
			off++; /* the newline */
			if (too_long || !blank_line(&line))
				go = fn(arg, lineno, (const char *)line.data, line.len, too_long);
			too_long = false;
			vbuf_reset(&line);
			lineno++;
		}
	}
	/* A failed read may have cut the last line short: it is not handed on. */
	if (ferror(f)) {
		rc = -EIO;
		goto out;
	}
	/* A last line without a newline. */
	if (go && (too_long || !blank_line(&line)))
		fn(arg, lineno, (const char *)line.data, line.len, too_long);
out:
	saved = errno;
	vbuf_release(&line);
	errno = saved;
	return rc;
}
