/*
 * timeutil.c - clocks, RFC 3339 times (formatting and the one parser),
 * duration and size parsing, randomness.
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

/* Reads exactly n digits at *p and moves past them. */
static bool read_digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++, (*p)++) {
		if (**p < '0' || **p > '9')
			return false;
		v = v * 10 + (**p - '0');
	}
	*out = v;
	return true;
}

static int month_days(int y, int mo)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return mo == 2 && leap ? 29 : days[mo - 1];
}

/*
 * "hh:mm:ss[.fraction]" and the zone ("Z", "+hh:mm", "-hh:mm") at *p: the
 * seconds to add to the date's UTC midnight (the offset taken off) and the
 * fraction in ns.  A second of 60 (a leap second) is the next minute's 0.
 */
static int parse_clock(const char **p, int64_t *secs, uint64_t *frac)
{
	uint64_t scale = 1000000000ull;
	int h, mi, sec, oh = 0, om = 0, sign = 0;

	if (!read_digits(p, 2, &h) || *(*p)++ != ':' || !read_digits(p, 2, &mi) || *(*p)++ != ':' ||
	    !read_digits(p, 2, &sec) || h > 23 || mi > 59 || sec > 60)
		return -EINVAL;
	if (**p == '.') {
		(*p)++;
		if (**p < '0' || **p > '9')
			return -EINVAL;
		for (; **p >= '0' && **p <= '9'; (*p)++) {
			if (scale > 1) {
				scale /= 10;
				*frac += (uint64_t)(**p - '0') * scale;
			}
		}
	}
	if (**p == 'Z' || **p == 'z') {
		(*p)++;
	} else if (**p == '+' || **p == '-') {
		sign = *(*p)++ == '+' ? 1 : -1;
		if (!read_digits(p, 2, &oh) || *(*p)++ != ':' || !read_digits(p, 2, &om) ||
		    oh > 23 || om > 59)
			return -EINVAL;
	} else {
		return -EINVAL; /* a time without a zone is ambiguous */
	}
	*secs = (int64_t)h * 3600 + mi * 60 + sec - sign * (oh * 3600 + om * 60);
	return 0;
}

int vg_parse_time(const char *s, unsigned flags, uint64_t *ns)
{
	struct tm tm = { 0 };
	const char *p = s;
	int64_t secs = 0;
	uint64_t frac = 0;
	int y, mo, d;
	time_t t;

	if (!s || !read_digits(&p, 4, &y) || *p++ != '-' || !read_digits(&p, 2, &mo) ||
	    *p++ != '-' || !read_digits(&p, 2, &d) || y < 1970 || mo < 1 || mo > 12 || d < 1 ||
	    d > month_days(y, mo))
		return -EINVAL;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		p++;
		if (parse_clock(&p, &secs, &frac) < 0)
			return -EINVAL;
	} else if (!(flags & VG_TIME_DATE)) {
		return -EINVAL;
	}
	if (*p)
		return -EINVAL;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	t = timegm(&tm) + secs;
	/* Before the epoch, or past what ns since it hold in 64 bits. */
	if (t < 0 || (uint64_t)t >= UINT64_MAX / 1000000000ull)
		return -EINVAL;
	*ns = (uint64_t)t * 1000000000ull + frac;
	return 0;
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

