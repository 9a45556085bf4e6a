/*
 * base.c - the libc-only facts of base.h: the state directory, directories
 * made and synced, UUIDv7, hex and the agent list.
 */
#include "base.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int put(char *out, size_t cap, const char *a, const char *b)
{
	int n = snprintf(out, cap, "%s%s", a, b);

	if (n < 0 || (size_t)n >= cap) {
		if (cap)
			out[0] = '\0';
		return -ENAMETOOLONG;
	}
	return 0;
}

int base_state_dir(const char *override, char *out, size_t cap)
{
	const char *v;

	if (override && *override)
		return put(out, cap, override, "");
	v = getenv("VIGIL_STATE_DIR");
	if (v && *v)
		return put(out, cap, v, "");
	v = getenv("XDG_STATE_HOME");
	if (v && *v == '/')
		return put(out, cap, v, "/vigil");
	v = getenv("HOME");
	if (v && *v)
		return put(out, cap, v, "/.local/state/vigil");
	return -ENOENT;
}

int base_mkdir_p(const char *path, mode_t mode, bool *created)
{
	char tmp[4096];
	size_t n = strlen(path);

	if (created)
		*created = false;
	if (n == 0 || n >= sizeof(tmp))
		return -ENAMETOOLONG;
	memcpy(tmp, path, n + 1);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(tmp, mode) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, mode) == 0) {
		if (created)
			*created = true;
	} else if (errno != EEXIST) {
		return -errno;
	}
	return 0;
}

int base_fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

void base_uuid7_from(char out[BASE_UUID_LEN + 1], uint64_t ms, const uint8_t rnd[16])
{
	static const char hex[] = "0123456789abcdef";
	uint8_t b[16];
	int o = 0;

	memcpy(b, rnd, sizeof(b));
	for (int i = 0; i < 6; i++)
		b[i] = (uint8_t)(ms >> (40 - 8 * i));
	b[6] = (uint8_t)(0x70 | (b[6] & 0x0f)); /* version 7 */
	b[8] = (uint8_t)(0x80 | (b[8] & 0x3f)); /* RFC 9562 variant */
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[b[i] >> 4];
		out[o++] = hex[b[i] & 15];
	}
	out[o] = '\0';
}

int base_uuid7(char out[BASE_UUID_LEN + 1])
{
	uint8_t b[16];
	struct timespec ts;
	size_t got = 0;

	while (got < sizeof(b)) {
		ssize_t r = getrandom(b + got, sizeof(b) - got, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		got += (size_t)r;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	base_uuid7_from(out, (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u, b);
	return 0;
}

void base_hex_encode(const uint8_t *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = 0;
}

int base_hex_decode(const char *in, size_t inlen, uint8_t *out, size_t n)
{
	if (inlen != 2 * n)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		int hi = base_hexval(in[2 * i]), lo = base_hexval(in[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

const char *const base_agents[] = { "claude-code", "codex", "gemini", "cursor", "copilot",
				    "other", NULL };

bool base_agent_known(const char *name)
{
	for (size_t i = 0; name && base_agents[i]; i++)
		if (strcmp(name, base_agents[i]) == 0)
			return true;
	return false;
}

void base_agent_list(char *buf, size_t cap)
{
	size_t off = 0, n = 0;

	while (base_agents[n])
		n++;
	if (cap)
		buf[0] = '\0';
	for (size_t i = 0; i < n && off < cap; i++) {
		int w = snprintf(buf + off, cap - off, "%s%s", i == 0 ? "" : i + 1 == n ? " or " : ", ",
				 base_agents[i]);

		if (w < 0)
			break;
		off += (size_t)w;
	}
}
