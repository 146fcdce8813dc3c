/* A small TAP (Test Anything Protocol) library for the C tests: plan, ok/not ok, skips,
 * and assertion macros that report file:line and the values that differed. */
#ifndef DYNOHOST_TESTS_TAP_H
#define DYNOHOST_TESTS_TAP_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "common/cleanup.h"

/* Announce the plan up front (n > 0) or let tap_done() print it at the end (n == 0). */
void tap_plan(int n);
/* Skip the whole program: prints "1..0 # SKIP reason" and exits 77. */
_noreturn_ void tap_skip_all(const char *fmt, ...) _printf_(1, 2);
/* Record one test point; returns cond so callers can chain. */
bool tap_ok(bool cond, const char *fmt, ...) _printf_(2, 3);
void tap_skip(const char *fmt, ...) _printf_(1, 2);
void tap_diag(const char *fmt, ...) _printf_(1, 2);
/* Print the trailing plan if needed; returns the exit status for main (0 all good, 1 otherwise). */
int tap_done(void);
/* Exit with a "Bail out!" line. */
_noreturn_ void tap_bail(const char *fmt, ...) _printf_(1, 2);
/* Whether the caller is root (integration tests skip otherwise). */
bool tap_is_root(void);

#define TAP_WHERE __FILE__, __LINE__

bool tap_check_int(bool ok, const char *file, int line, const char *expr, long long a,
		   long long b, const char *name);
bool tap_check_str(const char *file, int line, const char *expr, const char *a, const char *b,
		   const char *name);

#define ok(cond, ...) tap_ok(!!(cond), __VA_ARGS__)
#define is_int(a, b, name)                                                                         \
	({                                                                                         \
		long long _a_ = (long long)(a), _b_ = (long long)(b);                              \
		tap_check_int(_a_ == _b_, TAP_WHERE, #a " == " #b, _a_, _b_, (name));              \
	})
#define is_str(a, b, name) tap_check_str(TAP_WHERE, #a " == " #b, (a), (b), (name))

#endif
