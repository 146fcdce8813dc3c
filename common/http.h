/* Strict, incremental, zero-copy HTTP/1.1 message parsing (RFC 9110/9112): request heads,
 * response heads, chunked bodies, and the small helpers a proxy needs around them. */
#ifndef DYNOHOST_COMMON_HTTP_H
#define DYNOHOST_COMMON_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * Conventions
 * - Parse functions take the bytes received so far (buf, len) and return:
 *     > 0           done: the head is that many bytes (including leading empty lines and the
 *                   final empty line); the body, if any, starts at buf + that.
 *     0             incomplete: call again with more bytes. The buffer may be moved (realloc)
 *                   between calls as long as its first `len` bytes stay the same; the parser
 *                   keeps a resume offset and never rescans complete lines.
 *     -EBADMSG      malformed or over a limit: error_status (an HTTP status code) and
 *                   error_reason (a short static English string) say why. Sticky: calling
 *                   again returns -EBADMSG.
 *     -EINVAL       misuse (len shrank below what was already parsed).
 * - Zero-copy: every struct http_str points into the caller's buffer as passed to the call
 *   that returned > 0, and stays valid as long as that buffer does.
 * - No allocation, no logging. Header storage is provided by the caller.
 * - Pipelining: after a head (and its body) the caller advances its buffer, calls
 *   http_request_reset() and parses again.
 * - A head must lie within the first 4 GiB of the buffer (offsets are kept as uint32_t);
 *   the limits keep real heads far below that.
 * - Heroku mapping used by the router: request 414/431 → H25; 400/417/501/505 → H26;
 *   any response error (502) → H17.
 * - Thread-safe: no global mutable state; one parser struct per message in flight.
 */

/* Heroku's documented router limits. */
#define HTTP_REQUEST_LINE_MAX_DEFAULT 8192u
#define HTTP_HEADER_LINE_MAX_DEFAULT 8192u
#define HTTP_HEADER_NAME_MAX_DEFAULT 1000u
#define HTTP_HEADERS_MAX_DEFAULT 1000u
#define HTTP_RESPONSE_LINE_MAX_DEFAULT (512u * 1024u)
#define HTTP_CHUNK_LINE_MAX_DEFAULT 4096u
#define HTTP_LEADING_CRLF_MAX_DEFAULT 4u

/* Options for struct http_limits.flags. Strict (0) is the default and what the router uses. */
enum {
	/* Accept a bare LF as a line terminator (heads, chunk lines, trailers). A bare CR is
	 * always an error. */
	HTTP_LENIENT_LF = 1u << 0,
	/* Request-target characters. Default: visible ASCII except '#' (a fragment is never
	 * sent); CTLs, SP, DEL and bytes >= 0x80 are 400. Browsers send `{|}^` raw in query
	 * strings, so the default accepts them, like HAProxy and nginx do.
	 * HTTP_LENIENT_TARGET also accepts '#' and bytes >= 0x80 (raw UTF-8). */
	HTTP_LENIENT_TARGET = 1u << 1,
	/* Only the RFC 3986 characters: `"<>\^`{|}` are 400 too. Wins over LENIENT_TARGET. */
	HTTP_STRICT_TARGET = 1u << 2,
};

/* All lengths exclude the line's CRLF. Exactly at a limit is accepted, one byte over is not. */
struct http_limits {
	uint32_t request_line_max;  /* over: 414 URI Too Long (router: H25) */
	uint32_t header_line_max;   /* a whole "name: value" field line; over: 431 (router: H25) */
	uint32_t header_name_max;   /* over: 431 (router: H25) */
	uint32_t headers_max;       /* field lines per head or trailer section; over: 431 (H25) */
	uint32_t response_line_max; /* status line and each response field line; over: 502 */
	uint32_t chunk_line_max;    /* chunk-size line including extensions; over: 400 */
	uint32_t leading_crlf_max;  /* empty lines accepted before a request line; over: 400 */
	uint32_t flags;             /* HTTP_LENIENT_* */
};

/* The defaults above, flags 0. Used when a parser is given limits == NULL. */
extern const struct http_limits http_limits_default;

/* A slice of the caller's buffer; not NUL-terminated. */
struct http_str {
	const char *ptr;
	size_t len;
};

/* One field line. The value has leading and trailing whitespace (OWS) removed. */
struct http_header {
	struct http_str name;
	struct http_str value;
};

/* Methods are case-sensitive; anything else that is a valid token is HTTP_METHOD_OTHER. */
enum http_method {
	HTTP_METHOD_OTHER = 0,
	HTTP_METHOD_GET,
	HTTP_METHOD_HEAD,
	HTTP_METHOD_POST,
	HTTP_METHOD_PUT,
	HTTP_METHOD_DELETE,
	HTTP_METHOD_CONNECT,
	HTTP_METHOD_OPTIONS,
	HTTP_METHOD_TRACE,
	HTTP_METHOD_PATCH,
	_HTTP_METHOD_MAX,
};

enum http_target_form {
	HTTP_TARGET_ORIGIN = 0, /* "/path?query" */
	HTTP_TARGET_ABSOLUTE,   /* "http://host:port/path?query" (http and https schemes only) */
	HTTP_TARGET_AUTHORITY,  /* "host:port", CONNECT only */
	HTTP_TARGET_ASTERISK,   /* "*", OPTIONS only */
	_HTTP_TARGET_FORM_MAX,
};

/* How the message body is delimited. */
enum http_body {
	HTTP_BODY_NONE = 0, /* no body (no framing headers; HEAD/1xx/204/304 responses) */
	HTTP_BODY_LENGTH,   /* content_length bytes (may be 0) */
	HTTP_BODY_CHUNKED,  /* chunked: run struct http_chunked over the bytes after the head */
	HTTP_BODY_CLOSE,    /* responses only: everything until the server closes */
	_HTTP_BODY_MAX,
};

/* Private resume state shared by the request and response parsers. Do not touch. */
struct http_parse_state {
	const char *base;  /* buffer of the previous call, to rebase stored header pointers */
	size_t line_start; /* offset of the first unparsed line */
	size_t scan;       /* offset from which to look for the next LF */
	uint32_t stage;
	uint32_t leading;
	uint32_t method_off, method_len;
	uint32_t target_off, target_len;
	uint32_t thost_off, thost_len;
	uint32_t tpath_off, tpath_len;
	uint32_t reason_off, reason_len;
	int32_t host_idx; /* header index of Host, -1 if none */
	uint32_t host_off, host_len;
	uint32_t seen; /* bitmask of special headers seen */
	uint32_t te_codings;
};

struct http_request {
	/* Configuration, set by http_request_init() and kept by http_request_reset(). */
	const struct http_limits *limits;
	struct http_header *headers; /* may be NULL: then no field lines are stored */
	size_t headers_cap;          /* more field lines than this: 431 */

	/* Results, valid once http_request_parse() returned > 0. */
	size_t head_len;
	enum http_method method;
	struct http_str method_str;
	struct http_str target; /* the request-target exactly as sent */
	enum http_target_form target_form;
	/* The origin-form part of the target: the target itself for origin-form, the
	 * path-and-query after the authority for absolute-form (may be empty, meaning "/" or
	 * "?query" — it then starts with '?'), empty for authority- and asterisk-form. */
	struct http_str path;
	/* The authority to route on: the target's authority for absolute- and authority-form
	 * (RFC 9112 3.2.2: it overrides Host), else the Host field value (may be empty). */
	struct http_str host;
	bool has_host_header;
	unsigned version_minor; /* 0 or 1 (HTTP/1.2+ are treated as 1.1 and reported as 1) */
	size_t nheaders;        /* field lines stored in headers[] */
	enum http_body body;    /* NONE, LENGTH or CHUNKED */
	uint64_t content_length; /* valid when body == HTTP_BODY_LENGTH */
	bool keep_alive;      /* 1.1 unless "Connection: close"; 1.0 only with keep-alive */
	bool expect_continue; /* "Expect: 100-continue" on an HTTP/1.1 request */
	bool upgrade;         /* HTTP/1.1, Upgrade field present and Connection lists "upgrade" */
	bool connection_close; /* Connection lists "close" */

	/* Set when http_request_parse() returned -EBADMSG. */
	int error_status;         /* 400, 414, 417, 431, 501 or 505 */
	const char *error_reason; /* e.g. "obs-fold in header", static storage */

	struct http_parse_state _p;
};

/*
 * Request rules beyond the grammar (all 400 unless noted):
 * - method: token; target: see HTTP_*_TARGET (default: visible ASCII but '#'),
 *   form must match the method (CONNECT → authority-form, "*" → OPTIONS only), absolute-form
 *   only with http/https schemes and no userinfo; version: exactly "HTTP/" DIGIT "." DIGIT,
 *   major other than 1 → 505.
 * - field lines: name is a token directly followed by ':', value has no CTL but HTAB,
 *   no obs-fold, no bare CR, no NUL; CRLF line endings (bare LF only with HTTP_LENIENT_LF).
 * - Host: required in HTTP/1.1, at most one, valid uri-host[:port] characters.
 * - Content-Length: 1*DIGIT (value < 2^63), at most one field line, no list; not with
 *   Transfer-Encoding.
 * - Transfer-Encoding: a list of tokens separated by "," and single spaces (no HTAB, no
 *   trailing whitespace, no empty elements, no parameters, no quotes), "chunked" exactly
 *   once and last; other codings must be gzip/x-gzip/deflate/compress/x-compress, else
 *   501; not allowed in HTTP/1.0 requests.
 * - Expect: only "100-continue" (case-insensitive); anything else → 417.
 */

/* Prepare a request parser. limits may be NULL (http_limits_default). headers/headers_cap
 * is the caller's field-line storage; give at least limits->headers_max entries to accept
 * what Heroku accepts (a smaller array turns more headers into 431). */
void http_request_init(struct http_request *req, const struct http_limits *limits,
		       struct http_header *headers, size_t headers_cap);
/* Forget the previous request, keep the configuration (for the next pipelined request). */
void http_request_reset(struct http_request *req);
/* Parse a request head from buf[0..len). See "Conventions" for the return value. */
ssize_t http_request_parse(struct http_request *req, const char *buf, size_t len);

struct http_response {
	/* Configuration, set by http_response_init() and kept by http_response_reset(). */
	const struct http_limits *limits;
	struct http_header *headers;
	size_t headers_cap;
	enum http_method request_method; /* HEAD → no body; CONNECT 2xx → tunnel */

	/* Results, valid once http_response_parse() returned > 0. */
	size_t head_len;
	unsigned version_minor;
	int status; /* 100..599 */
	struct http_str reason;
	size_t nheaders;
	enum http_body body;
	uint64_t content_length; /* valid when body == HTTP_BODY_LENGTH */
	/* Reusable connection after this response: HTTP/1.1 without "Connection: close",
	 * HTTP/1.0 with "Connection: keep-alive", and never for close-delimited bodies. */
	bool keep_alive;
	bool interim; /* 1xx other than 101: forward it, then parse the final response */
	/* 101 Switching Protocols, or a 2xx answer to CONNECT: after the head, the
	 * connection is a raw byte pipe in both directions. */
	bool upgrade;
	bool connection_close;

	int error_status; /* 502 when malformed (router: H17) */
	const char *error_reason;

	struct http_parse_state _p;
};

/*
 * Response framing (RFC 9112 6.3): HEAD request, 1xx, 204, 304 → NONE (framing fields still
 * syntax-checked); CONNECT + 2xx → upgrade; Transfer-Encoding with "chunked" last → CHUNKED,
 * other Transfer-Encoding → CLOSE; Content-Length → LENGTH; nothing → CLOSE. Errors (502):
 * Transfer-Encoding with Content-Length, duplicate or malformed Content-Length,
 * Transfer-Encoding in an HTTP/1.0 response, and every grammar rule of requests.
 */

void http_response_init(struct http_response *resp, const struct http_limits *limits,
			struct http_header *headers, size_t headers_cap,
			enum http_method request_method);
/* Forget the previous response, keep the configuration; request_method is replaced. */
void http_response_reset(struct http_response *resp, enum http_method request_method);
ssize_t http_response_parse(struct http_response *resp, const char *buf, size_t len);

/*
 * Chunked body decoder. It never copies: it tells the caller how many input bytes it
 * consumed, where the chunk data lies within them, and when the message (last chunk and
 * trailer section) ended. Bytes after the end belong to the next message.
 * Errors are 400 (router maps them to H26 for requests, H17 for responses): chunk-size not
 * 1*HEXDIG, over 2^63-1, chunk line over chunk_line_max, CTLs in extensions, missing CRLF
 * after data, bare CR/LF, malformed trailer field lines, trailer fields that would change
 * framing or routing if a server merged them (Content-Length, Transfer-Encoding, Host);
 * 431 for trailers over the header limits.
 */
struct http_chunked {
	const struct http_limits *limits;
	uint64_t remaining; /* data bytes left in the current chunk */
	uint64_t body_bytes; /* decoded data bytes so far */
	uint32_t state;
	uint32_t line_len;
	uint32_t name_len;
	uint32_t trailers;
	char name[18]; /* start of the current trailer name, lowercased */
	bool done;
	int error_status;
	const char *error_reason;
};

void http_chunked_init(struct http_chunked *c, const struct http_limits *limits);
/* Consume as much of buf[0..len) as belongs to the message. Returns the number of bytes
 * consumed (== len unless the message ended inside buf), or -EBADMSG. Once c->done,
 * returns 0. */
ssize_t http_chunked_feed(struct http_chunked *c, const char *buf, size_t len);
/* Like http_chunked_feed() but stops after the first run of chunk data: returns bytes
 * consumed and sets *ret_data and *ret_data_len to the data bytes among them (length 0 when
 * only framing was consumed). For callers that want the decoded body (control API). */
ssize_t http_chunked_next(struct http_chunked *c, const char *buf, size_t len,
			  const char **ret_data, size_t *ret_data_len);
static inline bool http_chunked_done(const struct http_chunked *c)
{
	return c->done;
}

/* Content-Length bodies need no decoder: the body is the next content_length bytes. */

/* Helpers. Name comparisons are ASCII case-insensitive. */

/* "GET", ... for a known method, NULL for HTTP_METHOD_OTHER or out of range. */
const char *http_method_name(enum http_method m);
/* The canonical reason phrase ("Not Found"), or "Unknown" for unregistered codes. */
const char *http_status_reason(int status);
bool http_str_case_eq(const char *a, size_t alen, const char *b, size_t blen);
/* Index of the first field line at or after `from` named `name`, or -1. */
ssize_t http_header_find(const struct http_header *headers, size_t n, size_t from,
			 const char *name, size_t name_len);
/* Whether a comma-separated list value (e.g. a Connection value) contains `token`. */
bool http_list_has_token(const char *value, size_t len, const char *token, size_t token_len);
/* Whether any Connection field line among headers lists `token`. */
bool http_connection_has_token(const struct http_header *headers, size_t n, const char *token,
			       size_t token_len);
/* Convenience wrappers over a parsed request's headers. */
const struct http_header *http_request_header(const struct http_request *req, const char *name);
bool http_request_connection_has_token(const struct http_request *req, const char *token,
				       size_t token_len);
const struct http_header *http_response_header(const struct http_response *resp,
					       const char *name);
/* Whether a proxy must not forward field line h (one of headers[0..n)): Connection,
 * Keep-Alive, Proxy-Connection, TE, Trailer, Upgrade, and every field named in Connection —
 * except Host, Content-Length and Transfer-Encoding, which are never stripped because the
 * proxy forwards the body bytes unchanged (a client naming them in Connection cannot change
 * the framing the proxy and the server see). The router re-adds Connection/Upgrade itself
 * for upgrades. */
bool http_header_is_hop_by_hop(const struct http_header *headers, size_t n,
			       const struct http_header *h);
/* An X-Request-Id value Heroku keeps: 20..200 characters of [A-Za-z0-9+/=-]. */
bool http_request_id_valid(const char *s, size_t len);

#endif
