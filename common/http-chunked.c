/* The chunked transfer coding (RFC 9112 7.1) as a byte-at-a-time state machine that never
 * copies or buffers: it finds where a chunked message ends and where its data lies. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "common/http.h"
#include "common/http-internal.h"

enum {
	C_SIZE_FIRST = 0, /* first hex digit of a chunk-size */
	C_SIZE,           /* more hex digits, or what follows them */
	C_BWS,            /* whitespace after the size or a value: only ";" may follow */
	C_EXT_PRE_NAME,   /* after ";": BWS, then an extension name */
	C_EXT_NAME,       /* in an extension name */
	C_EXT_NAME_BWS,   /* whitespace after a name: "=" or ";" must follow */
	C_EXT_PRE_VAL,    /* after "=": BWS, then a token or a quoted-string */
	C_EXT_VAL,        /* in a token value */
	C_EXT_QUOTED,     /* in a quoted-string value */
	C_EXT_QUOTED_ESC, /* after a backslash in a quoted-string */
	C_EXT_VAL_END,    /* after the closing quote */
	C_SIZE_LF,        /* LF after the size line's CR */
	C_DATA,           /* chunk data */
	C_DATA_CR,        /* CR after chunk data */
	C_DATA_LF,        /* LF after chunk data */
	C_TRAILER_START,  /* start of a trailer field line or of the final empty line */
	C_TRAILER_NAME,
	C_TRAILER_VALUE,
	C_TRAILER_LF,
	C_END_LF, /* LF of the final empty line */
	C_DONE,
	C_ERROR,
	_C_MAX,
};

void http_chunked_init(struct http_chunked *c, const struct http_limits *limits)
{
	*c = (struct http_chunked){ .limits = limits ? limits : &http_limits_default };
}

static ssize_t fail(struct http_chunked *c, int status, const char *reason)
{
	c->state = C_ERROR;
	c->error_status = status;
	c->error_reason = reason;
	return -EBADMSG;
}

static ssize_t fail_char(struct http_chunked *c, char ch, const char *reason)
{
	if (ch == '\0')
		return fail(c, 400, "NUL byte in chunked framing");
	if (ch == '\r')
		return fail(c, 400, "bare CR in chunked framing");
	if (ch == '\n')
		return fail(c, 400, "bare LF in chunked framing");
	return fail(c, 400, reason);
}

static inline char lower(char ch)
{
	return (ch >= 'A' && ch <= 'Z') ? (char)(ch + ('a' - 'A')) : ch;
}

/* Fields a server merging trailers into the header section would act on: framing and
 * routing. RFC 9110 6.5.1 forbids them in trailers; we refuse the message. */
static bool forbidden_trailer(const struct http_chunked *c)
{
	static const char *const names[] = { "content-length", "transfer-encoding", "host" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (c->name_len == strlen(names[i]) && memcmp(c->name, names[i], c->name_len) == 0)
			return true;
	return false;
}

static inline unsigned hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return (unsigned)(ch - '0');
	return (unsigned)((ch | 0x20) - 'a' + 10);
}

ssize_t http_chunked_next(struct http_chunked *c, const char *buf, size_t len,
			  const char **ret_data, size_t *ret_data_len)
{
	const struct http_limits *lim = c->limits;
	bool lenient = lim->flags & HTTP_LENIENT_LF;
	size_t i = 0;

	*ret_data = buf;
	*ret_data_len = 0;
	if (c->state == C_ERROR)
		return -EBADMSG;

	while (i < len) {
		char ch = buf[i];
		switch (c->state) {
		case C_DATA: {
			uint64_t n = len - i;
			if (n > c->remaining)
				n = c->remaining;
			*ret_data = buf + i;
			*ret_data_len = (size_t)n;
			i += (size_t)n;
			c->remaining -= n;
			c->body_bytes += n;
			if (c->remaining == 0)
				c->state = C_DATA_CR;
			return (ssize_t)i;
		}
		case C_SIZE_FIRST:
			if (!is_hexdig(ch))
				return fail_char(c, ch, "invalid chunk size");
			c->remaining = hexval(ch);
			c->line_len = 1;
			c->state = C_SIZE;
			break;
		case C_SIZE:
		case C_BWS:
		case C_EXT_PRE_NAME:
		case C_EXT_NAME:
		case C_EXT_NAME_BWS:
		case C_EXT_PRE_VAL:
		case C_EXT_VAL:
		case C_EXT_QUOTED:
		case C_EXT_QUOTED_ESC:
		case C_EXT_VAL_END: {
			/* chunk-size [ chunk-ext ] CRLF, with
			 * chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] ) */
			uint32_t st = c->state;
			bool ws = ch == ' ' || ch == '\t';
			if (ch == '\r' || ch == '\n') {
				if (st != C_SIZE && st != C_EXT_NAME && st != C_EXT_VAL &&
				    st != C_EXT_VAL_END)
					return fail(c, 400, st == C_BWS ? "whitespace before end of chunk line"
									: "invalid chunk extension");
				if (ch == '\r') {
					c->state = C_SIZE_LF;
					break;
				}
				if (!lenient)
					return fail(c, 400, "bare LF in chunked framing");
				c->state = c->remaining ? C_DATA : C_TRAILER_START;
				c->line_len = 0;
				break;
			}
			if (st == C_SIZE && is_hexdig(ch)) {
				if (c->remaining > (uint64_t)INT64_MAX >> 4)
					return fail(c, 400, "chunk size too large");
				c->remaining = (c->remaining << 4) | hexval(ch);
			} else if (st == C_EXT_QUOTED) {
				if (ch == '"')
					c->state = C_EXT_VAL_END;
				else if (ch == '\\')
					c->state = C_EXT_QUOTED_ESC;
				else if (!is_vchar_ws(ch))
					return fail_char(c, ch, "invalid chunk extension");
			} else if (st == C_EXT_QUOTED_ESC) {
				if (!is_vchar_ws(ch))
					return fail_char(c, ch, "invalid chunk extension");
				c->state = C_EXT_QUOTED;
			} else if (ws) {
				if (st == C_SIZE || st == C_EXT_VAL || st == C_EXT_VAL_END)
					c->state = C_BWS;
				else if (st == C_EXT_NAME)
					c->state = C_EXT_NAME_BWS;
				/* else stays: BWS before a name or a value, or more of it */
			} else if (ch == ';') {
				if (st == C_EXT_PRE_NAME || st == C_EXT_PRE_VAL)
					return fail(c, 400, "invalid chunk extension");
				c->state = C_EXT_PRE_NAME;
			} else if (ch == '=') {
				if (st != C_EXT_NAME && st != C_EXT_NAME_BWS)
					return fail(c, 400, "invalid chunk extension");
				c->state = C_EXT_PRE_VAL;
			} else if (ch == '"' && st == C_EXT_PRE_VAL) {
				c->state = C_EXT_QUOTED;
			} else if (is_tchar(ch) && (st == C_EXT_PRE_NAME || st == C_EXT_NAME)) {
				c->state = C_EXT_NAME;
			} else if (is_tchar(ch) && (st == C_EXT_PRE_VAL || st == C_EXT_VAL)) {
				c->state = C_EXT_VAL;
			} else {
				return fail_char(c, ch, st == C_SIZE ? "invalid chunk size"
								     : "invalid chunk extension");
			}
			if (++c->line_len > lim->chunk_line_max)
				return fail(c, 400, "chunk size line too long");
			break;
		}
		case C_SIZE_LF:
			if (ch != '\n')
				return fail_char(c, ch, "bare CR in chunked framing");
			c->line_len = 0;
			c->state = c->remaining ? C_DATA : C_TRAILER_START;
			break;
		case C_DATA_CR:
			if (ch == '\r')
				c->state = C_DATA_LF;
			else if (ch == '\n' && lenient)
				c->state = C_SIZE_FIRST;
			else
				return fail(c, 400, "missing CRLF after chunk data");
			break;
		case C_DATA_LF:
			if (ch != '\n')
				return fail(c, 400, "missing CRLF after chunk data");
			c->state = C_SIZE_FIRST;
			break;
		case C_TRAILER_START:
			if (ch == '\r') {
				c->state = C_END_LF;
				break;
			}
			if (ch == '\n' && lenient) {
				c->state = C_DONE;
				c->done = true;
				return (ssize_t)(i + 1);
			}
			if (ch == ' ' || ch == '\t')
				return fail(c, 400, "obs-fold in trailer section");
			if (!is_tchar(ch))
				return fail_char(c, ch, "invalid character in trailer field name");
			if (++c->trailers > lim->headers_max)
				return fail(c, 431, "too many trailer fields");
			c->state = C_TRAILER_NAME;
			c->line_len = 1;
			c->name_len = 1;
			c->name[0] = lower(ch);
			break;
		case C_TRAILER_NAME:
			if (ch == ':') {
				if (forbidden_trailer(c))
					return fail(c, 400, "forbidden field in trailer section");
				c->state = C_TRAILER_VALUE;
			} else if (is_tchar(ch)) {
				if (c->name_len < sizeof(c->name))
					c->name[c->name_len] = lower(ch);
				if (++c->name_len > lim->header_name_max)
					return fail(c, 431, "trailer field name too long");
			} else if (ch == ' ' || ch == '\t') {
				return fail(c, 400, "whitespace before colon in trailer");
			} else {
				return fail_char(c, ch, "invalid character in trailer field name");
			}
			if (++c->line_len > lim->header_line_max)
				return fail(c, 431, "trailer field line too long");
			break;
		case C_TRAILER_VALUE:
			if (ch == '\r') {
				c->state = C_TRAILER_LF;
				break;
			}
			if (ch == '\n' && lenient) {
				c->state = C_TRAILER_START;
				break;
			}
			if (!is_vchar_ws(ch))
				return fail_char(c, ch, "invalid character in trailer field value");
			if (++c->line_len > lim->header_line_max)
				return fail(c, 431, "trailer field line too long");
			break;
		case C_TRAILER_LF:
			if (ch != '\n')
				return fail_char(c, ch, "bare CR in trailer section");
			c->state = C_TRAILER_START;
			break;
		case C_END_LF:
			if (ch != '\n')
				return fail_char(c, ch, "bare CR in trailer section");
			c->state = C_DONE;
			c->done = true;
			return (ssize_t)(i + 1);
		case C_DONE:
			return (ssize_t)i;
		default:
			return fail(c, 400, "chunked decoder state");
		}
		i++;
	}
	return (ssize_t)i;
}

ssize_t http_chunked_feed(struct http_chunked *c, const char *buf, size_t len)
{
	size_t off = 0;
	while (off < len && !c->done) {
		const char *data;
		size_t dlen;
		ssize_t n = http_chunked_next(c, buf + off, len - off, &data, &dlen);
		if (n < 0)
			return n;
		off += (size_t)n;
	}
	return (ssize_t)off;
}
