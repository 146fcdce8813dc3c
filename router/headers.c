/* What the router writes: the request head sent to a dyno (hop-by-hop fields removed,
 * X-Forwarded-*, X-Request-Start, X-Request-Id, Via added), the response head sent back,
 * and the one log line per request in Heroku's router format. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "common/cleanup.h"
#include "router/proxy.h"

#define VIA "1.1 dynohost"

int growbuf_append(char **b, size_t *len, size_t *cap, const void *p, size_t n)
{
	if (n == 0)
		return 0;
	if (*len + n > *cap) {
		size_t nc = *cap ? *cap : 1024;
		while (nc < *len + n)
			nc *= 2;
		char *nb = realloc(*b, nc);
		if (!nb)
			return -ENOMEM;
		*b = nb;
		*cap = nc;
	}
	memcpy(*b + *len, p, n);
	*len += n;
	return 0;
}

/* Appending to one growable buffer; the first failure sticks so callers check once. */
struct sink {
	char **b;
	size_t *len, *cap;
	int err;
};

static inline void put(struct sink *s, const void *p, size_t n)
{
	if (_likely_(*s->len + n <= *s->cap)) {
		memcpy(*s->b + *s->len, p, n);
		*s->len += n;
	} else if (s->err == 0)
		s->err = growbuf_append(s->b, s->len, s->cap, p, n);
}

static void puts_(struct sink *s, const char *str)
{
	put(s, str, strlen(str));
}

static void put_str(struct sink *s, struct http_str v)
{
	put(s, v.ptr, v.len);
}

/* One field line: "name: value" CRLF. */
static void put_field(struct sink *s, const char *name, size_t nlen, const char *value,
                      size_t vlen)
{
	put(s, name, nlen);
	put(s, ": ", 2);
	put(s, value, vlen);
	put(s, "\r\n", 2);
}

static void put_header(struct sink *s, const char *name, const char *value, size_t vlen)
{
	put_field(s, name, strlen(name), value, vlen);
}

/* What the router does with a field, by name: one pass over a small table, comparing
 * names only when their lengths match. */
enum field_class {
	F_OTHER = 0,
	F_HOP,  /* hop-by-hop: never forwarded */
	F_KEEP, /* framing and Host: always forwarded as they are */
	F_HOST,
	F_UPGRADE,
	F_XFF,
	F_XRID,
	F_OURS, /* set by the router: the client's copy is dropped */
	F_CONNECTION,
};

static const struct {
	const char *name;
	uint8_t len;
	uint8_t cls;
} fields[] = {
        {"te", 2, F_HOP},
        {"host", 4, F_HOST},
        {"expect", 6, F_OURS},
        {"trailer", 7, F_HOP},
        {"upgrade", 7, F_UPGRADE},
        {"forwarded", 9, F_OURS},
        {"connection", 10, F_CONNECTION},
        {"keep-alive", 10, F_HOP},
        {"x-request-id", 12, F_XRID},
        {"content-length", 14, F_KEEP},
        {"x-forwarded-for", 15, F_XFF},
        {"x-request-start", 15, F_OURS},
        {"proxy-connection", 16, F_HOP},
        {"x-forwarded-port", 16, F_OURS},
        {"x-forwarded-host", 16, F_OURS},
        {"transfer-encoding", 17, F_KEEP},
        {"x-forwarded-proto", 17, F_OURS},
};

static enum field_class classify(const struct http_header *h)
{
	size_t n = h->name.len;
	if (n < 2 || n > 17)
		return F_OTHER;
	for (size_t i = 0; i < ELEMENTSOF(fields); i++)
		if (fields[i].len == n && http_str_case_eq(h->name.ptr, n, fields[i].name, n))
			return fields[i].cls;
	return F_OTHER;
}

/* A name with '_' that reads as one of the fields above once '_' is '-' ("X_Forwarded_For",
 * "Content_Length"): CGI-style servers (Rack, Thin) fold both spellings into one variable, so
 * such a field could spoof what the router sets or change the dyno's view of the framing. */
static bool underscore_alias(const struct http_header *h)
{
	size_t n = h->name.len;
	if (n < 2 || n > 17 || !memchr(h->name.ptr, '_', n))
		return false;
	char folded[17];
	for (size_t i = 0; i < n; i++)
		folded[i] = h->name.ptr[i] == '_' ? '-' : h->name.ptr[i];
	struct http_header f = *h;
	f.name.ptr = folded;
	return classify(&f) != F_OTHER;
}

/* The Connection fields of a message, to strip the fields they name (RFC 9110 7.6.1). */
struct connection_tokens {
	const struct http_header *conn[8];
	size_t n;
	bool overflow;
};

static void connection_tokens_init(struct connection_tokens *t, const struct http_header *hs,
                                   size_t n)
{
	t->n = 0;
	t->overflow = false;
	for (size_t i = 0; i < n; i++)
		if (hs[i].name.len == 10 && classify(&hs[i]) == F_CONNECTION) {
			if (t->n < ELEMENTSOF(t->conn))
				t->conn[t->n++] = &hs[i];
			else
				t->overflow = true;
		}
}

/* Whether a field (other than Host and the framing fields) is hop-by-hop for this message. */
static bool is_hop(const struct connection_tokens *t, const struct http_header *hs, size_t n,
                   const struct http_header *h, enum field_class cls)
{
	if (cls == F_HOP || cls == F_CONNECTION || cls == F_UPGRADE)
		return true;
	if (cls == F_KEEP || cls == F_HOST || t->n == 0)
		return false;
	if (t->overflow)
		return http_header_is_hop_by_hop(hs, n, h);
	for (size_t i = 0; i < t->n; i++)
		if (http_list_has_token(t->conn[i]->value.ptr, t->conn[i]->value.len, h->name.ptr,
		                        h->name.len))
			return true;
	return false;
}

void request_id_new(struct worker *w, char out[37])
{
	static const char hex[] = "0123456789abcdef";
	uint8_t b[16];
	uint64_t x = router_rng_next(&w->rng), y = router_rng_next(&w->rng);
	memcpy(b, &x, 8);
	memcpy(b + 8, &y, 8);
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4 */
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	size_t o = 0;
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[b[i] >> 4];
		out[o++] = hex[b[i] & 15];
	}
	out[o] = 0;
}

static void copy_field(char *dst, size_t cap, const char *p, size_t n)
{
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, p, n);
	dst[n] = 0;
}

int build_request_head(struct client *c, const struct http_request *req, uint64_t start_us)
{
	struct worker *w = c->w;
	struct sink s = {&c->req_out, &c->req_out_len, &c->req_out_cap, 0};
	const struct http_header *hs = req->headers;
	size_t n = req->nheaders;
	const struct http_header *xff = NULL, *rid = NULL, *upgrade = NULL;
	size_t n_xff = 0;

	copy_field(c->method, sizeof(c->method), req->method_str.ptr, req->method_str.len);
	copy_field(c->host, sizeof(c->host), req->host.ptr, req->host.len);

	/* Request line: origin-form towards the dyno; absolute-form is rewritten. */
	put_str(&s, req->method_str);
	put(&s, " ", 1);
	if (req->target_form == HTTP_TARGET_ABSOLUTE) {
		if (req->path.len == 0 || req->path.ptr[0] == '?')
			put(&s, "/", 1);
		put_str(&s, req->path);
		if (req->path.len == 0 || req->path.ptr[0] == '?') {
			c->path[0] = '/';
			copy_field(c->path + 1, sizeof(c->path) - 1, req->path.ptr, req->path.len);
		} else
			copy_field(c->path, sizeof(c->path), req->path.ptr, req->path.len);
	} else {
		put_str(&s, req->target);
		copy_field(c->path, sizeof(c->path), req->target.ptr, req->target.len);
	}
	puts_(&s, " HTTP/1.1\r\n");
	if (req->target_form == HTTP_TARGET_ABSOLUTE)
		put_header(&s, "Host", req->host.ptr, req->host.len);

	struct connection_tokens ct;
	connection_tokens_init(&ct, hs, n);
	for (size_t i = 0; i < n; i++) {
		const struct http_header *h = &hs[i];
		enum field_class cls = classify(h);
		if (cls == F_UPGRADE)
			upgrade = h;
		if (is_hop(&ct, hs, n, h, cls))
			continue;
		if (cls == F_XFF) {
			if (!xff)
				xff = h;
			n_xff++;
			continue;
		}
		if (cls == F_XRID) {
			if (!rid)
				rid = h;
			continue;
		}
		if (cls == F_OURS)
			continue;
		if (req->target_form == HTTP_TARGET_ABSOLUTE && cls == F_HOST)
			continue;
		if (cls == F_OTHER && underscore_alias(h))
			continue;
		put_field(&s, h->name.ptr, h->name.len, h->value.ptr, h->value.len);
	}

	/* X-Forwarded-For: every earlier hop in order, then the peer we saw. */
	puts_(&s, "X-Forwarded-For: ");
	for (size_t i = 0; xff && i < n; i++)
		if (hs[i].value.len > 0 && classify(&hs[i]) == F_XFF) {
			put_str(&s, hs[i].value);
			put(&s, ", ", 2);
		}
	puts_(&s, c->ip);
	put(&s, "\r\n", 2);
	(void)n_xff;

	char tmp[64];
	put_header(&s, "X-Forwarded-Proto", w->cfg->forwarded_proto,
	           strlen(w->cfg->forwarded_proto));
	int l = snprintf(tmp, sizeof(tmp), "%u", c->local_port);
	put_header(&s, "X-Forwarded-Port", tmp, (size_t)l);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	(void)start_us;
	l = snprintf(tmp, sizeof(tmp), "%" PRIu64,
	             (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u);
	put_header(&s, "X-Request-Start", tmp, (size_t)l);

	if (rid && http_request_id_valid(rid->value.ptr, rid->value.len))
		copy_field(c->request_id, sizeof(c->request_id), rid->value.ptr, rid->value.len);
	else
		request_id_new(w, c->request_id);
	put_header(&s, "X-Request-Id", c->request_id, strlen(c->request_id));
	put_header(&s, "Via", VIA, strlen(VIA));
	if (req->upgrade && upgrade) {
		puts_(&s, "Connection: Upgrade\r\n");
		put_header(&s, "Upgrade", upgrade->value.ptr, upgrade->value.len);
	}
	put(&s, "\r\n", 2);
	return s.err;
}

int build_response_head(struct client *c, const struct http_response *resp)
{
	struct sink s = {&c->out, &c->out_len, &c->out_cap, 0};
	const struct http_header *hs = resp->headers;
	size_t n = resp->nheaders;
	const struct http_header *upgrade = NULL;
	char tmp[32];

	int l = snprintf(tmp, sizeof(tmp), "HTTP/1.1 %d ", resp->status);
	put(&s, tmp, (size_t)l);
	if (resp->reason.len)
		put_str(&s, resp->reason);
	else
		puts_(&s, http_status_reason(resp->status));
	put(&s, "\r\n", 2);
	struct connection_tokens ct;
	connection_tokens_init(&ct, hs, n);
	for (size_t i = 0; i < n; i++) {
		const struct http_header *h = &hs[i];
		enum field_class cls = classify(h);
		if (cls == F_UPGRADE)
			upgrade = h;
		if (is_hop(&ct, hs, n, h, cls))
			continue;
		if (c->resp_dechunk && cls == F_KEEP && h->name.len == 17)
			continue; /* Transfer-Encoding of a body we de-chunk */
		put_field(&s, h->name.ptr, h->name.len, h->value.ptr, h->value.len);
	}
	put_header(&s, "Via", VIA, strlen(VIA));
	if (resp->upgrade && upgrade) {
		puts_(&s, "Connection: Upgrade\r\n");
		put_header(&s, "Upgrade", upgrade->value.ptr, upgrade->value.len);
	} else if (!c->keep_alive)
		puts_(&s, "Connection: close\r\n");
	else if (c->http10)
		puts_(&s, "Connection: keep-alive\r\n");
	put(&s, "\r\n", 2);
	return s.err;
}

/* Quote a value for the log: printable ASCII only, '"' and '\' escaped, bounded. */
static size_t quote(char *dst, size_t cap, const char *src)
{
	size_t o = 0;
	for (const char *p = src; *p && o + 3 < cap; p++) {
		unsigned char ch = (unsigned char)*p;
		if (ch == '"' || ch == '\\') {
			dst[o++] = '\\';
			dst[o++] = (char)ch;
		} else if (ch < 0x20 || ch >= 0x7f)
			dst[o++] = '?';
		else
			dst[o++] = (char)ch;
	}
	dst[o] = 0;
	return o;
}

void log_exchange(struct client *c)
{
	struct worker *w = c->w;
	if (w->cfg->log_fd < 0 && w->cfg->log_socket < 0)
		return;
	char line[2048], path[600], host[300], stamp[48];
	struct timespec ts;
	struct tm tm;
	uint64_t now = now_us();
	uint64_t connect_ms = c->t_connect > c->t_start ? (c->t_connect - c->t_start) / 1000 : 0;
	uint64_t base = c->t_connect > c->t_start ? c->t_connect : c->t_start;
	uint64_t service_ms = now > base ? (now - base) / 1000 : 0;
	int status = c->status ? c->status : router_code_status(c->code);

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	size_t sl = strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(stamp + sl, sizeof(stamp) - sl, ".%06ld+00:00", ts.tv_nsec / 1000);
	quote(path, sizeof(path), c->path);
	quote(host, sizeof(host), c->host);

	int l;
	if (c->code != ROUTER_OK && c->code != ROUTER_NO_APP)
		l = snprintf(
		        line, sizeof(line),
		        "%s dynohost[router]: at=error code=%s desc=\"%s\" method=%s path=\"%s\" "
		        "host=%s request_id=%s fwd=\"%s\" dyno=%s connect=%" PRIu64
		        "ms service=%" PRIu64 "ms status=%d bytes=%" PRIu64 " protocol=http\n",
		        stamp, router_code_name(c->code), router_code_desc(c->code),
		        c->method[0] ? c->method : "-", path, host[0] ? host : "-",
		        c->request_id[0] ? c->request_id : "-", c->ip,
		        c->dyno[0] ? c->dyno : "none", connect_ms, service_ms, status, c->bytes);
	else
		l = snprintf(line, sizeof(line),
		             "%s dynohost[router]: at=info method=%s path=\"%s\" host=%s "
		             "request_id=%s fwd=\"%s\" dyno=%s connect=%" PRIu64
		             "ms service=%" PRIu64 "ms status=%d bytes=%" PRIu64 " protocol=http\n",
		             stamp, c->method[0] ? c->method : "-", path, host[0] ? host : "-",
		             c->request_id[0] ? c->request_id : "-", c->ip,
		             c->dyno[0] ? c->dyno : "none", connect_ms, service_ms, status,
		             c->bytes);
	if (l <= 0)
		return;
	if ((size_t)l >= sizeof(line))
		l = sizeof(line) - 1;

	if (w->cfg->log_socket >= 0) {
		/* One datagram per line, "<app> <line>", so the host files it under the app. */
		char dgram[2200];
		int dl = snprintf(dgram, sizeof(dgram), "%s %.*s", c->app[0] ? c->app : "-", l - 1,
		                  line);
		if (dl > 0)
			(void)send(w->cfg->log_socket, dgram, (size_t)dl,
			           MSG_DONTWAIT | MSG_NOSIGNAL);
	}
	if (w->cfg->log_fd >= 0) {
		if (w->log_len + (size_t)l > 64 * 1024)
			log_flush(w);
		memcpy(w->logbuf + w->log_len, line, (size_t)l);
		w->log_len += (size_t)l;
	}
}
