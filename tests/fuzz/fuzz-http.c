/* Fuzz target for common/http: the input is a stream of pipelined requests (with bodies)
 * and, separately, a response. Every parse is done in one shot and split at a pseudo-random
 * point over a moved buffer; both must agree, and results must respect the invariants. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CAP 64

static void fail(const char *what)
{
	fprintf(stderr, "fuzz-http: %s\n", what);
	abort();
}

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x;
}

static bool within(struct http_str s, const char *buf, size_t len)
{
	return s.ptr >= buf && s.ptr + s.len <= buf + len;
}

static void check_headers(const struct http_header *h, size_t n, const char *buf, size_t len)
{
	for (size_t i = 0; i < n; i++) {
		if (!within(h[i].name, buf, len) || !within(h[i].value, buf, len))
			fail("header slice outside the buffer");
		if (h[i].name.len == 0 || memchr(h[i].name.ptr, ':', h[i].name.len))
			fail("bad header name");
		if (memchr(h[i].value.ptr, '\r', h[i].value.len) ||
		    memchr(h[i].value.ptr, '\n', h[i].value.len) ||
		    memchr(h[i].value.ptr, '\0', h[i].value.len))
			fail("CR, LF or NUL in a header value");
		if (h[i].value.len && (h[i].value.ptr[0] == ' ' ||
				       h[i].value.ptr[h[i].value.len - 1] == ' '))
			fail("untrimmed value");
	}
}

static bool same_str(struct http_str a, const char *abuf, struct http_str b, const char *bbuf)
{
	return a.len == b.len && (a.len == 0 || a.ptr - abuf == b.ptr - bbuf);
}

static bool same_headers(const struct http_header *a, const char *abuf,
			 const struct http_header *b, const char *bbuf, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!same_str(a[i].name, abuf, b[i].name, bbuf) ||
		    !same_str(a[i].value, abuf, b[i].value, bbuf))
			return false;
	return true;
}

/* A heap copy of buf[0..n), so that split parsing sees a buffer that moved. */
static char *dup_n(const uint8_t *buf, size_t n)
{
	char *c = malloc(n ? n : 1);
	if (!c)
		abort();
	memcpy(c, buf, n);
	return c;
}

/* Parse one request head in one shot and split at `cut`; returns the one-shot result. */
static ssize_t request_both(const struct http_limits *lim, const uint8_t *in, size_t len,
			    size_t cut, struct http_request *ret)
{
	static struct http_header h1[CAP], h2[CAP];
	char *full = dup_n(in, len);
	struct http_request a;
	http_request_init(&a, lim, h1, CAP);
	ssize_t n1 = http_request_parse(&a, full, len);

	char *part = dup_n(in, cut);
	struct http_request b;
	http_request_init(&b, lim, h2, CAP);
	ssize_t n2 = http_request_parse(&b, part, cut);
	free(part);
	char *again = dup_n(in, len);
	if (n2 == 0)
		n2 = http_request_parse(&b, again, len);
	else if (n2 > 0 && (size_t)n2 <= cut)
		n2 = http_request_parse(&b, again, len); /* done stays done over a moved buffer */

	if (n1 != n2)
		fail("request: split result differs");
	if (n1 < 0 && (a.error_status != b.error_status || a.error_reason != b.error_reason))
		fail("request: split error differs");
	if (n1 < 0 && a.error_status != 400 && a.error_status != 414 && a.error_status != 417 &&
	    a.error_status != 431 && a.error_status != 501 && a.error_status != 505)
		fail("request: unexpected error status");
	if (n1 > 0) {
		if ((size_t)n1 > len || a.head_len != (size_t)n1)
			fail("request: head length");
		if (a.nheaders != b.nheaders || a.method != b.method || a.body != b.body ||
		    a.content_length != b.content_length || a.keep_alive != b.keep_alive ||
		    a.upgrade != b.upgrade || a.expect_continue != b.expect_continue ||
		    a.version_minor != b.version_minor || a.target_form != b.target_form ||
		    !same_str(a.method_str, full, b.method_str, again) ||
		    !same_str(a.target, full, b.target, again) ||
		    !same_str(a.host, full, b.host, again) ||
		    !same_str(a.path, full, b.path, again) ||
		    !same_headers(h1, full, h2, again, a.nheaders))
			fail("request: split facts differ");
		if (a.nheaders > CAP || a.nheaders > lim->headers_max)
			fail("request: too many headers");
		check_headers(h1, a.nheaders, full, (size_t)n1);
		if (!within(a.target, full, (size_t)n1) || !within(a.host, full, (size_t)n1) ||
		    a.target.len == 0 || a.method_str.len == 0)
			fail("request: slices");
		if (a.version_minor == 1 && !a.has_host_header)
			fail("request: HTTP/1.1 without Host accepted");
		if (a.body == HTTP_BODY_CHUNKED && a.version_minor == 0)
			fail("request: chunked HTTP/1.0");
		if (a.body == HTTP_BODY_CLOSE)
			fail("request: close-delimited request");
		if (a.keep_alive && a.connection_close)
			fail("request: keep-alive with close");
	}
	*ret = a;
	free(full);
	free(again);
	return n1;
}

/* Run the chunked decoder over buf in one shot and in two pieces; returns bytes consumed
 * (or -1 on error / not done). */
static ssize_t chunked_both(const struct http_limits *lim, const uint8_t *in, size_t len,
			    size_t cut)
{
	char *full = dup_n(in, len);
	struct http_chunked a, b;
	http_chunked_init(&a, lim);
	http_chunked_init(&b, lim);
	ssize_t n1 = http_chunked_feed(&a, full, len);

	ssize_t n2 = http_chunked_feed(&b, full, cut);
	if (n2 >= 0 && !b.done) {
		ssize_t m = http_chunked_feed(&b, full + cut, len - cut);
		n2 = m < 0 ? m : n2 + m;
	}
	/* And through http_chunked_next: the data spans must add up. */
	struct http_chunked c;
	http_chunked_init(&c, lim);
	size_t off = 0;
	uint64_t data = 0;
	ssize_t n3 = 0;
	while (off < len && !c.done) {
		const char *d;
		size_t dl;
		n3 = http_chunked_next(&c, full + off, len - off, &d, &dl);
		if (n3 < 0)
			break;
		if (dl && (d < full + off || d + dl > full + off + (size_t)n3))
			fail("chunked: data span outside the consumed bytes");
		data += dl;
		off += (size_t)n3;
	}
	if (n3 >= 0)
		n3 = (ssize_t)off;

	if (n1 != n2 || n1 != n3 || a.done != b.done || a.done != c.done)
		fail("chunked: split result differs");
	if (n1 < 0 && (a.error_status != b.error_status || a.error_reason != b.error_reason ||
		       a.error_status != c.error_status))
		fail("chunked: split error differs");
	if (n1 >= 0 && (a.body_bytes != b.body_bytes || a.body_bytes != data))
		fail("chunked: body bytes differ");
	if (n1 >= 0 && (size_t)n1 > len)
		fail("chunked: consumed more than given");
	if (n1 >= 0 && !a.done && (size_t)n1 != len)
		fail("chunked: stopped early without being done");
	free(full);
	return (n1 < 0 || !a.done) ? -1 : n1;
}

static void response_both(const struct http_limits *lim, const uint8_t *in, size_t len,
			  size_t cut, enum http_method m)
{
	static struct http_header h1[CAP], h2[CAP];
	char *full = dup_n(in, len);
	struct http_response a, b;
	http_response_init(&a, lim, h1, CAP, m);
	http_response_init(&b, lim, h2, CAP, m);
	ssize_t n1 = http_response_parse(&a, full, len);
	char *part = dup_n(in, cut);
	ssize_t n2 = http_response_parse(&b, part, cut);
	free(part);
	if (n2 >= 0)
		n2 = http_response_parse(&b, full, len);
	if (n1 != n2)
		fail("response: split result differs");
	if (n1 < 0 && (a.error_status != 502 || b.error_status != 502 ||
		       a.error_reason != b.error_reason))
		fail("response: split error differs");
	if (n1 > 0) {
		if (a.status != b.status || a.body != b.body || a.keep_alive != b.keep_alive ||
		    a.upgrade != b.upgrade || a.interim != b.interim || a.nheaders != b.nheaders ||
		    a.content_length != b.content_length)
			fail("response: split facts differ");
		if (a.status < 100 || a.status > 599)
			fail("response: status range");
		if ((m == HTTP_METHOD_HEAD || a.status == 204 || a.status == 304 ||
		     a.status < 200) &&
		    a.body != HTTP_BODY_NONE)
			fail("response: body where none is allowed");
		if (a.body == HTTP_BODY_CLOSE && a.keep_alive)
			fail("response: close-delimited keep-alive");
		check_headers(h1, a.nheaders, full, (size_t)n1);
		if (a.body == HTTP_BODY_CHUNKED)
			chunked_both(lim, in + n1, len - (size_t)n1, (len - (size_t)n1) / 2);
	}
	free(full);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	/* First byte: options. Small limits make the limit paths reachable. */
	uint8_t opt = data[0];
	data++;
	size--;
	struct http_limits lim = http_limits_default;
	if (opt & 1) {
		lim.request_line_max = 40;
		lim.header_line_max = 32;
		lim.header_name_max = 8;
		lim.headers_max = 6;
		lim.response_line_max = 48;
		lim.chunk_line_max = 12;
		lim.leading_crlf_max = 1;
	}
	if (opt & 2)
		lim.flags |= HTTP_LENIENT_LF;
	if (opt & 4)
		lim.flags |= HTTP_LENIENT_TARGET;
	if (opt & 0x80)
		lim.flags |= HTTP_STRICT_TARGET;

	uint64_t seed = 0x9e3779b97f4a7c15ull ^ size;
	for (size_t i = 0; i < size && i < 64; i++)
		seed = mix(seed ^ data[i]);

	/* Requests, pipelined, with their bodies. */
	size_t off = 0;
	for (int round = 0; round < 8 && off < size; round++) {
		size_t len = size - off;
		size_t cut = (size_t)(mix(seed + (uint64_t)round) % (len + 1));
		struct http_request req;
		ssize_t n = request_both(&lim, data + off, len, cut, &req);
		if (n <= 0)
			break;
		if (lim.flags == 0) {
			/* What strict mode accepts, lenient mode accepts the same way. */
			struct http_limits lax = lim;
			lax.flags = HTTP_LENIENT_LF | HTTP_LENIENT_TARGET;
			struct http_request l;
			http_request_init(&l, &lax, NULL, 0);
			if (http_request_parse(&l, (const char *)data + off, len) != n ||
			    l.body != req.body || l.content_length != req.content_length ||
			    l.keep_alive != req.keep_alive || l.host.len != req.host.len)
				fail("request: lenient mode disagrees with strict mode");
		}
		off += (size_t)n;
		if (req.body == HTTP_BODY_LENGTH) {
			if (req.content_length > size - off)
				break;
			off += (size_t)req.content_length;
		} else if (req.body == HTTP_BODY_CHUNKED) {
			len = size - off;
			cut = (size_t)(mix(seed ^ (uint64_t)off) % (len + 1));
			ssize_t c = chunked_both(&lim, data + off, len, cut);
			if (c < 0)
				break;
			off += (size_t)c;
		}
	}

	/* The whole input as a chunked body and as a response. */
	chunked_both(&lim, data, size, (size_t)(seed % (size + 1)));
	enum http_method m = (enum http_method)((opt >> 3) % _HTTP_METHOD_MAX);
	response_both(&lim, data, size, (size_t)(mix(seed) % (size + 1)), m);
	return 0;
}
