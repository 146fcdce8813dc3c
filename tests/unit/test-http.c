/* Unit tests for common/http: request and response heads, framing rules, smuggling
 * attempts, limits, the chunked decoder and the helpers. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/http.h"
#include "tests/lib/tap.h"

#define NHDR 1100
static struct http_header hdrs[NHDR];

#define S(lit) lit, sizeof(lit) - 1

static bool slice_is(struct http_str s, const char *want)
{
	return s.len == strlen(want) && memcmp(s.ptr, want, s.len) == 0;
}

/* One-shot parse; returns the error status (0 when done, -1 when incomplete). */
static int req_status(const char *buf, size_t len, const struct http_limits *lim,
		      struct http_request *req)
{
	http_request_init(req, lim, hdrs, NHDR);
	ssize_t n = http_request_parse(req, buf, len);
	if (n > 0)
		return 0;
	if (n == 0)
		return -1;
	return req->error_status;
}

/*
 * Feed buf one byte at a time, each call with a fresh heap copy (so the buffer moves like a
 * realloc'd one). Returns what the final call returned; *req holds the state.
 */
static ssize_t req_bytewise(const char *buf, size_t len, const struct http_limits *lim,
			    struct http_request *req, char **ret_copy)
{
	char *copy = NULL;
	ssize_t n = 0;
	http_request_init(req, lim, hdrs, NHDR);
	for (size_t i = 1; i <= len; i++) {
		char *c = malloc(i);
		if (!c)
			tap_bail("out of memory");
		memcpy(c, buf, i);
		n = http_request_parse(req, c, i);
		free(copy);
		copy = c;
		if (n != 0)
			break;
	}
	*ret_copy = copy;
	return n;
}

struct bad_case {
	const char *name;
	const char *raw;
	int status;
};

/* Each must be rejected with exactly this status, one-shot and byte by byte. */
static const struct bad_case bad[] = {
	/* smuggling */
	{ "CL.TE", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n", 400 },
	{ "TE.CL", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 6\r\n\r\n", 400 },
	{ "duplicate equal Content-Length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", 400 },
	{ "duplicate different Content-Length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400 },
	{ "duplicate CL, mixed case", "POST / HTTP/1.1\r\nHost: a\r\nCONTENT-LENGTH: 5\r\ncontent-length: 5\r\n\r\n", 400 },
	{ "upper-case TE with CL", "POST / HTTP/1.1\r\nHost: a\r\nTRANSFER-ENCODING: CHUNKED\r\nContent-Length: 5\r\n\r\n", 400 },
	{ "Content-Length list", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n", 400 },
	{ "Transfer-Encoding: xchunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n", 400 },
	{ "Transfer-Encoding : chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n", 400 },
	{ "Transfer-Encoding: chunked, identity", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n", 400 },
	{ "TE with tab before chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\tchunked\r\n\r\n", 400 },
	{ "TE with vertical tab", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \x0b" "chunked\r\n\r\n", 400 },
	{ "TE with form feed", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\x0c\r\n\r\n", 400 },
	{ "TE with trailing space", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked \r\n\r\n", 400 },
	{ "TE quoted", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \"chunked\"\r\n\r\n", 400 },
	{ "TE chunked twice", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", 400 },
	{ "TE with parameter", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked;q=1\r\n\r\n", 400 },
	{ "TE gzip only", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 400 },
	{ "TE split over two lines, chunked not last", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n", 400 },
	{ "TE empty element", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: , chunked\r\n\r\n", 400 },
	{ "TE empty", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \r\n\r\n", 400 },
	{ "TE space before comma", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip , chunked\r\n\r\n", 400 },
	{ "TE unknown coding before chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: foo, chunked\r\n\r\n", 501 },
	{ "TE in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400 },
	{ "TE name with underscore trick", "POST / HTTP/1.1\r\nHost: a\r\nTransfer_Encoding: chunked\r\nContent-Length: 3\r\n\r\n", 0 },
	/* line structure */
	{ "obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n", 400 },
	{ "obs-fold with tab", "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n\tc\r\n\r\n", 400 },
	{ "whitespace before first field", "GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400 },
	{ "space before colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400 },
	{ "tab before colon", "GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", 400 },
	{ "bare LF after field", "GET / HTTP/1.1\r\nHost: a\nX: y\r\n\r\n", 400 },
	{ "bare LF after request line", "GET / HTTP/1.1\nHost: a\r\n\r\n", 400 },
	{ "bare LF final line", "GET / HTTP/1.1\r\nHost: a\r\n\n", 400 },
	{ "bare CR in value", "GET / HTTP/1.1\r\nHost: a\r\nX: b\rc\r\n\r\n", 400 },
	{ "bare CR in request line", "GET /\r HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
	{ "bare CR as line end", "GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n", 400 },
	{ "NUL in field name", "GET / HTTP/1.1\r\nHost: a\r\nX\0Y: b\r\n\r\n", 400 },
	{ "NUL in field value", "GET / HTTP/1.1\r\nHost: a\r\nX: b\0c\r\n\r\n", 400 },
	{ "NUL in target", "GET /a\0b HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
	{ "NUL in method", "G\0T / HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
	{ "CTL in value", "GET / HTTP/1.1\r\nHost: a\r\nX: \x01\r\n\r\n", 400 },
	{ "DEL in value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\x7f\r\n\r\n", 400 },
	{ "CTL deep in a long value", "GET / HTTP/1.1\r\nHost: a\r\nX: 0123456789abcdef0123456789\x02xyz\r\n\r\n", 400 },
	{ "DEL at the end of a long value", "GET / HTTP/1.1\r\nHost: a\r\nX: 0123456789abcdef0123456789abcdef012\x7f\r\n\r\n", 400 },
	{ "ESC in the first 16 bytes of a value", "GET / HTTP/1.1\r\nHost: a\r\nX: 01\x1b" "3456789abcdef0123456789abcdef\r\n\r\n", 400 },
	{ "CTL deep in a long field name", "GET / HTTP/1.1\r\nHost: a\r\nX-Very-Long-Field-Name\x01Here: v\r\n\r\n", 400 },
	{ "space before colon after a long name", "GET / HTTP/1.1\r\nHost: a\r\nX-Very-Long-Field-Name-Here : v\r\n\r\n", 400 },
	{ "slash in a long field name", "GET / HTTP/1.1\r\nHost: a\r\nX-Very_Long.Field/Name: v\r\n\r\n", 400 },
	{ "long field line without colon", "GET / HTTP/1.1\r\nHost: a\r\nX-Very-Long-Field-Name-Here-And-More\r\n\r\n", 400 },
	{ "field without colon", "GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", 400 },
	{ "empty field name", "GET / HTTP/1.1\r\nHost: a\r\n: b\r\n\r\n", 400 },
	{ "invalid char in field name", "GET / HTTP/1.1\r\nHost: a\r\nX@Y: b\r\n\r\n", 400 },
	{ "six leading empty lines", "\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
	/* Content-Length */
	{ "CL with plus", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n", 400 },
	{ "CL with minus", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -5\r\n\r\n", 400 },
	{ "CL hex", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x5\r\n\r\n", 400 },
	{ "CL with tab", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\t5\r\n\r\n", 400 },
	{ "CL trailing space", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5 \r\n\r\n", 400 },
	{ "CL overflow", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n", 400 },
	{ "CL 2^63", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9223372036854775808\r\n\r\n", 400 },
	{ "CL empty", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", 400 },
	{ "CL decimal point", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5.0\r\n\r\n", 400 },
	{ "CL on obs-fold", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n 5\r\n\r\n", 400 },
	/* Host */
	{ "HTTP/1.1 without Host", "GET / HTTP/1.1\r\nX: y\r\n\r\n", 400 },
	{ "two Host fields", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400 },
	{ "two Host fields, same value", "GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n", 400 },
	{ "Host with space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400 },
	{ "Host with slash", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400 },
	{ "Host with userinfo", "GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", 400 },
	{ "Host with bad port", "GET / HTTP/1.1\r\nHost: a:8x\r\n\r\n", 400 },
	/* request line */
	{ "HTTP/2.0", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505 },
	{ "HTTP/0.9 version", "GET / HTTP/0.9\r\nHost: a\r\n\r\n", 505 },
	{ "HTTP/3.1", "GET / HTTP/3.1\r\nHost: a\r\n\r\n", 505 },
	{ "lowercase http/1.1", "GET / http/1.1\r\nHost: a\r\n\r\n", 400 },
	{ "HTTP/1", "GET / HTTP/1\r\nHost: a\r\n\r\n", 400 },
	{ "HTTP/1.10", "GET / HTTP/1.10\r\nHost: a\r\n\r\n", 400 },
	{ "trailing space after version", "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400 },
	{ "HTTP/0.9 request line", "GET /\r\n\r\n", 400 },
	{ "double space", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
	{ "tab separator", "GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
	{ "leading space", " GET / HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
	{ "invalid method char", "GE(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
	{ "space in target", "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
	{ "DEL in target", "GET /a\x7f HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
	{ "fragment in target", "GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
	{ "UTF-8 in target", "GET /\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
	{ "asterisk with GET", "GET * HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
	{ "CONNECT with origin-form", "CONNECT / HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
	{ "CONNECT without port", "CONNECT a.example HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
	{ "ftp absolute-form", "GET ftp://a/ HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
	{ "absolute-form with userinfo", "GET http://u:p@a/ HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
	{ "absolute-form empty authority", "GET http:///x HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
	{ "relative target", "GET a/b HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
	/* Expect */
	{ "Expect: foo", "GET / HTTP/1.1\r\nHost: a\r\nExpect: foo\r\n\r\n", 417 },
	{ "Expect: 100-continue, foo", "GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue, foo\r\n\r\n", 417 },
};

static void test_bad_requests(void)
{
	size_t nbad = 0;
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		/* The raw strings contain NULs: the length is up to the final "\r\n\r\n". */
		const char *raw = bad[i].raw;
		size_t len = strlen(raw);
		if (strstr(bad[i].name, "NUL")) {
			const char *p = raw;
			while (!(p[0] == '\r' && p[1] == '\n' && p[2] == '\r' && p[3] == '\n'))
				p++;
			len = (size_t)(p - raw) + 4;
		}
		struct http_request req;
		int st = req_status(raw, len, NULL, &req);
		_cleanup_free_ char *copy = NULL;
		struct http_request req2;
		ssize_t n2 = req_bytewise(raw, len, NULL, &req2, &copy);
		int st2 = n2 > 0 ? 0 : n2 == 0 ? -1 : req2.error_status;
		ok(st == bad[i].status && st2 == st, "%s → %d (got %d, byte by byte %d%s%s)",
		   bad[i].name, bad[i].status, st, st2, st ? ": " : "",
		   st > 0 ? req.error_reason : "");
		if (bad[i].status)
			nbad++;
	}
	ok(nbad >= 50, "at least 50 malformed requests (%zu)", nbad);
}

static void test_simple_get(void)
{
	static const char raw[] = "GET /path?q=1 HTTP/1.1\r\n"
				  "Host: example.com:8080\r\n"
				  "User-Agent:  curl/8.0 \r\n"
				  "Accept: */*\r\n\r\n";
	struct http_request req;
	http_request_init(&req, NULL, hdrs, NHDR);
	ssize_t n = http_request_parse(&req, raw, sizeof(raw) - 1);
	is_int(n, sizeof(raw) - 1, "simple GET: head length");
	ok(req.method == HTTP_METHOD_GET && slice_is(req.method_str, "GET"), "method GET");
	ok(slice_is(req.target, "/path?q=1") && slice_is(req.path, "/path?q=1") &&
		   req.target_form == HTTP_TARGET_ORIGIN,
	   "origin-form target and path");
	ok(slice_is(req.host, "example.com:8080") && req.has_host_header, "host");
	ok(req.version_minor == 1 && req.keep_alive && !req.connection_close, "1.1 keep-alive");
	ok(req.body == HTTP_BODY_NONE && !req.expect_continue && !req.upgrade, "no body");
	ok(req.nheaders == 3 && slice_is(hdrs[1].name, "User-Agent") &&
		   slice_is(hdrs[1].value, "curl/8.0"),
	   "headers stored, OWS trimmed");
	const struct http_header *h = http_request_header(&req, "accept");
	ok(h && slice_is(h->value, "*/*"), "case-insensitive lookup");
	ok(!http_request_header(&req, "cookie"), "absent header lookup");
	is_int(http_request_parse(&req, raw, sizeof(raw) - 1), sizeof(raw) - 1,
	       "parse again after done returns the same length");

	for (size_t cut = 0; cut < sizeof(raw) - 1; cut++) {
		http_request_init(&req, NULL, hdrs, NHDR);
		if (http_request_parse(&req, raw, cut) != 0) {
			ok(false, "prefix of %zu bytes is incomplete", cut);
			return;
		}
	}
	ok(true, "every proper prefix is incomplete");

	http_request_init(&req, NULL, hdrs, NHDR);
	is_int(http_request_parse(&req, raw, 10), 0, "incomplete");
	is_int(http_request_parse(&req, raw, 5), -EINVAL, "a shrinking buffer is misuse");
	http_request_init(&req, NULL, hdrs, NHDR);
	is_int(http_request_parse(&req, S("GET / HTTP/1.1\r\nHost: a\r\nX : y\r\n")), -EBADMSG,
	       "error before the head ends");
	ok(http_request_parse(&req, raw, sizeof(raw) - 1) == -EBADMSG && req.error_status == 400,
	   "errors are sticky");
	static const char tabs[] = "GET / HTTP/1.1\r\nHost: a\r\nX-Tab:\t a\tb \t\r\n\r\n";
	http_request_init(&req, NULL, hdrs, NHDR);
	ok(http_request_parse(&req, tabs, sizeof(tabs) - 1) > 0 && slice_is(hdrs[1].value, "a\tb"),
	   "HTAB inside a value is kept, around it trimmed");
	static const char names[] = "GET / HTTP/1.1\r\nHost: a\r\nX_A.b~c!d#e$f%g&h'i*j+k^l`m|n: 1\r\n"
				    "x-a-much-longer-field-name-with-digits-0123456789_and.more:2\r\n"
				    "A:3\r\nShort-Name-15ch: 4\r\n\r\n";
	http_request_init(&req, NULL, hdrs, NHDR);
	ok(http_request_parse(&req, names, sizeof(names) - 1) > 0 && req.nheaders == 5 &&
		   slice_is(hdrs[1].name, "X_A.b~c!d#e$f%g&h'i*j+k^l`m|n") &&
		   slice_is(hdrs[2].name,
			    "x-a-much-longer-field-name-with-digits-0123456789_and.more") &&
		   slice_is(hdrs[2].value, "2") && slice_is(hdrs[3].name, "A") &&
		   slice_is(hdrs[4].name, "Short-Name-15ch"),
	   "field names with every tchar, long and short");
}

static void test_keep_alive(void)
{
	static const struct {
		const char *raw;
		bool ka;
	} cases[] = {
		{ "GET / HTTP/1.0\r\n\r\n", false },
		{ "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true },
		{ "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", true },
		{ "GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", false },
		{ "GET / HTTP/1.1\r\nHost: a\r\n\r\n", true },
		{ "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", false },
		{ "GET / HTTP/1.1\r\nHost: a\r\nConnection: foo,  CLOSE\r\n\r\n", false },
		{ "GET / HTTP/1.1\r\nHost: a\r\nConnection: closed\r\n\r\n", true },
		{ "GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n", false },
	};
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		struct http_request req;
		int st = req_status(cases[i].raw, strlen(cases[i].raw), NULL, &req);
		ok(st == 0 && req.keep_alive == cases[i].ka, "keep-alive case %zu is %d", i,
		   cases[i].ka);
	}
	struct http_request req;
	req_status(S("GET / HTTP/1.2\r\nHost: a\r\n\r\n"), NULL, &req);
	ok(req.version_minor == 1 && req.keep_alive, "HTTP/1.2 is handled as 1.1");
}

static void test_target_forms(void)
{
	struct http_request req;
	int st = req_status(S("GET http://Example.com:81/a/b?c HTTP/1.1\r\nHost: other\r\n\r\n"),
			    NULL, &req);
	ok(st == 0 && req.target_form == HTTP_TARGET_ABSOLUTE &&
		   slice_is(req.host, "Example.com:81") && slice_is(req.path, "/a/b?c"),
	   "absolute-form: host from the target overrides Host, path extracted");
	st = req_status(S("GET https://a.example HTTP/1.1\r\nHost: a.example\r\n\r\n"), NULL, &req);
	ok(st == 0 && slice_is(req.host, "a.example") && req.path.len == 0,
	   "absolute-form without path");
	st = req_status(S("GET http://a.example?x=1 HTTP/1.1\r\nHost: a.example\r\n\r\n"), NULL,
			&req);
	ok(st == 0 && slice_is(req.host, "a.example") && slice_is(req.path, "?x=1"),
	   "absolute-form with query only");
	st = req_status(S("CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n"), NULL,
			&req);
	ok(st == 0 && req.method == HTTP_METHOD_CONNECT &&
		   req.target_form == HTTP_TARGET_AUTHORITY && slice_is(req.host, "a.example:443"),
	   "authority-form for CONNECT");
	st = req_status(S("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n"), NULL, &req);
	ok(st == 0 && req.target_form == HTTP_TARGET_ASTERISK &&
		   req.method == HTTP_METHOD_OPTIONS,
	   "asterisk-form for OPTIONS");
	st = req_status(S("GET http://[::1]:8080/ HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n"), NULL,
			&req);
	ok(st == 0 && slice_is(req.host, "[::1]:8080"), "IPv6 literal authority");
	st = req_status(S("PROPFIND /x HTTP/1.1\r\nHost: a\r\n\r\n"), NULL, &req);
	ok(st == 0 && req.method == HTTP_METHOD_OTHER && slice_is(req.method_str, "PROPFIND"),
	   "unknown method is OTHER with its name");
	st = req_status(S("GET / HTTP/1.0\r\n\r\n"), NULL, &req);
	ok(st == 0 && req.host.len == 0 && !req.has_host_header, "HTTP/1.0 without Host");
	st = req_status(S("GET / HTTP/1.1\r\nHost:\r\n\r\n"), NULL, &req);
	ok(st == 0 && req.has_host_header && req.host.len == 0, "empty Host is allowed");

	st = req_status(S("GET /s?q={\"a\":1}|b^c`<d>\\e HTTP/1.1\r\nHost: a\r\n\r\n"), NULL, &req);
	ok(st == 0 && slice_is(req.path, "/s?q={\"a\":1}|b^c`<d>\\e"),
	   "default target accepts the visible ASCII browsers send raw");
	struct http_limits lim = http_limits_default;
	lim.flags = HTTP_LENIENT_TARGET;
	st = req_status(S("GET /a|b{c}\xc3\xa9#f HTTP/1.1\r\nHost: a\r\n\r\n"), &lim, &req);
	ok(st == 0, "HTTP_LENIENT_TARGET accepts UTF-8 and '#'");
	st = req_status(S("GET /a b HTTP/1.1\r\nHost: a\r\n\r\n"), &lim, &req);
	is_int(st, 400, "HTTP_LENIENT_TARGET still rejects spaces");
	st = req_status(S("GET /a\x01 HTTP/1.1\r\nHost: a\r\n\r\n"), &lim, &req);
	is_int(st, 400, "HTTP_LENIENT_TARGET still rejects CTLs");
	lim.flags = HTTP_STRICT_TARGET;
	static const char *const rfc_bad[] = { "<", ">", "\"", "{", "}", "|", "\\", "^", "`" };
	bool all = true;
	char line[64];
	for (size_t i = 0; i < ELEMENTSOF(rfc_bad); i++) {
		int n = snprintf(line, sizeof(line), "GET /a%sb HTTP/1.1\r\nHost: a\r\n\r\n",
				 rfc_bad[i]);
		all = all && req_status(line, (size_t)n, &lim, &req) == 400;
	}
	ok(all, "HTTP_STRICT_TARGET rejects every non-RFC 3986 character");
	st = req_status(S("GET /a-._~!$&'()*+,;=:@/?%20[] HTTP/1.1\r\nHost: a\r\n\r\n"), &lim,
			&req);
	is_int(st, 0, "HTTP_STRICT_TARGET accepts every RFC 3986 character");
}

static void test_framing(void)
{
	struct http_request req;
	int st = req_status(S("POST /u HTTP/1.1\r\nHost: a\r\nContent-Length: 0012\r\n\r\n"), NULL,
			    &req);
	ok(st == 0 && req.body == HTTP_BODY_LENGTH && req.content_length == 12,
	   "Content-Length with leading zeros");
	st = req_status(S("POST /u HTTP/1.1\r\nHost: a\r\nContent-Length: 9223372036854775807\r\n\r\n"),
			NULL, &req);
	ok(st == 0 && req.content_length == 9223372036854775807ull, "Content-Length 2^63-1");
	st = req_status(S("POST /u HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n"),
			NULL, &req);
	ok(st == 0 && req.body == HTTP_BODY_CHUNKED, "gzip, chunked is chunked");
	st = req_status(S("POST /u HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n"
			  "Transfer-Encoding: chunked\r\n\r\n"),
			NULL, &req);
	ok(st == 0 && req.body == HTTP_BODY_CHUNKED, "codings over two field lines");
	st = req_status(S("POST /u HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\n"
			  "Content-Length: 3\r\n\r\n"),
			NULL, &req);
	ok(st == 0 && req.expect_continue, "Expect: 100-continue");
	st = req_status(S("POST /u HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n"),
			NULL, &req);
	ok(st == 0 && !req.expect_continue, "100-continue ignored for HTTP/1.0");
	st = req_status(S("GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n"
			  "Connection: keep-alive, Upgrade\r\n\r\n"),
			NULL, &req);
	ok(st == 0 && req.upgrade && req.keep_alive, "websocket upgrade");
	st = req_status(S("GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n"), NULL, &req);
	ok(st == 0 && !req.upgrade, "Upgrade without Connection: upgrade is not an upgrade");
	st = req_status(S("GET / HTTP/1.1\r\nHost: a\r\nTransfer_Encoding: chunked\r\n\r\n"),
			NULL, &req);
	ok(st == 0 && req.body == HTTP_BODY_NONE, "Transfer_Encoding is just another field");
}

static void test_leading_and_lenient(void)
{
	struct http_request req;
	int st = req_status(S("\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"), NULL, &req);
	ok(st == 0 && req.head_len == 8 + 16 + 9 + 2 && slice_is(req.method_str, "GET"),
	   "four leading empty lines are skipped and counted in the head");
	struct http_limits lim = http_limits_default;
	lim.flags = HTTP_LENIENT_LF;
	st = req_status(S("GET / HTTP/1.1\nHost: a\nX: y\r\n\n"), &lim, &req);
	ok(st == 0 && req.nheaders == 2 && slice_is(hdrs[1].value, "y"),
	   "HTTP_LENIENT_LF accepts bare LF");
	st = req_status(S("GET / HTTP/1.1\nHost: a\rb\n\n"), &lim, &req);
	is_int(st, 400, "HTTP_LENIENT_LF still rejects a bare CR");
}

static char *repeat(size_t n, char c)
{
	char *s = malloc(n + 1);
	if (!s)
		tap_bail("out of memory");
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

static void test_limits(void)
{
	struct http_request req;
	char *buf = malloc(20u << 20);
	if (!buf)
		tap_bail("out of memory");

	/* Request line of exactly 8192 bytes: "GET /" + path + " HTTP/1.1". */
	for (int over = 0; over <= 1; over++) {
		_cleanup_free_ char *path = repeat(8192 - 4 - 9 - 1 + (size_t)over, 'a');
		int len = sprintf(buf, "GET /%s HTTP/1.1\r\nHost: a\r\n\r\n", path);
		int st = req_status(buf, (size_t)len, NULL, &req);
		is_int(st, over ? 414 : 0, over ? "request line 8193 bytes → 414"
						: "request line 8192 bytes is accepted");
		/* Without the rest: the limit is detected before the line ends. */
		if (over) {
			http_request_init(&req, NULL, hdrs, NHDR);
			ssize_t n = http_request_parse(&req, buf, 8194);
			ok(n == -EBADMSG && req.error_status == 414,
			   "an unterminated over-long request line → 414 early");
		}
	}
	for (int over = 0; over <= 1; over++) {
		_cleanup_free_ char *v = repeat(8192 - 3 + (size_t)over, 'v');
		int len = sprintf(buf, "GET / HTTP/1.1\r\nHost: a\r\nX: %s\r\n\r\n", v);
		int st = req_status(buf, (size_t)len, NULL, &req);
		is_int(st, over ? 431 : 0, over ? "header line 8193 bytes → 431"
						: "header line 8192 bytes is accepted");
	}
	for (int over = 0; over <= 1; over++) {
		_cleanup_free_ char *name = repeat(1000 + (size_t)over, 'n');
		int len = sprintf(buf, "GET / HTTP/1.1\r\nHost: a\r\n%s: v\r\n\r\n", name);
		int st = req_status(buf, (size_t)len, NULL, &req);
		is_int(st, over ? 431 : 0, over ? "1001-byte field name → 431"
						: "1000-byte field name is accepted");
	}
	for (int over = 0; over <= 1; over++) {
		size_t len = (size_t)sprintf(buf, "GET / HTTP/1.1\r\nHost: a\r\n");
		for (int i = 0; i < 999 + over; i++)
			len += (size_t)sprintf(buf + len, "X-%d: %d\r\n", i, i);
		len += (size_t)sprintf(buf + len, "\r\n");
		int st = req_status(buf, len, NULL, &req);
		is_int(st, over ? 431 : 0, over ? "1001 header fields → 431"
						: "1000 header fields are accepted");
		if (!over)
			ok(req.nheaders == 1000 && slice_is(hdrs[999].name, "X-998"),
			   "all 1000 fields stored");
	}
	/* A small header array lowers the field count limit. */
	{
		struct http_header few[2];
		http_request_init(&req, NULL, few, 2);
		ssize_t n = http_request_parse(&req, S("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n\r\n"));
		ok(n == -EBADMSG && req.error_status == 431, "more fields than storage → 431");
		http_request_init(&req, NULL, NULL, 0);
		n = http_request_parse(&req, S("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n\r\n"));
		ok(n > 0 && req.nheaders == 3 && slice_is(req.host, "a"),
		   "no storage: parses and derives facts");
	}
	/* Custom limits. */
	{
		struct http_limits lim = http_limits_default;
		lim.request_line_max = 21;
		int st = req_status(S("GET /0123456 HTTP/1.1\r\nHost: a\r\n\r\n"), &lim, &req);
		is_int(st, 0, "custom request line limit, exactly at it");
		st = req_status(S("GET /01234567 HTTP/1.1\r\nHost: a\r\n\r\n"), &lim, &req);
		is_int(st, 414, "custom request line limit, one over");
	}
	free(buf);
}

static void test_pipelining(void)
{
	static const char raw[] = "POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"
				  "GET /b HTTP/1.1\r\nHost: b\r\n\r\n"
				  "GET /c HTTP/1.1\r\nHost: c\r\nTransfer-Encoding: chunked\r\n\r\n"
				  "3;ext=\"v\"\r\nabc\r\n0\r\nX-T: 1\r\n\r\n"
				  "GET /d HTTP/1.1\r\nHo";
	size_t len = sizeof(raw) - 1, off = 0;
	struct http_request req;
	http_request_init(&req, NULL, hdrs, NHDR);
	ssize_t n = http_request_parse(&req, raw, len);
	ok(n > 0 && slice_is(req.target, "/a") && req.content_length == 5, "first of pipeline");
	off += (size_t)n + req.content_length;
	http_request_reset(&req);
	n = http_request_parse(&req, raw + off, len - off);
	ok(n > 0 && slice_is(req.target, "/b") && slice_is(req.host, "b"), "second of pipeline");
	off += (size_t)n;
	http_request_reset(&req);
	n = http_request_parse(&req, raw + off, len - off);
	ok(n > 0 && slice_is(req.target, "/c") && req.body == HTTP_BODY_CHUNKED,
	   "third of pipeline is chunked");
	off += (size_t)n;
	struct http_chunked c;
	http_chunked_init(&c, NULL);
	n = http_chunked_feed(&c, raw + off, len - off);
	ok(n == (ssize_t)strlen("3;ext=\"v\"\r\nabc\r\n0\r\nX-T: 1\r\n\r\n") && c.done &&
		   c.body_bytes == 3,
	   "chunked body with extension and trailer ends exactly");
	off += (size_t)n;
	http_request_reset(&req);
	n = http_request_parse(&req, raw + off, len - off);
	is_int(n, 0, "fourth of pipeline is incomplete");
}

static void test_bytewise(void)
{
	static const char *const raws[] = {
		"GET /x HTTP/1.1\r\nHost: h\r\nCookie: a=b\r\nConnection: close\r\n\r\n",
		"\r\nPOST http://h:1/p HTTP/1.1\r\nHost: q\r\nTransfer-Encoding: chunked\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n c\r\n\r\n",
		"GET / HTTP/2.0\r\n\r\n",
	};
	for (size_t i = 0; i < ELEMENTSOF(raws); i++) {
		size_t len = strlen(raws[i]);
		struct http_request one;
		static struct http_header h1[16];
		http_request_init(&one, NULL, h1, 16);
		ssize_t n1 = http_request_parse(&one, raws[i], len);
		struct http_request two;
		_cleanup_free_ char *copy = NULL;
		ssize_t n2 = req_bytewise(raws[i], len, NULL, &two, &copy);
		bool same = n1 == n2 && one.error_status == two.error_status;
		if (same && n1 > 0) {
			same = one.nheaders == two.nheaders && one.method == two.method &&
			       one.body == two.body && one.keep_alive == two.keep_alive &&
			       one.host.len == two.host.len &&
			       memcmp(one.host.ptr, two.host.ptr, one.host.len) == 0 &&
			       two.host.ptr >= copy && two.host.ptr < copy + len;
			for (size_t k = 0; same && k < one.nheaders; k++)
				same = hdrs[k].name.ptr >= copy && hdrs[k].name.ptr < copy + len &&
				       hdrs[k].name.len == h1[k].name.len &&
				       memcmp(hdrs[k].value.ptr, h1[k].value.ptr, h1[k].value.len) == 0;
		}
		ok(same, "byte-by-byte over a moving buffer equals one shot (%zu): %zd", i, n1);
	}
}

/* Run the chunked decoder one-shot and byte by byte; returns the status (0 done, -1 not done). */
static int chunked_status(const char *raw, size_t len, size_t *ret_consumed, uint64_t *ret_bytes)
{
	struct http_chunked c;
	http_chunked_init(&c, NULL);
	ssize_t n = http_chunked_feed(&c, raw, len);
	int st = n < 0 ? c.error_status : c.done ? 0 : -1;

	struct http_chunked d;
	http_chunked_init(&d, NULL);
	size_t used = 0;
	ssize_t m = 0;
	for (size_t i = 0; i < len && !d.done; i++) {
		m = http_chunked_feed(&d, raw + i, 1);
		if (m < 0)
			break;
		used += (size_t)m;
	}
	int st2 = m < 0 ? d.error_status : d.done ? 0 : -1;
	if (st != st2 || (st == 0 && (size_t)n != used))
		return 999;
	if (ret_consumed)
		*ret_consumed = n > 0 ? (size_t)n : 0;
	if (ret_bytes)
		*ret_bytes = c.body_bytes;
	return st;
}

static void test_chunked(void)
{
	size_t used;
	uint64_t bytes;
	int st = chunked_status(S("5\r\nhello\r\nA;x=1;y=\"a b\"\r\n0123456789\r\n0\r\n\r\nNEXT"),
				&used, &bytes);
	ok(st == 0 && used == 42 && bytes == 15, "chunked: sizes, extensions, end before NEXT");
	st = chunked_status(S("000000000000000000000005\r\nhello\r\n0\r\n\r\n"), &used, &bytes);
	ok(st == 0 && bytes == 5, "leading zeros in chunk size");
	st = chunked_status(S("5 ;e\r\nhello\r\n0\r\nA: b\r\nC-D:e\r\n\r\n"), &used, &bytes);
	ok(st == 0 && bytes == 5, "BWS before extension, two trailers");
	st = chunked_status(S("0\r\nContent-Length-X: 1\r\nHosts: 2\r\nServer-Timing: a;dur=1\r\n\r\n"),
			    &used, &bytes);
	ok(st == 0, "trailers that only look like forbidden names");
	st = chunked_status(S("7FFFFFFFFFFFFFFF\r\nabc"), NULL, NULL);
	is_int(st, -1, "chunk size 2^63-1 accepted, waiting for data");
	st = chunked_status(S("5 ; a = b ;c;d=\"x\\\"y;z\" ; e\r\nhello\r\n0\r\n\r\n"), &used, &bytes);
	ok(st == 0 && bytes == 5, "extensions: BWS, tokens, quoted-string with escapes");
	st = chunked_status(S("5\r\nhel"), NULL, NULL);
	is_int(st, -1, "incomplete chunk");

	static const struct bad_case cbad[] = {
		{ "non-hex chunk size", "zz\r\n", 400 },
		{ "empty chunk size", "\r\n", 400 },
		{ "chunk size overflow", "10000000000000000\r\n", 400 },
		{ "chunk size 2^63", "8000000000000000\r\n", 400 },
		{ "negative chunk size", "-5\r\nhello\r\n0\r\n\r\n", 400 },
		{ "0x chunk size", "0x5\r\nhello\r\n0\r\n\r\n", 400 },
		{ "missing CRLF after data", "5\r\nhelloX\r\n0\r\n\r\n", 400 },
		{ "LF only after data", "5\r\nhello\n0\r\n\r\n", 400 },
		{ "whitespace after size without extension", "5 \r\nhello\r\n0\r\n\r\n", 400 },
		{ "bare LF after size", "5\nhello\r\n0\r\n\r\n", 400 },
		{ "bare CR after size", "5\rhello\r\n0\r\n\r\n", 400 },
		{ "CTL in extension", "5;a\x01\r\nhello\r\n0\r\n\r\n", 400 },
		{ "empty extension", "5;\r\nhello\r\n0\r\n\r\n", 400 },
		{ "extension without name", "5;=v\r\nhello\r\n0\r\n\r\n", 400 },
		{ "extension with empty value", "5;a=\r\nhello\r\n0\r\n\r\n", 400 },
		{ "unterminated quoted extension", "5;a=\"v\r\nhello\r\n0\r\n\r\n", 400 },
		{ "CR inside quoted extension", "5;a=\"v\r\n\"\r\nhello\r\n0\r\n\r\n", 400 },
		{ "extension value with a slash", "5;a=b/c\r\nhello\r\n0\r\n\r\n", 400 },
		{ "whitespace before CRLF after extension", "5;a=b \r\nhello\r\n0\r\n\r\n", 400 },
		{ "two quoted strings", "5;a=\"b\"\"c\"\r\nhello\r\n0\r\n\r\n", 400 },
		{ "LF in extension", "5;a\nb\r\nhello\r\n0\r\n\r\n", 400 },
		{ "obs-fold in trailer", "0\r\nA: b\r\n c\r\n\r\n", 400 },
		{ "space before colon in trailer", "0\r\nA : b\r\n\r\n", 400 },
		{ "bare LF ending trailers", "0\r\nA: b\r\n\n", 400 },
		{ "trailer without colon", "0\r\nAb\r\n\r\n", 400 },
		{ "Content-Length trailer", "0\r\nContent-Length: 5\r\n\r\n", 400 },
		{ "Transfer-Encoding trailer", "0\r\ntransfer-encoding: chunked\r\n\r\n", 400 },
		{ "Host trailer", "0\r\nHOST: evil\r\n\r\n", 400 },
	};
	for (size_t i = 0; i < ELEMENTSOF(cbad); i++) {
		st = chunked_status(cbad[i].raw, strlen(cbad[i].raw), NULL, NULL);
		is_int(st, cbad[i].status, cbad[i].name);
	}
	/* Over-long extension and too many trailers. */
	char *buf = malloc(1 << 20);
	if (!buf)
		tap_bail("out of memory");
	_cleanup_free_ char *ext = repeat(4096 - 2, 'e');
	int len = sprintf(buf, "1;%s\r\nx\r\n0\r\n\r\n", ext);
	is_int(chunked_status(buf, (size_t)len, NULL, NULL), 0, "chunk line of 4096 bytes");
	len = sprintf(buf, "1;%se\r\nx\r\n0\r\n\r\n", ext);
	is_int(chunked_status(buf, (size_t)len, NULL, NULL), 400, "chunk line of 4097 bytes");
	size_t l = (size_t)sprintf(buf, "0\r\n");
	for (int i = 0; i < 1001; i++)
		l += (size_t)sprintf(buf + l, "T%d: v\r\n", i);
	l += (size_t)sprintf(buf + l, "\r\n");
	is_int(chunked_status(buf, l, NULL, NULL), 431, "1001 trailer fields → 431");
	free(buf);

	/* Decoded data spans. */
	static const char body[] = "4\r\nWiki\r\n6;a=b\r\npedia \r\nE\r\nin \r\n\r\nchunks.\r\n0\r\n\r\n";
	char out[64];
	size_t outlen = 0, off = 0;
	struct http_chunked c;
	http_chunked_init(&c, NULL);
	while (off < sizeof(body) - 1 && !http_chunked_done(&c)) {
		const char *d;
		size_t dl;
		ssize_t n = http_chunked_next(&c, body + off, sizeof(body) - 1 - off, &d, &dl);
		if (n <= 0)
			break;
		memcpy(out + outlen, d, dl);
		outlen += dl;
		off += (size_t)n;
	}
	ok(c.done && outlen == 24 && memcmp(out, "Wikipedia in \r\n\r\nchunks.", 24) == 0,
	   "http_chunked_next yields the decoded data");
	is_int(http_chunked_feed(&c, S("more")), 0, "nothing consumed after the end");

	struct http_limits lim = http_limits_default;
	lim.flags = HTTP_LENIENT_LF;
	http_chunked_init(&c, &lim);
	ssize_t n = http_chunked_feed(&c, S("5\nhello\n0\n\n"));
	ok(n == 11 && c.done, "HTTP_LENIENT_LF chunked framing");
}

static int resp_parse(const char *raw, size_t len, enum http_method m, struct http_response *r)
{
	http_response_init(r, NULL, hdrs, NHDR, m);
	ssize_t n = http_response_parse(r, raw, len);
	/* And byte by byte, which must agree. */
	struct http_response r2;
	static struct http_header h2[32];
	http_response_init(&r2, NULL, h2, 32, m);
	ssize_t n2 = 0;
	for (size_t i = 1; i <= len && n2 == 0; i++)
		n2 = http_response_parse(&r2, raw, i);
	if (n != n2 || (n > 0 && (r2.body != r->body || r2.keep_alive != r->keep_alive)))
		return 999;
	if (n > 0)
		return 0;
	return n == 0 ? -1 : r->error_status;
}

static void test_responses(void)
{
	struct http_response r;
	int st = resp_parse(S("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"), HTTP_METHOD_GET,
			    &r);
	ok(st == 0 && r.status == 200 && slice_is(r.reason, "OK") && r.body == HTTP_BODY_LENGTH &&
		   r.content_length == 5 && r.keep_alive && r.head_len == 38,
	   "200 with Content-Length");
	st = resp_parse(S("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"), HTTP_METHOD_HEAD, &r);
	ok(st == 0 && r.body == HTTP_BODY_NONE && r.keep_alive, "HEAD response has no body");
	st = resp_parse(S("HTTP/1.1 204 No Content\r\n\r\n"), HTTP_METHOD_GET, &r);
	ok(st == 0 && r.body == HTTP_BODY_NONE && r.keep_alive, "204 has no body");
	st = resp_parse(S("HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\n\r\n"),
			HTTP_METHOD_GET, &r);
	ok(st == 0 && r.body == HTTP_BODY_NONE, "304 has no body despite Content-Length");
	st = resp_parse(S("HTTP/1.1 100 Continue\r\n\r\n"), HTTP_METHOD_POST, &r);
	ok(st == 0 && r.interim && r.body == HTTP_BODY_NONE && !r.upgrade, "100 is interim");
	st = resp_parse(S("HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n"), HTTP_METHOD_GET, &r);
	ok(st == 0 && r.interim, "103 is interim");
	st = resp_parse(S("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
			  "Connection: Upgrade\r\n\r\n"),
			HTTP_METHOD_GET, &r);
	ok(st == 0 && r.upgrade && !r.interim && r.body == HTTP_BODY_NONE && !r.keep_alive,
	   "101 switches to a byte pipe");
	st = resp_parse(S("HTTP/1.1 200 OK\r\n\r\n"), HTTP_METHOD_GET, &r);
	ok(st == 0 && r.body == HTTP_BODY_CLOSE && !r.keep_alive, "no framing: close-delimited");
	st = resp_parse(S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"), HTTP_METHOD_GET,
			&r);
	ok(st == 0 && r.body == HTTP_BODY_CHUNKED && r.keep_alive, "chunked response");
	st = resp_parse(S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"),
			HTTP_METHOD_GET, &r);
	ok(st == 0 && r.body == HTTP_BODY_CLOSE && !r.keep_alive,
	   "chunked not last: close-delimited");
	st = resp_parse(S("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n"), HTTP_METHOD_GET, &r);
	ok(st == 0 && !r.keep_alive && r.version_minor == 0, "1.0 response closes by default");
	st = resp_parse(S("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n"),
			HTTP_METHOD_GET, &r);
	ok(st == 0 && r.keep_alive, "1.0 response with keep-alive");
	st = resp_parse(S("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"),
			HTTP_METHOD_GET, &r);
	ok(st == 0 && !r.keep_alive && r.connection_close, "Connection: close response");
	st = resp_parse(S("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n"), HTTP_METHOD_GET, &r);
	ok(st == 0 && r.reason.len == 0, "status line without reason");
	st = resp_parse(S("HTTP/1.1 200 Connection established\r\n\r\n"), HTTP_METHOD_CONNECT, &r);
	ok(st == 0 && r.upgrade && r.body == HTTP_BODY_NONE, "2xx to CONNECT is a tunnel");
	st = resp_parse(S("HTTP/1.1 404 Not Found\r\nSet-Cookie: a=b\r\nSet-Cookie: c=d\r\n"
			  "Content-Length: 3\r\n\r\n"),
			HTTP_METHOD_GET, &r);
	ok(st == 0 && r.nheaders == 3 && http_header_find(hdrs, r.nheaders, 1, S("set-cookie")) == 1,
	   "repeated Set-Cookie kept");
	const struct http_header *sc = http_response_header(&r, "SET-COOKIE");
	ok(sc && slice_is(sc->value, "a=b") && !http_response_header(&r, "Location"),
	   "response header lookup");

	static const struct bad_case rbad[] = {
		{ "TE and CL", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", 502 },
		{ "duplicate CL", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n", 502 },
		{ "bad CL", "HTTP/1.1 200 OK\r\nContent-Length: 3a\r\n\r\n", 502 },
		{ "TE in 1.0", "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 502 },
		{ "lowercase version", "http/1.1 200 OK\r\n\r\n", 502 },
		{ "HTTP/2", "HTTP/2.0 200 OK\r\n\r\n", 502 },
		{ "two-digit status", "HTTP/1.1 20 OK\r\n\r\n", 502 },
		{ "status 600", "HTTP/1.1 600 X\r\n\r\n", 502 },
		{ "status 099", "HTTP/1.1 099 X\r\n\r\n", 502 },
		{ "no space after status", "HTTP/1.1 200OK\r\n\r\n", 502 },
		{ "obs-fold", "HTTP/1.1 200 OK\r\nA: b\r\n c\r\n\r\n", 502 },
		{ "bare LF", "HTTP/1.1 200 OK\nA: b\r\n\r\n", 502 },
		{ "NUL in value", "HTTP/1.1 200 OK\r\nA: \x01\r\n\r\n", 502 },
		{ "space before colon", "HTTP/1.1 200 OK\r\nContent-Length : 3\r\n\r\n", 502 },
		{ "garbage", "<html>\r\n\r\n", 502 },
	};
	for (size_t i = 0; i < ELEMENTSOF(rbad); i++) {
		st = resp_parse(rbad[i].raw, strlen(rbad[i].raw), HTTP_METHOD_GET, &r);
		is_int(st, rbad[i].status, rbad[i].name);
	}
	/* A long Set-Cookie line (100 KB) is fine for responses. */
	_cleanup_free_ char *big = repeat(100000, 'c');
	_cleanup_free_ char *buf = malloc(100100);
	if (!buf)
		tap_bail("out of memory");
	int len = sprintf(buf, "HTTP/1.1 200 OK\r\nSet-Cookie: %s\r\nContent-Length: 0\r\n\r\n", big);
	st = resp_parse(buf, (size_t)len, HTTP_METHOD_GET, &r);
	is_int(st, 0, "100 KB response header line accepted (limit 512 KB)");
}

static void test_helpers(void)
{
	ok(strcmp(http_status_reason(404), "Not Found") == 0 &&
		   strcmp(http_status_reason(503), "Service Unavailable") == 0 &&
		   strcmp(http_status_reason(431), "Request Header Fields Too Large") == 0 &&
		   strcmp(http_status_reason(799), "Unknown") == 0,
	   "status reasons");
	ok(strcmp(http_method_name(HTTP_METHOD_PATCH), "PATCH") == 0 &&
		   !http_method_name(HTTP_METHOD_OTHER) && !http_method_name(_HTTP_METHOD_MAX),
	   "method names");
	ok(http_request_id_valid(S("abcdefghij0123456789")) &&
		   http_request_id_valid(S("a+b/c=d-e+f/g=h-i+j/k=l")),
	   "valid request ids");
	_cleanup_free_ char *r200 = repeat(200, 'a');
	_cleanup_free_ char *r201 = repeat(201, 'a');
	ok(http_request_id_valid(r200, 200) && !http_request_id_valid(r201, 201) &&
		   !http_request_id_valid(S("abcdefghij012345678")) &&
		   !http_request_id_valid(S("abcdefghij0123456789_")) &&
		   !http_request_id_valid(S("abcdefghij 0123456789")),
	   "invalid request ids: length and characters");

	struct http_request req;
	int st = req_status(S("GET / HTTP/1.1\r\nHost: a\r\nConnection: X-Secret, keep-alive\r\n"
			      "Keep-Alive: 5\r\nX-Secret: 1\r\nX-Other: 2\r\nTE: trailers\r\n"
			      "Connection: content-length, host\r\nContent-Length: 0\r\n\r\n"),
			    NULL, &req);
	ok(st == 0, "hop-by-hop request parses");
	const struct http_header *h = req.headers;
	size_t n = req.nheaders;
	ok(http_request_connection_has_token(&req, S("x-secret")) &&
		   !http_request_connection_has_token(&req, S("x-other")),
	   "Connection tokens");
	bool drop[16];
	for (size_t i = 0; i < n; i++)
		drop[i] = http_header_is_hop_by_hop(h, n, &h[i]);
	ok(!drop[0] && drop[1] && drop[2] && drop[3] && !drop[4] && drop[5] && drop[6] &&
		   !drop[7],
	   "hop-by-hop: Connection, Keep-Alive, TE, named fields; never Host or Content-Length");
	ok(http_list_has_token(S(" a ,b,, c "), S("c")) && !http_list_has_token(S("ab"), S("a")),
	   "list token matching");
	ok(http_str_case_eq(S("Content-Length"), S("content-length")) &&
		   !http_str_case_eq(S("a"), S("ab")),
	   "case-insensitive compare");
}

int main(void)
{
	test_simple_get();
	test_keep_alive();
	test_target_forms();
	test_framing();
	test_leading_and_lenient();
	test_limits();
	test_pipelining();
	test_bytewise();
	test_chunked();
	test_responses();
	test_helpers();
	test_bad_requests();
	return tap_done();
}
