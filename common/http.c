/* HTTP/1.1 request and response head parsing (RFC 9112): incremental line by line over the
 * caller's buffer, strict grammar, framing decisions. See http.h for the contract. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "common/http.h"
#include "common/http-internal.h"

const struct http_limits http_limits_default = {
	.request_line_max = HTTP_REQUEST_LINE_MAX_DEFAULT,
	.header_line_max = HTTP_HEADER_LINE_MAX_DEFAULT,
	.header_name_max = HTTP_HEADER_NAME_MAX_DEFAULT,
	.headers_max = HTTP_HEADERS_MAX_DEFAULT,
	.response_line_max = HTTP_RESPONSE_LINE_MAX_DEFAULT,
	.chunk_line_max = HTTP_CHUNK_LINE_MAX_DEFAULT,
	.leading_crlf_max = HTTP_LEADING_CRLF_MAX_DEFAULT,
	.flags = 0,
};

enum {
	STAGE_START = 0,
	STAGE_HEADERS,
	STAGE_DONE,
	STAGE_ERROR,
	_STAGE_MAX,
};

/* Bits of http_parse_state.seen. */
enum {
	SEEN_CL = 1u << 0,
	SEEN_TE = 1u << 1,
	SEEN_TE_CHUNKED = 1u << 2,      /* "chunked" appeared */
	SEEN_TE_CHUNKED_LAST = 1u << 3, /* the last coding so far is "chunked" */
	SEEN_TE_UNKNOWN = 1u << 4,      /* a coding we do not know (501 for requests) */
	SEEN_HOST = 1u << 5,
	SEEN_UPGRADE = 1u << 6,
	SEEN_CONN_CLOSE = 1u << 7,
	SEEN_CONN_KEEP_ALIVE = 1u << 8,
	SEEN_CONN_UPGRADE = 1u << 9,
	SEEN_EXPECT_CONTINUE = 1u << 10,
};

/* A token s of length n equals the lowercase literal lit (same length): '|' 0x20 folds case
 * for letters and maps no other token character onto a letter or '-'. */
static inline bool token_is(const char *s, const char *lit, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((char)(s[i] | 0x20) != lit[i])
			return false;
	return true;
}

/* What one parse step says. */
struct perr {
	int status;
	const char *reason;
};

#define PERR(s, r) ((struct perr){ (s), (r) })
#define POK ((struct perr){ 0, NULL })

static void state_reset(struct http_parse_state *p)
{
	*p = (struct http_parse_state){ .host_idx = -1 };
}

/* The caller moved its buffer (realloc): stored header slices follow it. */
static void rebase(struct http_parse_state *p, struct http_header *headers, size_t n,
		   const char *buf)
{
	if (p->base && p->base != buf && headers) {
		uintptr_t old = (uintptr_t)p->base, now = (uintptr_t)buf;
		for (size_t i = 0; i < n; i++) {
			headers[i].name.ptr = (const char *)((uintptr_t)headers[i].name.ptr - old + now);
			headers[i].value.ptr =
				(const char *)((uintptr_t)headers[i].value.ptr - old + now);
		}
	}
	p->base = buf;
}

/*
 * Find the next complete line starting at p->line_start. Returns 1 and sets *ret_end (end of
 * content, before CR) and *ret_next (after LF); 0 when no LF yet (p->scan advances); or -1
 * with *err set (line longer than max, bare LF in strict mode).
 */
static int next_line(struct http_parse_state *p, const char *buf, size_t len, size_t max,
		     const struct http_limits *lim, struct perr too_long, size_t *ret_end,
		     size_t *ret_next, struct perr *err)
{
	size_t ls = p->line_start;
	size_t from = p->scan > ls ? p->scan : ls;
	const char *lf = from < len ? memchr(buf + from, '\n', len - from) : NULL;
	if (!lf) {
		p->scan = len;
		/* Content of max bytes plus a CR may still be waiting for its LF. */
		if (len - ls > max + 1) {
			*err = too_long;
			return -1;
		}
		return 0;
	}
	size_t nl = (size_t)(lf - buf);
	size_t end = nl;
	bool crlf = end > ls && buf[end - 1] == '\r';
	if (crlf)
		end--;
	if (end - ls > max) {
		*err = too_long;
		return -1;
	}
	if (!crlf && !(lim->flags & HTTP_LENIENT_LF)) {
		*err = PERR(400, "bare LF line terminator");
		return -1;
	}
	*ret_end = end;
	*ret_next = nl + 1;
	p->scan = nl + 1;
	return 1;
}

static struct perr bad_char(char c, const char *what)
{
	if (c == '\0')
		return PERR(400, "NUL byte");
	if (c == '\r')
		return PERR(400, "bare CR");
	if (c == '\n')
		return PERR(400, "bare LF");
	return PERR(400, what);
}

static size_t value_scan_tail(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!is_vchar_ws(s[i]))
			return i;
	return n;
}

#ifdef __SSE2__
/* Bit i set when byte i of the 16 at p may not appear in a field value (CTL but HTAB, DEL). */
static inline unsigned bad_value16(const char *p)
{
	const __m128i c1f = _mm_set1_epi8(0x1f), ht = _mm_set1_epi8(0x09),
		      del = _mm_set1_epi8(0x7f);
	__m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
	__m128i ctl = _mm_cmpeq_epi8(_mm_max_epu8(v, c1f), c1f); /* v <= 0x1f */
	ctl = _mm_andnot_si128(_mm_cmpeq_epi8(v, ht), ctl);
	return (unsigned)_mm_movemask_epi8(_mm_or_si128(ctl, _mm_cmpeq_epi8(v, del)));
}

/* Bit i set when byte i of the 16 at p is not one of [A-Za-z0-9-], the usual name bytes. */
static inline unsigned unusual_name16(const char *p)
{
	__m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
	__m128i l = _mm_sub_epi8(_mm_or_si128(v, _mm_set1_epi8(0x20)), _mm_set1_epi8('a'));
	__m128i letter = _mm_cmpeq_epi8(_mm_min_epu8(l, _mm_set1_epi8(25)), l);
	__m128i d = _mm_sub_epi8(v, _mm_set1_epi8('0'));
	__m128i digit = _mm_cmpeq_epi8(_mm_min_epu8(d, _mm_set1_epi8(9)), d);
	__m128i dash = _mm_cmpeq_epi8(v, _mm_set1_epi8('-'));
	unsigned ok = (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(letter, digit), dash));
	return ~ok & 0xffffu;
}
#endif

/*
 * Offset of the first byte of line[from..n) that may not appear in a field value, or n.
 * The bytes line[0..from) are a field name, ':' and OWS, all valid value bytes, so 16-byte
 * blocks may overlap them: this is the parser's hot loop.
 */
static size_t value_scan(const char *line, size_t from, size_t n)
{
	size_t i = from;
#ifdef __SSE2__
	if (n >= 16) {
		for (; i + 16 <= n; i += 16)
			if (bad_value16(line + i))
				return i + value_scan_tail(line + i, n - i);
		if (i < n && bad_value16(line + n - 16))
			return i + value_scan_tail(line + i, n - i);
		return n;
	}
#endif
	return i + value_scan_tail(line + i, n - i);
}

/* Offset of the first byte of line[0..n) that is not a tchar (normally the ':'), or n. */
static size_t name_scan(const char *line, size_t n)
{
	size_t i = 0;
#ifdef __SSE2__
	if (n >= 16) {
		for (;;) {
			unsigned m;
			if (i + 16 <= n)
				m = unusual_name16(line + i);
			else if (i < n)
				m = unusual_name16(line + n - 16) >> (i - (n - 16));
			else
				return n;
			if (!m) {
				i += 16;
				continue;
			}
			i += (size_t)__builtin_ctz(m);
			if (!is_tchar(line[i]))
				return i;
			i++; /* a rarer tchar such as '_' or '.' */
		}
	}
#endif
	while (i < n && is_tchar(line[i]))
		i++;
	return i;
}

/* "HTTP/" DIGIT "." DIGIT: 0 ok (sets *minor), else an error. */
static struct perr parse_version(const char *s, size_t n, unsigned *ret_minor, int bad_major)
{
	if (n != 8 || memcmp(s, "HTTP/", 5) != 0 || !is_digit(s[5]) || s[6] != '.' ||
	    !is_digit(s[7])) {
		for (size_t i = 0; i < n; i++)
			if (s[i] == '\0' || s[i] == '\r')
				return bad_char(s[i], "");
		return PERR(400, "malformed HTTP version");
	}
	if (s[5] != '1')
		return PERR(bad_major, "HTTP version not supported");
	*ret_minor = s[7] == '0' ? 0 : 1;
	return POK;
}

/* A list of coding tokens: *SP token *( "," [SP] token ), nothing else. Updates p->seen. */
static struct perr parse_te(struct http_parse_state *p, const char *s, size_t n)
{
	size_t i = 0;
	while (i < n && s[i] == ' ')
		i++;
	if (i == n)
		return PERR(400, "empty Transfer-Encoding");
	for (;;) {
		size_t t = i;
		while (i < n && is_tchar(s[i]))
			i++;
		if (i == t)
			return PERR(400, "malformed Transfer-Encoding");
		const char *tok = s + t;
		size_t tl = i - t;
		if (http_str_case_eq(tok, tl, "chunked", 7)) {
			if (p->seen & SEEN_TE_CHUNKED)
				return PERR(400, "chunked applied twice");
			p->seen |= SEEN_TE_CHUNKED | SEEN_TE_CHUNKED_LAST;
		} else {
			p->seen &= ~SEEN_TE_CHUNKED_LAST;
			if (!http_str_case_eq(tok, tl, "gzip", 4) &&
			    !http_str_case_eq(tok, tl, "x-gzip", 6) &&
			    !http_str_case_eq(tok, tl, "deflate", 7) &&
			    !http_str_case_eq(tok, tl, "compress", 8) &&
			    !http_str_case_eq(tok, tl, "x-compress", 10))
				p->seen |= SEEN_TE_UNKNOWN;
		}
		p->te_codings++;
		if (i == n)
			return POK;
		if (s[i] != ',')
			return PERR(400, "malformed Transfer-Encoding");
		i++;
		if (i < n && s[i] == ' ')
			i++;
	}
}

/* *SP 1*DIGIT, below 2^63, nothing else. */
static struct perr parse_content_length(const char *s, size_t n, uint64_t *ret)
{
	size_t i = 0;
	while (i < n && s[i] == ' ')
		i++;
	if (i == n)
		return PERR(400, "empty Content-Length");
	uint64_t v = 0;
	for (; i < n; i++) {
		if (!is_digit(s[i]))
			return PERR(400, "malformed Content-Length");
		unsigned d = (unsigned)(s[i] - '0');
		if (v > ((uint64_t)INT64_MAX - d) / 10)
			return PERR(400, "Content-Length too large");
		v = v * 10 + d;
	}
	*ret = v;
	return POK;
}

static void parse_connection(struct http_parse_state *p, const char *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == ','))
			i++;
		size_t t = i;
		while (i < n && s[i] != ',')
			i++;
		size_t e = i;
		while (e > t && (s[e - 1] == ' ' || s[e - 1] == '\t'))
			e--;
		if (http_str_case_eq(s + t, e - t, "close", 5))
			p->seen |= SEEN_CONN_CLOSE;
		else if (http_str_case_eq(s + t, e - t, "keep-alive", 10))
			p->seen |= SEEN_CONN_KEEP_ALIVE;
		else if (http_str_case_eq(s + t, e - t, "upgrade", 7))
			p->seen |= SEEN_CONN_UPGRADE;
	}
}

/* uri-host [ ":" port ]; port required when need_port. Empty is valid unless need_port. */
bool http_authority_valid(const char *s, size_t n, bool need_port)
{
	size_t i = 0;
	if (n > 0 && s[0] == '[') {
		i = 1;
		while (i < n && s[i] != ']') {
			if (!is_hexdig(s[i]) && s[i] != ':' && s[i] != '.' && s[i] != 'v' &&
			    s[i] != 'V')
				return false;
			i++;
		}
		if (i == n || i == 1)
			return false;
		i++;
	} else {
		while (i < n && is_regname(s[i]))
			i++;
	}
	if (i == n)
		return !need_port;
	if (s[i] != ':')
		return false;
	if (need_port && i + 1 == n)
		return false;
	for (i++; i < n; i++)
		if (!is_digit(s[i]))
			return false;
	return true;
}

/*
 * A field line [ls, end): validate it, store it, note framing fields. `response` selects
 * the response rules. Returns the error, if any.
 */
static struct perr field_line(struct http_parse_state *p, const struct http_limits *lim,
			      struct http_header *headers, size_t cap, size_t *nheaders,
			      uint64_t *content_length, bool response, const char *buf, size_t ls,
			      size_t end)
{
	int big = response ? 502 : 431;
	const char *s = buf + ls;
	size_t n = end - ls;

	if (s[0] == ' ' || s[0] == '\t')
		return PERR(400, "obs-fold or whitespace before field name");
	size_t i = name_scan(s, n);
	if (i == n)
		return PERR(400, "field line without colon");
	if (s[i] != ':') {
		if (s[i] == ' ' || s[i] == '\t')
			return PERR(400, "whitespace before colon");
		return bad_char(s[i], "invalid character in field name");
	}
	if (i == 0)
		return PERR(400, "empty field name");
	size_t name_len = i;
	if (!response && name_len > lim->header_name_max)
		return PERR(big, "field name too long");
	size_t raw = i + 1; /* value including OWS */
	i = value_scan(s, raw, n);
	if (i < n)
		return bad_char(s[i], "invalid character in field value");
	size_t vs = raw, ve = n;
	while (vs < ve && (s[vs] == ' ' || s[vs] == '\t'))
		vs++;
	while (ve > vs && (s[ve - 1] == ' ' || s[ve - 1] == '\t'))
		ve--;

	size_t max = lim->headers_max;
	if (headers && cap < max)
		max = cap;
	if (*nheaders >= max)
		return PERR(big, "too many header fields");

	const char *v = s + vs;
	size_t vl = ve - vs;
	struct perr e = POK;
	switch (name_len) {
	case 4:
		if (!response && token_is(s, "host", 4)) {
			if (p->seen & SEEN_HOST)
				return PERR(400, "duplicate Host");
			if (!http_authority_valid(v, vl, false))
				return PERR(400, "invalid Host");
			p->seen |= SEEN_HOST;
			p->host_idx = (int32_t)*nheaders;
			p->host_off = (uint32_t)(ls + vs);
			p->host_len = (uint32_t)vl;
		}
		break;
	case 6:
		if (!response && token_is(s, "expect", 6)) {
			if (!http_str_case_eq(v, vl, "100-continue", 12))
				return PERR(417, "unsupported expectation");
			p->seen |= SEEN_EXPECT_CONTINUE;
		}
		break;
	case 7:
		if (token_is(s, "upgrade", 7))
			p->seen |= SEEN_UPGRADE;
		break;
	case 10:
		if (token_is(s, "connection", 10))
			parse_connection(p, v, vl);
		break;
	case 14:
		if (token_is(s, "content-length", 14)) {
			if (p->seen & SEEN_CL)
				return PERR(400, "duplicate Content-Length");
			if (memchr(s + raw, '\t', n - raw) ||
			    (n > raw && s[n - 1] == ' '))
				return PERR(400, "malformed Content-Length");
			e = parse_content_length(s + raw, n - raw, content_length);
			if (e.status)
				return e;
			p->seen |= SEEN_CL;
		}
		break;
	case 17:
		if (token_is(s, "transfer-encoding", 17)) {
			if (memchr(s + raw, '\t', n - raw) ||
			    (n > raw && s[n - 1] == ' '))
				return PERR(400, "malformed Transfer-Encoding");
			e = parse_te(p, s + raw, n - raw);
			if (e.status)
				return e;
			p->seen |= SEEN_TE;
		}
		break;
	default:
		break;
	}

	if (headers) {
		headers[*nheaders] = (struct http_header){
			.name = { s, name_len },
			.value = { v, vl },
		};
	}
	(*nheaders)++;
	return POK;
}

/* The request-line [ls, end). */
static struct perr request_line(struct http_request *req, const char *buf, size_t ls,
				size_t end)
{
	struct http_parse_state *p = &req->_p;
	const char *s = buf + ls;
	size_t n = end - ls;
	size_t i = 0;

	while (i < n && is_tchar(s[i]))
		i++;
	if (i == 0 || i == n || s[i] != ' ') {
		if (i < n && s[i] != ' ')
			return bad_char(s[i], "invalid method");
		return PERR(400, "malformed request line");
	}
	p->method_off = (uint32_t)ls;
	p->method_len = (uint32_t)i;
	size_t t = ++i;
	while (i < n && s[i] != ' ')
		i++;
	if (i == t || i == n)
		return PERR(400, "malformed request line");
	size_t tl = i - t;
	struct perr e = parse_version(s + i + 1, n - i - 1, &req->version_minor, 505);
	if (e.status)
		return e;

	const char *tg = s + t;
	uint32_t fl = req->limits->flags;
	const uint8_t *tab = (fl & HTTP_STRICT_TARGET)	  ? http_target_rfc_tab
			     : (fl & HTTP_LENIENT_TARGET) ? http_target_lenient_tab
							  : http_target_tab;
	for (size_t k = 0; k < tl; k++)
		if (!tab[(uint8_t)tg[k]])
			return bad_char(tg[k], "invalid character in request-target");

	enum http_method m = http_method_lookup(s, p->method_len);
	p->target_off = (uint32_t)(ls + t);
	p->target_len = (uint32_t)tl;
	if (m == HTTP_METHOD_CONNECT) {
		if (!http_authority_valid(tg, tl, true) || tg[0] == ':')
			return PERR(400, "CONNECT needs authority-form");
		req->target_form = HTTP_TARGET_AUTHORITY;
		p->thost_off = p->target_off;
		p->thost_len = (uint32_t)tl;
	} else if (tg[0] == '/') {
		req->target_form = HTTP_TARGET_ORIGIN;
		p->tpath_off = p->target_off;
		p->tpath_len = (uint32_t)tl;
	} else if (tl == 1 && tg[0] == '*') {
		if (m != HTTP_METHOD_OPTIONS)
			return PERR(400, "asterisk-form is for OPTIONS only");
		req->target_form = HTTP_TARGET_ASTERISK;
	} else {
		size_t k;
		if (tl > 7 && http_str_case_eq(tg, 7, "http://", 7))
			k = 7;
		else if (tl > 8 && http_str_case_eq(tg, 8, "https://", 8))
			k = 8;
		else
			return PERR(400, "malformed request-target");
		size_t a = k;
		while (k < tl && tg[k] != '/' && tg[k] != '?')
			k++;
		if (k == a || !http_authority_valid(tg + a, k - a, false) || tg[a] == ':')
			return PERR(400, "invalid authority in request-target");
		req->target_form = HTTP_TARGET_ABSOLUTE;
		p->thost_off = (uint32_t)(ls + t + a);
		p->thost_len = (uint32_t)(k - a);
		p->tpath_off = (uint32_t)(ls + t + k);
		p->tpath_len = (uint32_t)(tl - k);
	}
	req->method = m;
	return POK;
}

/* Checks that need the whole head, and the derived facts. */
static struct perr request_finish(struct http_request *req)
{
	struct http_parse_state *p = &req->_p;
	bool v11 = req->version_minor >= 1;

	if (v11 && !(p->seen & SEEN_HOST))
		return PERR(400, "missing Host");
	if (p->seen & SEEN_TE) {
		if (!v11)
			return PERR(400, "Transfer-Encoding in HTTP/1.0");
		if (p->seen & SEEN_CL)
			return PERR(400, "Transfer-Encoding with Content-Length");
		if (!(p->seen & SEEN_TE_CHUNKED_LAST))
			return PERR(400, "Transfer-Encoding does not end in chunked");
		if (p->seen & SEEN_TE_UNKNOWN)
			return PERR(501, "unknown transfer coding");
		req->body = HTTP_BODY_CHUNKED;
	} else if (p->seen & SEEN_CL) {
		req->body = HTTP_BODY_LENGTH;
	} else {
		req->body = HTTP_BODY_NONE;
	}

	req->connection_close = p->seen & SEEN_CONN_CLOSE;
	req->keep_alive = !req->connection_close && (v11 || (p->seen & SEEN_CONN_KEEP_ALIVE));
	req->expect_continue = v11 && (p->seen & SEEN_EXPECT_CONTINUE);
	req->upgrade = v11 && (p->seen & SEEN_UPGRADE) && (p->seen & SEEN_CONN_UPGRADE);
	req->has_host_header = p->seen & SEEN_HOST;
	return POK;
}

static void request_fill(struct http_request *req, const char *buf)
{
	struct http_parse_state *p = &req->_p;
	req->method_str = (struct http_str){ buf + p->method_off, p->method_len };
	req->target = (struct http_str){ buf + p->target_off, p->target_len };
	req->path = (struct http_str){ buf + p->tpath_off, p->tpath_len };
	if (req->target_form == HTTP_TARGET_ABSOLUTE || req->target_form == HTTP_TARGET_AUTHORITY)
		req->host = (struct http_str){ buf + p->thost_off, p->thost_len };
	else if (p->seen & SEEN_HOST)
		req->host = (struct http_str){ buf + p->host_off, p->host_len };
	else
		req->host = (struct http_str){ buf, 0 };
}

void http_request_init(struct http_request *req, const struct http_limits *limits,
		       struct http_header *headers, size_t headers_cap)
{
	*req = (struct http_request){
		.limits = limits ? limits : &http_limits_default,
		.headers = headers,
		.headers_cap = headers ? headers_cap : 0,
	};
	state_reset(&req->_p);
}

void http_request_reset(struct http_request *req)
{
	http_request_init(req, req->limits, req->headers, req->headers_cap);
}

static ssize_t request_fail(struct http_request *req, struct perr e)
{
	req->_p.stage = STAGE_ERROR;
	req->error_status = e.status;
	req->error_reason = e.reason;
	return -EBADMSG;
}

ssize_t http_request_parse(struct http_request *req, const char *buf, size_t len)
{
	struct http_parse_state *p = &req->_p;
	const struct http_limits *lim = req->limits;

	if (p->stage == STAGE_ERROR)
		return -EBADMSG;
	if (p->stage == STAGE_DONE) {
		if (len < req->head_len)
			return -EINVAL;
		rebase(p, req->headers, req->nheaders, buf);
		request_fill(req, buf);
		return (ssize_t)req->head_len;
	}
	if (len < p->scan)
		return -EINVAL;
	rebase(p, req->headers, req->nheaders, buf);

	for (;;) {
		size_t end, next;
		struct perr e;
		int r;
		if (p->stage == STAGE_START)
			r = next_line(p, buf, len, lim->request_line_max, lim,
				      PERR(414, "request line too long"), &end, &next, &e);
		else
			r = next_line(p, buf, len, lim->header_line_max, lim,
				      PERR(431, "header field line too long"), &end, &next, &e);
		if (r == 0)
			return 0;
		if (r < 0)
			return request_fail(req, e);

		size_t ls = p->line_start;
		p->line_start = next;
		if (p->stage == STAGE_START) {
			if (end == ls) {
				if (++p->leading > lim->leading_crlf_max)
					return request_fail(req, PERR(400, "too many empty lines"));
				continue;
			}
			e = request_line(req, buf, ls, end);
			if (e.status)
				return request_fail(req, e);
			p->stage = STAGE_HEADERS;
			continue;
		}
		if (end == ls) {
			e = request_finish(req);
			if (e.status)
				return request_fail(req, e);
			p->stage = STAGE_DONE;
			req->head_len = next;
			request_fill(req, buf);
			return (ssize_t)next;
		}
		e = field_line(p, lim, req->headers, req->headers_cap, &req->nheaders,
			       &req->content_length, false, buf, ls, end);
		if (e.status)
			return request_fail(req, e);
	}
}

/* The status-line [ls, end): HTTP-version SP 3DIGIT [ SP reason-phrase ]. */
static struct perr status_line(struct http_response *resp, const char *buf, size_t ls,
			       size_t end)
{
	struct http_parse_state *p = &resp->_p;
	const char *s = buf + ls;
	size_t n = end - ls;

	if (n < 12 || s[8] != ' ')
		return PERR(502, "malformed status line");
	struct perr e = parse_version(s, 8, &resp->version_minor, 502);
	if (e.status)
		return PERR(502, e.reason);
	if (!is_digit(s[9]) || !is_digit(s[10]) || !is_digit(s[11]) || s[9] == '0' ||
	    s[9] > '5')
		return PERR(502, "malformed status code");
	resp->status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
	if (n > 12 && s[12] != ' ')
		return PERR(502, "malformed status line");
	for (size_t i = 13; i < n; i++)
		if (!is_vchar_ws(s[i]))
			return PERR(502, bad_char(s[i], "invalid character in reason phrase").reason);
	p->reason_off = (uint32_t)(ls + (n > 12 ? 13 : 12));
	p->reason_len = (uint32_t)(n > 12 ? n - 13 : 0);
	return POK;
}

static struct perr response_finish(struct http_response *resp)
{
	struct http_parse_state *p = &resp->_p;
	bool v11 = resp->version_minor >= 1;
	int st = resp->status;

	if ((p->seen & SEEN_TE) && (p->seen & SEEN_CL))
		return PERR(502, "Transfer-Encoding with Content-Length");
	if ((p->seen & SEEN_TE) && !v11)
		return PERR(502, "Transfer-Encoding in HTTP/1.0");

	resp->connection_close = p->seen & SEEN_CONN_CLOSE;
	resp->keep_alive = !resp->connection_close && (v11 || (p->seen & SEEN_CONN_KEEP_ALIVE));
	resp->interim = st >= 100 && st < 200 && st != 101;
	resp->upgrade = st == 101 ||
			(resp->request_method == HTTP_METHOD_CONNECT && st >= 200 && st < 300);

	if (resp->request_method == HTTP_METHOD_HEAD || st < 200 || st == 204 || st == 304 ||
	    resp->upgrade)
		resp->body = HTTP_BODY_NONE;
	else if (p->seen & SEEN_TE)
		resp->body = (p->seen & SEEN_TE_CHUNKED_LAST) ? HTTP_BODY_CHUNKED : HTTP_BODY_CLOSE;
	else if (p->seen & SEEN_CL)
		resp->body = HTTP_BODY_LENGTH;
	else
		resp->body = HTTP_BODY_CLOSE;
	if (resp->body == HTTP_BODY_CLOSE || resp->upgrade)
		resp->keep_alive = false;
	return POK;
}

static void response_fill(struct http_response *resp, const char *buf)
{
	struct http_parse_state *p = &resp->_p;
	resp->reason = (struct http_str){ buf + p->reason_off, p->reason_len };
}

void http_response_init(struct http_response *resp, const struct http_limits *limits,
			struct http_header *headers, size_t headers_cap,
			enum http_method request_method)
{
	*resp = (struct http_response){
		.limits = limits ? limits : &http_limits_default,
		.headers = headers,
		.headers_cap = headers ? headers_cap : 0,
		.request_method = request_method,
	};
	state_reset(&resp->_p);
}

void http_response_reset(struct http_response *resp, enum http_method request_method)
{
	http_response_init(resp, resp->limits, resp->headers, resp->headers_cap, request_method);
}

static ssize_t response_fail(struct http_response *resp, struct perr e)
{
	resp->_p.stage = STAGE_ERROR;
	resp->error_status = 502;
	resp->error_reason = e.reason;
	return -EBADMSG;
}

ssize_t http_response_parse(struct http_response *resp, const char *buf, size_t len)
{
	struct http_parse_state *p = &resp->_p;
	const struct http_limits *lim = resp->limits;

	if (p->stage == STAGE_ERROR)
		return -EBADMSG;
	if (p->stage == STAGE_DONE) {
		if (len < resp->head_len)
			return -EINVAL;
		rebase(p, resp->headers, resp->nheaders, buf);
		response_fill(resp, buf);
		return (ssize_t)resp->head_len;
	}
	if (len < p->scan)
		return -EINVAL;
	rebase(p, resp->headers, resp->nheaders, buf);

	for (;;) {
		size_t end, next;
		struct perr e;
		int r = next_line(p, buf, len, lim->response_line_max, lim,
				  PERR(502, p->stage == STAGE_START ? "status line too long"
								    : "header field line too long"),
				  &end, &next, &e);
		if (r == 0)
			return 0;
		if (r < 0)
			return response_fail(resp, e);

		size_t ls = p->line_start;
		p->line_start = next;
		if (p->stage == STAGE_START) {
			e = status_line(resp, buf, ls, end);
			if (e.status)
				return response_fail(resp, e);
			p->stage = STAGE_HEADERS;
			continue;
		}
		if (end == ls) {
			e = response_finish(resp);
			if (e.status)
				return response_fail(resp, e);
			p->stage = STAGE_DONE;
			resp->head_len = next;
			response_fill(resp, buf);
			return (ssize_t)next;
		}
		e = field_line(p, lim, resp->headers, resp->headers_cap, &resp->nheaders,
			       &resp->content_length, true, buf, ls, end);
		if (e.status)
			return response_fail(resp, e);
	}
}
