/*
 * tap.h - a minimal TAP producer for vigil's C tests.  Each check prints
 * "ok N - name" or "not ok N - name" with the failing expression and
 * location; tap_done() prints the plan and returns the exit status.
 * scripts/test counts these lines across every suite.
 *
 *   TAP_OK(expr, "name %d", i);     a check that must hold
 *   TAP_EQ_U64(a, b, "name");       equality with both values shown on failure
 *   TAP_SKIP("reason");             a skipped check
 */
#ifndef VIGIL_TAP_H
#define VIGIL_TAP_H

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

static inline void tap_result(int ok, const char *file, int line, const char *expr,
			      const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static inline void tap_result(int ok, const char *file, int line, const char *expr,
			      const char *fmt, ...)
{
	va_list ap;

	printf("%s %d - ", ok ? "ok" : "not ok", ++tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!ok) {
		tap_failed++;
		printf("#   failed: %s\n#   at %s:%d\n", expr, file, line);
	}
	fflush(stdout);
}

#define TAP_OK(expr, ...) tap_result(!!(expr), __FILE__, __LINE__, #expr, __VA_ARGS__)

#define TAP_EQ_U64(a, b, ...)                                                              \
	do {                                                                               \
		uint64_t tap_a_ = (uint64_t)(a), tap_b_ = (uint64_t)(b);                   \
		tap_result(tap_a_ == tap_b_, __FILE__, __LINE__, #a " == " #b, __VA_ARGS__); \
		if (tap_a_ != tap_b_)                                                      \
			printf("#   got %" PRIu64 ", expected %" PRIu64 "\n", tap_a_, tap_b_); \
	} while (0)

#define TAP_SKIP(...)                                                                      \
	do {                                                                               \
		printf("ok %d - ", ++tap_n);                                               \
		printf(__VA_ARGS__);                                                       \
		printf(" # SKIP\n");                                                       \
	} while (0)

#define TAP_DIAG(...)                                                                      \
	do {                                                                               \
		printf("# ");                                                              \
		printf(__VA_ARGS__);                                                       \
		printf("\n");                                                              \
	} while (0)

static inline int tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

#endif
