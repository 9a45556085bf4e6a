/*
 * timeutil.c - clocks, time formatting, duration/size parsing, randomness
 * and UUIDv7.
 */
#include "common.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>
#include <time.h>

uint64_t vg_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t vg_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void vg_format_time(uint64_t ns, char *out, size_t cap)
{
	time_t secs = (time_t)(ns / 1000000000ull);
	unsigned ms = (unsigned)(ns % 1000000000ull / 1000000u);
	struct tm tm;
	char date[32];

	if (!gmtime_r(&secs, &tm) || !strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm)) {
		snprintf(out, cap, "@%" PRIu64, ns);
		return;
	}
	snprintf(out, cap, "%s.%03uZ", date, ms);
}

static int parse_scaled(const char *s, uint64_t *out, const char *units, const uint64_t *mult)
{
	char *end;
	unsigned long long v;
	uint64_t m = 1;

	/* Digits first: strtoull would also skip blanks and take a sign, so " -1"
	 * would wrap around to UINT64_MAX. */
	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	if (*end) {
		const char *u = strchr(units, *end);

		if (!u || end[1])
			return -EINVAL;
		m = mult[u - units];
	}
	if (m && v > UINT64_MAX / m)
		return -EINVAL;
	*out = (uint64_t)v * m;
	return 0;
}

int vg_parse_duration(const char *s, uint64_t *seconds)
{
	static const uint64_t mult[] = { 1, 60, 3600, 86400 };

	return parse_scaled(s, seconds, "smhd", mult);
}

int vg_parse_size(const char *s, uint64_t *bytes)
{
	static const uint64_t mult[] = { 1024, 1024 * 1024, 1024ull * 1024 * 1024,
					 1024, 1024 * 1024, 1024ull * 1024 * 1024 };

	return parse_scaled(s, bytes, "KMGkmg", mult);
}

int vg_random(void *buf, size_t n)
{
	uint8_t *p = buf;

	while (n) {
		ssize_t r = getrandom(p, n, 0);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

