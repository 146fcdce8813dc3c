/* TAP output for the C tests (see tap.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "tests/lib/tap.h"

static int tap_count, tap_failed, tap_planned = -1;

void tap_plan(int n)
{
	tap_planned = n;
	if (n > 0)
		printf("1..%d\n", n);
	fflush(stdout);
}

void tap_skip_all(const char *fmt, ...)
{
	va_list ap;
	printf("1..0 # SKIP ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	exit(77);
}

bool tap_ok(bool cond, const char *fmt, ...)
{
	va_list ap;
	tap_count++;
	if (!cond)
		tap_failed++;
	printf("%sok %d - ", cond ? "" : "not ", tap_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	return cond;
}

void tap_skip(const char *fmt, ...)
{
	va_list ap;
	tap_count++;
	printf("ok %d # SKIP ", tap_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

void tap_diag(const char *fmt, ...)
{
	va_list ap;
	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

void tap_bail(const char *fmt, ...)
{
	va_list ap;
	printf("Bail out! ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	exit(99);
}

int tap_done(void)
{
	if (tap_planned <= 0)
		printf("1..%d\n", tap_count);
	else if (tap_planned != tap_count)
		printf("# planned %d tests but ran %d\n", tap_planned, tap_count);
	fflush(stdout);
	return tap_failed == 0 && (tap_planned <= 0 || tap_planned == tap_count) ? 0 : 1;
}

bool tap_is_root(void)
{
	return geteuid() == 0;
}

bool tap_check_int(bool good, const char *file, int line, const char *expr, long long a,
		   long long b, const char *name)
{
	tap_ok(good, "%s", name);
	if (!good)
		tap_diag("%s:%d: %s: got %lld, want %lld", file, line, expr, a, b);
	return good;
}

bool tap_check_str(const char *file, int line, const char *expr, const char *a, const char *b,
		   const char *name)
{
	bool good = (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
	tap_ok(good, "%s", name);
	if (!good)
		tap_diag("%s:%d: %s: got \"%s\", want \"%s\"", file, line, expr, a ? a : "(null)",
			 b ? b : "(null)");
	return good;
}
