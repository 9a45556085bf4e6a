/*
 * output.c - how every vigil command speaks: error lines, usage errors and
 * terminal colours.
 */
#include "cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void cli_error(const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "vigil: error: %s\n", msg);
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "vigil %s: %s\nTry 'vigil %s --help'.\n", cmd, msg, cmd);
	return CLI_USAGE;
}

const char *cli_c(const struct cli *c, const char *code)
{
	static const char *const codes[][2] = {
		{ CLI_RED, "\033[31m" },   { CLI_GREEN, "\033[32m" }, { CLI_YELLOW, "\033[33m" },
		{ CLI_BOLD, "\033[1m" },   { CLI_RESET, "\033[0m" },
	};

	if (!c->color)
		return "";
	for (size_t i = 0; i < VG_ARRAY_LEN(codes); i++)
		if (!strcmp(codes[i][0], code))
			return codes[i][1];
	return "";
}
