/* Benchmark: parse a typical ~400-byte browser GET with dynohost's parser and, when built
 * with -DHAVE_HTTP_PARSER, with Node's http_parser (Debian's libhttp-parser) in the same
 * run, interleaved; prints the median ns per request of each and the ratio.
 * Run through bench/http-parse (it builds this file). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/http.h"
#ifdef HAVE_HTTP_PARSER
/* Both define enum http_method; rename the peer's (a type name only, not a symbol). */
#define http_method node_http_method
#include <http_parser.h>
#undef http_method
#endif

static const char req[] =
	"GET /products/widgets?page=2&sort=price HTTP/1.1\r\n"
	"Host: shop.example.com\r\n"
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0\r\n"
	"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
	"Accept-Language: en-US,en;q=0.5\r\n"
	"Accept-Encoding: gzip, deflate, br\r\n"
	"Connection: keep-alive\r\n"
	"Cookie: session=8f2a9c1e4b7d; theme=dark\r\n"
	"Upgrade-Insecure-Requests: 1\r\n"
	"\r\n";

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts); /* CPU time: less noise on shared cores */
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static volatile size_t sink;

static double run_dynohost(int iters)
{
	static struct http_header h[1000];
	struct http_request r;
	double t0 = now_ns();
	for (int i = 0; i < iters; i++) {
		http_request_init(&r, NULL, h, 1000);
		ssize_t n = http_request_parse(&r, req, sizeof(req) - 1);
		if (n != (ssize_t)sizeof(req) - 1)
			abort();
		sink += r.nheaders + r.host.len;
	}
	return (now_ns() - t0) / iters;
}

#ifdef HAVE_HTTP_PARSER
static int on_hdr(http_parser *p, const char *at, size_t len)
{
	sink += len;
	return 0;
}

static double run_nodejs(int iters)
{
	http_parser_settings s;
	http_parser_settings_init(&s);
	s.on_header_field = on_hdr;
	s.on_header_value = on_hdr;
	s.on_url = on_hdr;
	http_parser p;
	double t0 = now_ns();
	for (int i = 0; i < iters; i++) {
		http_parser_init(&p, HTTP_REQUEST);
		size_t n = http_parser_execute(&p, &s, req, sizeof(req) - 1);
		if (n != sizeof(req) - 1 || p.http_errno)
			abort();
	}
	return (now_ns() - t0) / iters;
}
#endif

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 15, iters = 200000;
	double *a = calloc((size_t)rounds, sizeof(double)), *b = calloc((size_t)rounds, sizeof(double));
	if (!a || !b)
		return 1;
	run_dynohost(iters / 10); /* warm up */
	for (int r = 0; r < rounds; r++) {
		a[r] = run_dynohost(iters);
#ifdef HAVE_HTTP_PARSER
		b[r] = run_nodejs(iters);
#endif
	}
	qsort(a, (size_t)rounds, sizeof(double), cmp);
	qsort(b, (size_t)rounds, sizeof(double), cmp);
	printf("request: %zu bytes, %d rounds x %d parses, interleaved\n", sizeof(req) - 1, rounds,
	       iters);
	printf("dynohost http_request_parse: median %.1f ns/request (%.0f MB/s)\n", a[rounds / 2],
	       (sizeof(req) - 1) / a[rounds / 2] * 1e3);
#ifdef HAVE_HTTP_PARSER
	printf("nodejs http_parser 2.9:      median %.1f ns/request (%.0f MB/s)\n", b[rounds / 2],
	       (sizeof(req) - 1) / b[rounds / 2] * 1e3);
	printf("ratio (http_parser / dynohost): %.2f\n", b[rounds / 2] / a[rounds / 2]);
#else
	printf("nodejs http_parser: not built (install libhttp-parser-dev)\n");
#endif
	free(a);
	free(b);
	return 0;
}
