/*
 * tap.h: the test helper of hvima's C tests. Each program prints TAP
 * ("ok N - name", "not ok N - name", "# SKIP reason") and exits non-zero
 * if any check failed; tests/run-tests adds the results up.
 *
 * A test is a function named after the failure it covers; CHECK records a
 * failed condition with its file and line and the test goes on.
 */
#ifndef HVIMA_TAP_H
#define HVIMA_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_n, tap_failed, tap_cur_failed;

#define CHECK(cond)                                                                      \
	do {                                                                             \
		if (!(cond)) {                                                           \
			printf("#   %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
			tap_cur_failed = 1;                                              \
		}                                                                        \
	} while (0)

#define CHECKF(cond, ...)                                                        \
	do {                                                                     \
		if (!(cond)) {                                                   \
			printf("#   %s:%d: check failed: %s: ", __FILE__, __LINE__, #cond); \
			printf(__VA_ARGS__);                                     \
			printf("\n");                                            \
			tap_cur_failed = 1;                                      \
		}                                                                \
	} while (0)

static inline void tap_run(const char *name, void (*fn)(void))
{
	tap_cur_failed = 0;
	fn();
	tap_n++;
	if (tap_cur_failed)
		tap_failed++;
	printf("%s %d - %s\n", tap_cur_failed ? "not ok" : "ok", tap_n, name);
	fflush(stdout);
}

static inline void tap_skip(const char *name, const char *why)
{
	tap_n++;
	printf("ok %d - %s # SKIP %s\n", tap_n, name, why);
}

/* A result computed outside a test function (a loop over files). */
static inline void tap_result(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline void tap_result(int ok, const char *fmt, ...)
{
	va_list ap;
	tap_n++;
	if (!ok)
		tap_failed++;
	printf("%s %d - ", ok ? "ok" : "not ok", tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

#define RUN(fn) tap_run(#fn, fn)

static inline int tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

#endif
