/* The proxy state machine: a client connection reads a request head, is routed to a dyno
 * (pool or connect, retrying refused or timed-out connects on other dynos), sends the
 * request, relays the response, and goes back to reading; errors become H-code pages. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "router/proxy.h"

#define BGID 1
#define FALLBACK_SIZE 16384
#define MAX_ATTEMPTS 8

static const char continue_100[] = "HTTP/1.1 100 Continue\r\n\r\n";

static void client_close(struct client *c);
static void client_maybe_free(struct client *c);
static void upstream_maybe_free(struct upstream *u);
static void start_exchange_from_input(struct client *c);
static void pick_and_send(struct client *c);
static void respond_error(struct client *c, enum router_code code, int status);
static void finish_exchange(struct client *c);
static void client_post_send(struct client *c, const char *p, size_t n);

/* ---- small helpers ---- */

static void pump_release(struct worker *w, struct pump *p)
{
	buf_release(w, p->buf);
	free(p->owned);
	p->buf = -1;
	p->owned = NULL;
	p->data = NULL;
	p->len = p->off = 0;
}

/* The bytes of a receive completion: a provided buffer, or the fallback memory when the
 * ring had no buffer. Ownership goes to the caller (buf_release / free). */
static const char *rx_data(struct worker *w, unsigned flags, char **fallback, int *ret_buf,
                           char **ret_owned)
{
	*ret_buf = -1;
	*ret_owned = NULL;
	if (flags & IORING_CQE_F_BUFFER) {
		*ret_buf = (int)(flags >> IORING_CQE_BUFFER_SHIFT);
		return buf_addr(w, *ret_buf);
	}
	*ret_owned = *fallback;
	*fallback = NULL;
	return *ret_owned;
}

static void drop_rx(struct worker *w, unsigned flags, char **fallback)
{
	if (flags & IORING_CQE_F_BUFFER)
		buf_release(w, (int)(flags >> IORING_CQE_BUFFER_SHIFT));
	free(*fallback);
	*fallback = NULL;
}

static struct io_uring_sqe *prep_recv(struct worker *w, int fd, char **fallback, uint64_t ud,
                                      bool use_fallback)
{
	struct io_uring_sqe *sqe = worker_sqe(w);
	if (use_fallback) {
		if (!*fallback)
			*fallback = malloc(FALLBACK_SIZE);
		io_uring_prep_recv(sqe, fd, *fallback, *fallback ? FALLBACK_SIZE : 0, 0);
	} else {
		io_uring_prep_recv(sqe, fd, NULL, 0, 0);
		sqe->flags |= IOSQE_BUFFER_SELECT;
		sqe->buf_group = BGID;
	}
	io_uring_sqe_set_data64(sqe, ud);
	return sqe;
}

/* A receive that cannot have data yet (we just sent a request or finished a response): skip
 * the first attempt and go straight to waiting for the socket. */
static void set_poll_first(struct io_uring_sqe *sqe)
{
	sqe->ioprio |= IORING_RECVSEND_POLL_FIRST;
}

/* At most one receive is posted on a client socket at a time: if one is pending already, it
 * delivers the next bytes to whatever state the client is in by then. */
static void client_post_recv_flags(struct client *c, bool fallback, bool poll_first)
{
	if (c->recv_pending)
		return;
	struct io_uring_sqe *sqe =
	        prep_recv(c->w, c->fd, &c->rx_fallback, UD(c, TAG_C_RECV), fallback);
	if (poll_first)
		set_poll_first(sqe);
	c->recv_pending = true;
	c->ops++;
}

static void client_post_recv(struct client *c, bool fallback)
{
	client_post_recv_flags(c, fallback, false);
}

/* While the dyno works on a request, keep a receive posted on the client: it notices a
 * client that goes away (H27) and is the receive for the next request of a kept-alive
 * connection. Not for upgrades (the tunnel reads on its own) nor for "Connection: close",
 * whose client may half-close after its request. */
static void client_watch(struct client *c)
{
	if (c->keep_alive && !c->upgrade)
		client_post_recv_flags(c, false, true);
}

static void upstream_post_recv(struct upstream *u, bool fallback)
{
	prep_recv(u->w, u->fd, &u->rx_fallback, UD(u, TAG_U_RECV), fallback);
	u->ops++;
}

static void client_post_send(struct client *c, const char *p, size_t n)
{
	struct io_uring_sqe *sqe = worker_sqe(c->w);
	io_uring_prep_send(sqe, c->fd, p, n, MSG_NOSIGNAL | MSG_WAITALL);
	io_uring_sqe_set_data64(sqe, UD(c, TAG_C_SEND));
	c->ops++;
	timer_arm(c->w, &c->timer, TQ_CLIENT_IDLE);
}

static void upstream_post_send(struct upstream *u, const char *p, size_t n)
{
	struct io_uring_sqe *sqe = worker_sqe(u->w);
	io_uring_prep_send(sqe, u->fd, p, n, MSG_NOSIGNAL | MSG_WAITALL);
	io_uring_sqe_set_data64(sqe, UD(u, TAG_U_SEND));
	u->ops++;
}

static void cancel_fd(struct worker *w, int fd)
{
	struct io_uring_sqe *sqe = worker_sqe(w);
	io_uring_prep_cancel_fd(sqe, fd, IORING_ASYNC_CANCEL_ALL);
	io_uring_sqe_set_data64(sqe, 0);
}

/* ---- upstream (dyno) connections ---- */

static void pool_unlink(struct upstream *u)
{
	if (!u->in_pool)
		return;
	struct backend *b = u->be;
	if (u->pool_prev)
		u->pool_prev->pool_next = u->pool_next;
	else
		b->idle = u->pool_next;
	if (u->pool_next)
		u->pool_next->pool_prev = u->pool_prev;
	u->pool_next = u->pool_prev = NULL;
	u->in_pool = false;
	b->n_idle--;
}

static void upstream_maybe_free(struct upstream *u)
{
	if (!u->dead || u->ops > 0)
		return;
	struct worker *w = u->w;
	pump_release(w, &u->tx);
	free(u->rx_fallback);
	free(u->in);
	free(u->orphan);
	safe_close(u->fd);
	w->n_upstreams--;
	free(u);
}

void upstream_close(struct upstream *u)
{
	if (u->dead)
		return;
	u->dead = true;
	pool_unlink(u);
	timer_disarm(u->w, &u->timer);
	struct client *c = u->client;
	if (c && c->up == u)
		c->up = NULL;
	if (u->ops > 0) {
		cancel_fd(u->w, u->fd);
		/* A send still in flight may read the client's request bytes: they go with the
		 * connection, and the client keeps a copy for a retry. */
		if (c && u->sending_head && c->req_out) {
			u->orphan = c->req_out;
			size_t n = c->req_out_len;
			c->req_out = n ? malloc(n) : NULL;
			c->req_out_cap = c->req_out ? n : 0;
			if (c->req_out)
				memcpy(c->req_out, u->orphan, n);
			else {
				c->req_out_len = 0;
				c->replayable = false;
			}
		}
	}
	u->client = NULL;
	upstream_maybe_free(u);
}

static struct upstream *upstream_new(struct worker *w, struct backend *be)
{
	struct upstream *u = calloc(1, sizeof(*u));
	if (!u)
		return NULL;
	u->w = w;
	u->be = be;
	u->fd = -1;
	u->timer.queue = -1;
	u->tx.buf = -1;
	w->n_upstreams++;
	return u;
}

/* Methods a client may repeat (RFC 9110 9.2.2): safe to send again after a failure that may
 * have come after the dyno read the request. */
static bool idempotent(enum http_method m)
{
	return m == HTTP_METHOD_GET || m == HTTP_METHOD_HEAD || m == HTTP_METHOD_OPTIONS ||
	       m == HTTP_METHOD_PUT || m == HTTP_METHOD_DELETE || m == HTTP_METHOD_TRACE;
}

/* A pooled connection the dyno closed meanwhile reads EOF (or data it should not send). */
static bool pooled_alive(struct upstream *u)
{
	char b;
	ssize_t r = recv(u->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
	return r == -1 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

static void pool_put(struct upstream *u)
{
	struct worker *w = u->w;
	struct backend *b = u->be;
	u->client = NULL;
	if (w->stopping || b->n_idle >= w->cfg->pool_max || b->seen_generation != w->generation) {
		upstream_close(u);
		return;
	}
	u->in_len = 0;
	u->no_reuse = false;
	u->reused = true;
	u->pool_prev = NULL;
	u->pool_next = b->idle;
	if (b->idle)
		b->idle->pool_prev = u;
	b->idle = u;
	b->n_idle++;
	u->in_pool = true;
	u->pooled_at = w->now_ms;
	timer_arm(w, &u->timer, TQ_POOL);
}

/* ---- client lifecycle ---- */

static void waiters_remove(struct client *c)
{
	struct worker *w = c->w;
	if (!c->in_waiters)
		return;
	for (size_t i = 0; i < w->n_boot_waiters; i++)
		if (w->boot_waiters[i] == c)
			w->boot_waiters[i] = NULL;
	c->in_waiters = false;
}

static void client_maybe_free(struct client *c)
{
	if (!c->dead || c->ops > 0)
		return;
	struct worker *w = c->w;
	pump_release(w, &c->tx);
	free(c->rx_fallback);
	free(c->in);
	free(c->out);
	free(c->req_out);
	free(c->slow);
	free(c->slow_headers);
	safe_close(c->fd);
	if (c->all_prev)
		c->all_prev->all_next = c->all_next;
	else
		w->clients = c->all_next;
	if (c->all_next)
		c->all_next->all_prev = c->all_prev;
	w->n_clients--;
	free(c);
}

/* Release the exchange's claim on its dyno (outstanding count) exactly once. */
static void release_backend(struct client *c)
{
	if (c->be) {
		c->be->outstanding--;
		atomic_fetch_sub_explicit(&c->be->load->outstanding, 1, memory_order_relaxed);
		c->be = NULL;
	}
}

static void client_close(struct client *c)
{
	if (c->dead)
		return;
	c->dead = true;
	timer_disarm(c->w, &c->timer);
	waiters_remove(c);
	release_backend(c);
	if (c->up)
		upstream_close(c->up);
	if (c->ops > 0)
		cancel_fd(c->w, c->fd);
	client_maybe_free(c);
}

/* Close after the last response: shut our side, read until the client closes (or a short
 * while), so unread request bytes do not turn into a reset that destroys the response. */
static void client_linger(struct client *c)
{
	if (c->dead)
		return;
	if (c->w->stopping) {
		client_close(c);
		return;
	}
	c->state = C_LINGER;
	release_backend(c);
	if (c->up)
		upstream_close(c->up);
	shutdown(c->fd, SHUT_WR);
	client_post_recv(c, false);
	timer_arm(c->w, &c->timer, TQ_KEEPALIVE);
}

void client_accepted(struct worker *w, int fd)
{
	struct client *c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return;
	}
	c->w = w;
	c->fd = fd;
	c->timer.queue = -1;
	c->tx.buf = -1;
	c->all_next = w->clients;
	if (w->clients)
		w->clients->all_prev = c;
	w->clients = c;
	w->n_clients++;

	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	strcpy(c->ip, "0.0.0.0");
	if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0) {
		if (ss.ss_family == AF_INET)
			inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, c->ip,
			          sizeof(c->ip));
		else if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
			if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
				inet_ntop(AF_INET, &s6->sin6_addr.s6_addr[12], c->ip,
				          sizeof(c->ip));
			else
				inet_ntop(AF_INET6, &s6->sin6_addr, c->ip, sizeof(c->ip));
		}
	}
	c->local_port = w->listen_port; /* accepted sockets share the listener's port */
	int one = 1;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->state = C_IDLE;
	client_post_recv(c, false);
	timer_arm(w, &c->timer, TQ_KEEPALIVE);
}

void client_close_now(struct client *c)
{
	if (!c->dead && c->state != C_IDLE && c->state != C_LINGER && c->state != C_ERROR) {
		c->code = ROUTER_H99;
		log_exchange(c);
	}
	client_close(c);
}

void client_stop(struct client *c)
{
	/* Graceful stop: a client between requests with nothing buffered goes now; the others
	 * get "Connection: close" on their current response. */
	if (c->dead)
		return;
	if (c->state == C_IDLE && c->in_len == 0 && !c->slow)
		client_close(c);
	else
		c->keep_alive = false;
}

/* ---- request side ---- */

static void reset_exchange(struct client *c)
{
	c->up = NULL;
	c->be = NULL;
	c->n_tried = 0;
	c->attempts = 0;
	c->code = ROUTER_OK;
	c->connect_fail = ROUTER_OK;
	c->status = 0;
	c->method[0] = c->path[0] = c->host[0] = c->request_id[0] = 0;
	c->app[0] = c->dyno[0] = 0;
	c->upgrade = c->expect_continue = c->replayable = false;
	c->resp_started = c->resp_dechunk = c->sent_continue = c->tunnel_started = false;
	c->rd_eof = false;
	c->t_connect = 0;
	c->bytes = 0;
	memset(&c->req_body, 0, sizeof(c->req_body));
	memset(&c->resp_body, 0, sizeof(c->resp_body));
	c->req_out_len = c->req_out_off = 0;
	c->out_len = c->out_off = 0;
}

/* Apply a body framing to the next bytes: how many of avail belong to the message, or
 * -EBADMSG for a malformed chunked body. */
static ssize_t frame_take(struct framing *f, const char *p, size_t avail)
{
	switch (f->kind) {
	case BODY_NONE:
		f->done = true;
		return 0;
	case BODY_LENGTH: {
		size_t n = f->remaining < avail ? (size_t)f->remaining : avail;
		f->remaining -= n;
		if (f->remaining == 0)
			f->done = true;
		return (ssize_t)n;
	}
	case BODY_CHUNKED: {
		if (f->done)
			return 0;
		ssize_t n = http_chunked_feed(&f->chunked, p, avail);
		if (n < 0)
			return n;
		if (http_chunked_done(&f->chunked))
			f->done = true;
		return n;
	}
	case BODY_CLOSE:
	case BODY_TUNNEL:
	default:
		return (ssize_t)avail;
	}
}

static void framing_init(struct framing *f, enum http_body b, uint64_t len)
{
	memset(f, 0, sizeof(*f));
	switch (b) {
	case HTTP_BODY_LENGTH:
		f->kind = BODY_LENGTH;
		f->remaining = len;
		f->done = len == 0;
		break;
	case HTTP_BODY_CHUNKED:
		f->kind = BODY_CHUNKED;
		http_chunked_init(&f->chunked, NULL);
		break;
	case HTTP_BODY_CLOSE:
		f->kind = BODY_CLOSE;
		break;
	case HTTP_BODY_NONE:
	default:
		f->kind = BODY_NONE;
		f->done = true;
		break;
	}
}

static int in_append(struct client *c, const char *p, size_t n)
{
	return growbuf_append(&c->in, &c->in_len, &c->in_cap, p, n);
}

/* Keep bytes that follow the current request (pipelining) at the front of c->in. base is
 * where the request was parsed from (c->in itself or a receive buffer); used is how many
 * of its bytes the request took. */
static int keep_rest(struct client *c, const char *base, size_t blen, size_t used)
{
	if (base == c->in) {
		memmove(c->in, c->in + used, blen - used);
		c->in_len = blen - used;
		return 0;
	}
	c->in_len = 0;
	return in_append(c, base + used, blen - used);
}

static int status_to_code(int status)
{
	return (status == 414 || status == 431) ? ROUTER_H25 : ROUTER_H26;
}

/* A complete request head is at base[0..head_len); build what goes to the dyno. */
static void start_request(struct client *c, struct http_request *req, const char *base, size_t blen,
                          size_t head_len)
{
	struct worker *w = c->w;
	reset_exchange(c);
	c->t_start = now_us();
	c->req_method = req->method;
	c->http10 = req->version_minor == 0;
	c->keep_alive = req->keep_alive && !w->stopping;
	c->upgrade = req->upgrade;
	c->expect_continue = req->expect_continue;

	int r = build_request_head(c, req, c->t_start);
	if (r < 0) {
		keep_rest(c, base, blen, blen);
		respond_error(c, ROUTER_H99, 503);
		return;
	}
	if (req->method == HTTP_METHOD_CONNECT || req->target_form == HTTP_TARGET_AUTHORITY) {
		keep_rest(c, base, blen, blen);
		respond_error(c, ROUTER_H26, 501);
		return;
	}
	framing_init(&c->req_body, req->body, req->content_length);

	/* Body bytes that arrived with the head go out with it. */
	size_t used = head_len;
	ssize_t n = frame_take(&c->req_body, base + used, blen - used);
	if (n < 0) {
		keep_rest(c, base, blen, blen);
		respond_error(c, ROUTER_H26, 400);
		return;
	}
	if (n > 0 && growbuf_append(&c->req_out, &c->req_out_len, &c->req_out_cap, base + used,
	                            (size_t)n) < 0) {
		keep_rest(c, base, blen, blen);
		respond_error(c, ROUTER_H99, 503);
		return;
	}
	used += (size_t)n;
	/* An upgraded connection's early bytes (after the head) belong to the tunnel. */
	if (keep_rest(c, base, blen, used) < 0) {
		respond_error(c, ROUTER_H99, 503);
		return;
	}
	c->replayable = c->req_body.done;
	pick_and_send(c);
}

/* Parse what is in c->in plus (data, len) from a receive. buf/owned hold the receive
 * memory, released here. */
static void on_request_bytes(struct client *c, const char *data, size_t len, int buf, char *owned)
{
	struct worker *w = c->w;
	const char *base;
	size_t blen;
	struct http_request *req;

	if (c->in_len == 0 && !c->slow && data) {
		base = data;
		blen = len;
		req = &w->req;
		http_request_reset(req);
	} else {
		if (data && in_append(c, data, len) < 0) {
			buf_release(w, buf);
			free(owned);
			client_close(c);
			return;
		}
		base = c->in;
		blen = c->in_len;
		req = c->slow ? c->slow : &w->req;
		if (!c->slow)
			http_request_reset(req);
	}

	ssize_t r = http_request_parse(req, base, blen);
	if (r == 0) {
		if (blen > w->cfg->max_request_head) {
			buf_release(w, buf);
			free(owned);
			c->in_len = 0;
			reset_exchange(c);
			c->t_start = now_us();
			respond_error(c, ROUTER_H25, 431);
			return;
		}
		/* Incomplete: keep the bytes, continue with a parser of our own. */
		if (base == data && in_append(c, data, len) < 0) {
			buf_release(w, buf);
			free(owned);
			client_close(c);
			return;
		}
		buf_release(w, buf);
		free(owned);
		if (!c->slow) {
			c->slow = malloc(sizeof(*c->slow));
			c->slow_headers =
			        calloc(HTTP_HEADERS_MAX_DEFAULT, sizeof(*c->slow_headers));
			if (!c->slow || !c->slow_headers) {
				client_close(c);
				return;
			}
			http_request_init(c->slow, NULL, c->slow_headers, HTTP_HEADERS_MAX_DEFAULT);
			(void)http_request_parse(c->slow, c->in, c->in_len);
		}
		c->state = C_IDLE;
		client_post_recv(c, false);
		timer_arm(w, &c->timer, TQ_CLIENT_IDLE);
		return;
	}
	if (r < 0) {
		int status = req->error_status ? req->error_status : 400;
		buf_release(w, buf);
		free(owned);
		c->in_len = 0;
		reset_exchange(c);
		c->t_start = now_us();
		respond_error(c, status_to_code(status), status);
		return;
	}
	start_request(c, req, base, blen, (size_t)r);
	buf_release(w, buf);
	free(owned);
	if (c->slow) {
		free(c->slow);
		free(c->slow_headers);
		c->slow = NULL;
		c->slow_headers = NULL;
	}
}

static void start_exchange_from_input(struct client *c)
{
	if (c->in_len > 0) {
		on_request_bytes(c, NULL, 0, -1, NULL);
		return;
	}
	c->state = C_IDLE;
	client_post_recv_flags(c, false, true);
	timer_arm(c->w, &c->timer, TQ_KEEPALIVE);
}

/* ---- routing and connecting ---- */

static bool tried(const struct client *c, const struct backend *b)
{
	for (unsigned i = 0; i < c->n_tried; i++)
		if (c->tried[i] == b)
			return true;
	return false;
}

static void send_request(struct client *c, struct upstream *u)
{
	c->state = C_SEND_REQ;
	c->req_out_off = 0;
	u->sending_head = true;
	upstream_post_send(u, c->req_out, c->req_out_len);
}

static void start_connect(struct client *c, struct upstream *u)
{
	struct worker *w = c->w;
	u->fd = socket(u->be->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (u->fd == -1) {
		upstream_close(u);
		c->up = NULL;
		release_backend(c);
		respond_error(c, ROUTER_H99, 503);
		return;
	}
	int one = 1;
	(void)setsockopt(u->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->state = C_CONNECT;
	struct io_uring_sqe *sqe = worker_sqe(w);
	io_uring_prep_connect(sqe, u->fd, (struct sockaddr *)&u->be->addr, u->be->addr_len);
	io_uring_sqe_set_data64(sqe, UD(u, TAG_U_CONNECT));
	sqe->flags |= IOSQE_IO_LINK;
	u->ops++;
	u->connect_ts.tv_sec = (long long)(w->cfg->connect_timeout / 1000);
	u->connect_ts.tv_nsec = (long long)(w->cfg->connect_timeout % 1000) * 1000000;
	sqe = worker_sqe(w);
	io_uring_prep_link_timeout(sqe, &u->connect_ts, 0);
	io_uring_sqe_set_data64(sqe, UD(u, TAG_TIMEOUT));
	u->ops++;
}

static void pick_and_send(struct client *c)
{
	struct worker *w = c->w;
	const struct router_app *a = router_table_lookup(w->table, c->host, strlen(c->host));

	if (!a) {
		respond_error(c, ROUTER_NO_APP, 404);
		return;
	}
	snprintf(c->app, sizeof(c->app), "%s", a->name);
	if (a->maintenance) {
		respond_error(c, ROUTER_H80, 503);
		return;
	}
	if (a->n_dynos == 0) {
		respond_error(c, ROUTER_H14, 503);
		return;
	}
	if (a->n_up == 0) {
		if (a->n_booting == 0) {
			respond_error(c, ROUTER_H10, 503);
			return;
		}
		/* Wait for a dyno to come up (a new table), up to the boot timeout. */
		if (c->state != C_BOOT_WAIT) {
			if (w->n_boot_waiters == w->cap_boot_waiters) {
				size_t nc = w->cap_boot_waiters ? 2 * w->cap_boot_waiters : 16;
				struct client **nw = realloc(w->boot_waiters, nc * sizeof(*nw));
				if (!nw) {
					respond_error(c, ROUTER_H99, 503);
					return;
				}
				w->boot_waiters = nw;
				w->cap_boot_waiters = nc;
			}
			timer_arm(w, &c->timer, TQ_BOOT);
		}
		w->boot_waiters[w->n_boot_waiters++] = c;
		c->in_waiters = true;
		c->state = C_BOOT_WAIT;
		return;
	}
	if (c->state == C_BOOT_WAIT)
		timer_disarm(w, &c->timer);

	/* Candidates: up dynos not tried yet for this request. */
	size_t cand[256];
	unsigned loads[256];
	size_t nc = 0;
	for (size_t i = 0; i < a->n_up && nc < ELEMENTSOF(cand); i++) {
		const struct router_dyno *d = &a->dynos[a->up[i]];
		struct backend *b = w->by_dyno[d->index];
		if (!b || tried(c, b))
			continue;
		cand[nc] = a->up[i];
		loads[nc] = atomic_load_explicit(&b->load->outstanding, memory_order_relaxed);
		nc++;
	}
	if (nc == 0 || c->attempts >= MAX_ATTEMPTS) {
		respond_error(c, c->connect_fail != ROUTER_OK ? c->connect_fail : ROUTER_H99, 503);
		return;
	}
	size_t k = router_balance_pick(w->cfg->balance, loads, nc, &w->rng, &w->rr);
	const struct router_dyno *d = &a->dynos[cand[k]];
	struct backend *b = w->by_dyno[d->index];
	snprintf(c->dyno, sizeof(c->dyno), "%s", d->name);
	c->attempts++;
	c->be = b;
	b->outstanding++;
	atomic_fetch_add_explicit(&b->load->outstanding, 1, memory_order_relaxed);

	/* A pooled connection first (most recently used is warmest). */
	while (b->idle) {
		struct upstream *u = b->idle;
		pool_unlink(u);
		timer_disarm(w, &u->timer);
		/* A connection idle for a while may have been closed by the dyno: check before
		 * use when the request could not be replayed on a fresh one. A recently used
		 * one is trusted (a failure before any response byte is retried). */
		if ((!c->replayable || !idempotent(c->req_method) ||
		     w->now_ms - u->pooled_at > 1000) &&
		    !pooled_alive(u)) {
			upstream_close(u);
			continue;
		}
		u->client = c;
		c->up = u;
		c->t_connect = now_us();
		send_request(c, u);
		return;
	}
	struct upstream *u = upstream_new(w, b);
	if (!u) {
		release_backend(c);
		respond_error(c, ROUTER_H99, 503);
		return;
	}
	u->client = c;
	c->up = u;
	start_connect(c, u);
}

void client_reroute(struct client *c)
{
	if (c->dead || c->state != C_BOOT_WAIT)
		return;
	c->in_waiters = false;
	pick_and_send(c);
}

/* The dyno failed before any response byte: try another (or a fresh connection). */
static void retry_or_fail(struct client *c, enum router_code code, bool same_dyno_ok)
{
	struct backend *b = c->be;
	if (c->up)
		upstream_close(c->up);
	release_backend(c);
	/* A failed connect sent nothing: the request (and any body still unread) can go to another
	 * dyno. After bytes went out, only a request we hold entirely can. */
	bool connect_failed = code == ROUTER_H19 || code == ROUTER_H21;
	if ((!connect_failed && !c->replayable) || c->attempts >= MAX_ATTEMPTS) {
		respond_error(c, code, 503);
		return;
	}
	if (!same_dyno_ok && b && c->n_tried < ELEMENTSOF(c->tried))
		c->tried[c->n_tried++] = b;
	if (code == ROUTER_H19 || code == ROUTER_H21)
		c->connect_fail = code;
	else if (c->connect_fail == ROUTER_OK)
		c->connect_fail = code;
	pick_and_send(c);
}

/* ---- errors ---- */

static void respond_error(struct client *c, enum router_code code, int status)
{
	const char *page;
	size_t len;

	if (c->up)
		upstream_close(c->up);
	release_backend(c);
	waiters_remove(c);
	c->code = code;
	c->status = status;
	c->keep_alive = false;
	if (router_error_response(code, status, &page, &len) < 0)
		router_error_response(ROUTER_H99, 503, &page, &len);
	c->out_len = c->out_off = 0;
	if (growbuf_append(&c->out, &c->out_len, &c->out_cap, page, len) < 0) {
		log_exchange(c);
		client_close(c);
		return;
	}
	const char *body = memmem(page, len, "\r\n\r\n", 4);
	c->bytes = body ? len - (size_t)(body + 4 - page) : 0;
	c->resp_started = true;
	c->state = C_ERROR;
	log_exchange(c);
	client_post_send(c, c->out, c->out_len);
}

/* ---- response side ---- */

static void finish_exchange(struct client *c)
{
	struct worker *w = c->w;
	struct upstream *u = c->up;
	log_exchange(c);
	release_backend(c);
	if (u) {
		c->up = NULL;
		timer_disarm(w, &u->timer);
		if (c->resp_body.done && c->req_body.done && !u->no_reuse && !u->dead &&
		    u->client && c->status != 101)
			pool_put(u);
		else
			upstream_close(u);
	}
	if (c->out_cap > 65536) {
		free(c->out);
		c->out = NULL;
		c->out_cap = 0;
	}
	c->out_len = c->out_off = 0;
	if (!c->keep_alive || w->stopping) {
		client_linger(c);
		return;
	}
	start_exchange_from_input(c);
}

/* Compact the data of a chunked body in place (HTTP/1.0 client): returns the data length. */
static size_t dechunk_inplace(struct framing *f, char *p, size_t n, ssize_t *ret_consumed)
{
	size_t in = 0, out = 0;
	while (in < n && !http_chunked_done(&f->chunked)) {
		const char *d;
		size_t dl;
		ssize_t k = http_chunked_next(&f->chunked, p + in, n - in, &d, &dl);
		if (k < 0) {
			*ret_consumed = k;
			return 0;
		}
		if (k == 0)
			break;
		if (dl) {
			memmove(p + out, d, dl);
			out += dl;
		}
		in += (size_t)k;
	}
	if (http_chunked_done(&f->chunked))
		f->done = true;
	*ret_consumed = (ssize_t)in;
	return out;
}

/* Response body bytes from the dyno in p[0..n) (writable). Returns how many go to the client
 * (at the front of p after dechunking), or -1 on a malformed body. */
static ssize_t response_body_take(struct client *c, struct upstream *u, char *p, size_t n)
{
	struct framing *f = &c->resp_body;
	if (c->resp_dechunk) {
		ssize_t consumed;
		size_t out = dechunk_inplace(f, p, n, &consumed);
		if (consumed < 0)
			return -1;
		if ((size_t)consumed < n)
			u->no_reuse = true; /* bytes after the message */
		return (ssize_t)out;
	}
	ssize_t k = frame_take(f, p, n);
	if (k < 0)
		return -1;
	if ((size_t)k < n)
		u->no_reuse = true; /* the dyno sent more than the message */
	return k;
}

static void on_response_head(struct client *c, struct upstream *u, struct http_response *resp,
                             char *base, size_t blen, size_t head_len, int buf, char *owned)
{
	struct worker *w = c->w;
	if (resp->interim) {
		/* 1xx: we answered Expect ourselves; informational responses are not relayed. */
		size_t rest = blen - head_len;
		memmove(base, base + head_len, rest);
		if (base == u->in)
			u->in_len = rest;
		http_response_reset(&w->resp, c->req_method);
		if (rest == 0) {
			buf_release(w, buf);
			free(owned);
			upstream_post_recv(u, false);
			timer_arm(w, &u->timer, TQ_FIRST_BYTE);
			return;
		}
		ssize_t r = http_response_parse(&w->resp, base, rest);
		if (r > 0) {
			on_response_head(c, u, &w->resp, base, rest, (size_t)r, buf, owned);
			return;
		}
		if (r == 0) {
			if (base != u->in) {
				u->in_len = 0;
				growbuf_append(&u->in, &u->in_len, &u->in_cap, base, rest);
			}
			buf_release(w, buf);
			free(owned);
			upstream_post_recv(u, false);
			timer_arm(w, &u->timer, TQ_UP_IDLE);
			return;
		}
		buf_release(w, buf);
		free(owned);
		respond_error(c, ROUTER_H17, 503);
		return;
	}
	if (resp->upgrade && (!c->upgrade || resp->status != 101)) {
		buf_release(w, buf);
		free(owned);
		respond_error(c, ROUTER_H17, 503);
		return;
	}
	c->status = resp->status;
	framing_init(&c->resp_body, resp->body, resp->content_length);
	if (resp->upgrade)
		c->resp_body.kind = BODY_TUNNEL;
	if (resp->body == HTTP_BODY_CLOSE)
		c->keep_alive = false;
	if (resp->body == HTTP_BODY_CHUNKED && c->http10) {
		c->resp_dechunk = true;
		c->keep_alive = false;
	}
	u->no_reuse = !resp->keep_alive;
	if (w->stopping)
		c->keep_alive = false;
	c->out_len = c->out_off = 0;
	if (build_response_head(c, resp) < 0) {
		buf_release(w, buf);
		free(owned);
		respond_error(c, ROUTER_H99, 503);
		return;
	}
	size_t rest = blen - head_len;
	if (resp->upgrade) {
		/* Bytes the dyno sent right after 101 belong to the tunnel. */
		if (rest &&
		    growbuf_append(&c->out, &c->out_len, &c->out_cap, base + head_len, rest) < 0)
			goto oom;
		c->bytes += rest;
	} else if (rest) {
		ssize_t k = response_body_take(c, u, base + head_len, rest);
		if (k < 0) {
			buf_release(w, buf);
			free(owned);
			c->keep_alive = false;
			respond_error(c, ROUTER_H17, 503);
			return;
		}
		if (k > 0 && growbuf_append(&c->out, &c->out_len, &c->out_cap, base + head_len,
		                            (size_t)k) < 0)
			goto oom;
		c->bytes += (size_t)k;
	} else if (c->resp_body.kind == BODY_NONE)
		c->resp_body.done = true;
	buf_release(w, buf);
	free(owned);
	u->in_len = 0; /* the head (if it was buffered) is consumed */
	/* The request bytes are no longer needed for a retry. */
	c->replayable = false;
	c->resp_started = true;
	c->state = resp->upgrade ? C_TUNNEL : C_RESP;
	client_post_send(c, c->out, c->out_len);
	return;
oom:
	buf_release(w, buf);
	free(owned);
	client_close(c);
}

static void on_response_bytes(struct client *c, struct upstream *u, char *data, size_t len, int buf,
                              char *owned)
{
	struct worker *w = c->w;
	char *base;
	size_t blen;

	if (u->in_len == 0) {
		base = data;
		blen = len;
	} else {
		if (growbuf_append(&u->in, &u->in_len, &u->in_cap, data, len) < 0) {
			buf_release(w, buf);
			free(owned);
			respond_error(c, ROUTER_H99, 503);
			return;
		}
		buf_release(w, buf);
		free(owned);
		buf = -1;
		owned = NULL;
		base = u->in;
		blen = u->in_len;
	}
	http_response_reset(&w->resp, c->req_method);
	ssize_t r = http_response_parse(&w->resp, base, blen);
	if (r == 0) {
		if (blen > w->cfg->max_response_head) {
			buf_release(w, buf);
			free(owned);
			respond_error(c, ROUTER_H25, 502);
			return;
		}
		if (base == data && growbuf_append(&u->in, &u->in_len, &u->in_cap, data, len) < 0) {
			buf_release(w, buf);
			free(owned);
			respond_error(c, ROUTER_H99, 503);
			return;
		}
		buf_release(w, buf);
		free(owned);
		upstream_post_recv(u, false);
		timer_arm(w, &u->timer, TQ_UP_IDLE);
		return;
	}
	if (r < 0) {
		buf_release(w, buf);
		free(owned);
		int st = w->resp.error_status;
		/* A response line over the limit is Heroku's H25; the rest is H17. */
		respond_error(c,
		              st == 502 && w->resp.error_reason &&
		                              strstr(w->resp.error_reason, "long")
		                      ? ROUTER_H25
		                      : ROUTER_H17,
		              502);
		return;
	}
	on_response_head(c, u, &w->resp, base, blen, (size_t)r, buf, owned);
}

/* ---- completions ---- */

static void client_recv_done(struct client *c, int res, unsigned flags)
{
	struct worker *w = c->w;
	int buf;
	char *owned;

	c->recv_pending = false;
	if (res == -ENOBUFS && !c->dead) {
		/* The buffer ring ran dry: read this one into memory of our own. */
		client_post_recv(c, true);
		return;
	}
	if (c->dead || res <= 0) {
		drop_rx(w, flags, &c->rx_fallback);
		if (c->dead)
			return;
		switch (c->state) {
		case C_REQ_BODY:
		case C_BOOT_WAIT:
		case C_CONNECT:
		case C_SEND_REQ:
		case C_WAIT_RESP:
			/* The client left before its response. */
			c->code = ROUTER_H27;
			c->status = 499;
			log_exchange(c);
			client_close(c);
			return;
		case C_RESP:
			/* ... or while it was being sent. */
			c->code = ROUTER_H27;
			log_exchange(c);
			client_close(c);
			return;
		case C_TUNNEL:
			/* The client finished: pass the half-close on to the dyno. */
			c->rd_eof = true;
			if (c->up && !c->up->dead)
				shutdown(c->up->fd, SHUT_WR);
			if (!c->up || c->up->rd_eof || c->up->dead) {
				log_exchange(c);
				client_close(c);
			}
			return;
		default:
			client_close(c);
			return;
		}
	}
	const char *data = rx_data(w, flags, &c->rx_fallback, &buf, &owned);
	switch (c->state) {
	case C_IDLE:
		on_request_bytes(c, data, (size_t)res, buf, owned);
		return;
	case C_LINGER:
		buf_release(w, buf);
		free(owned);
		client_post_recv(c, false);
		return;
	case C_BOOT_WAIT:
	case C_CONNECT:
	case C_SEND_REQ:
	case C_WAIT_RESP:
	case C_RESP: {
		/* The next request, early: keep it for when this exchange is over. No new
		 * receive until then, so a client cannot make us buffer more than this. */
		int r = in_append(c, data, (size_t)res);
		buf_release(w, buf);
		free(owned);
		if (r < 0)
			client_close(c);
		return;
	}
	case C_REQ_BODY: {
		struct upstream *u = c->up;
		ssize_t n = frame_take(&c->req_body, data, (size_t)res);
		if (n < 0 || !u) {
			buf_release(w, buf);
			free(owned);
			if (n < 0) {
				c->keep_alive = false;
				respond_error(c, ROUTER_H26, 400);
			} else
				client_close(c);
			return;
		}
		if ((size_t)n < (size_t)res &&
		    in_append(c, data + n, (size_t)res - (size_t)n) < 0) {
			buf_release(w, buf);
			free(owned);
			client_close(c);
			return;
		}
		timer_arm(w, &c->timer, TQ_CLIENT_IDLE);
		if (n == 0) {
			buf_release(w, buf);
			free(owned);
			c->state = C_WAIT_RESP;
			upstream_post_recv(u, false);
			timer_arm(w, &u->timer, TQ_FIRST_BYTE);
			timer_disarm(w, &c->timer);
			client_watch(c);
			return;
		}
		u->tx = (struct pump){.buf = buf, .owned = owned, .data = data, .len = (size_t)n};
		u->sending_head = false;
		upstream_post_send(u, data, (size_t)n);
		return;
	}
	case C_TUNNEL: {
		struct upstream *u = c->up;
		if (!u || u->dead) {
			buf_release(w, buf);
			free(owned);
			log_exchange(c);
			client_close(c);
			return;
		}
		timer_arm(w, &c->timer, TQ_CLIENT_IDLE);
		u->tx = (struct pump){.buf = buf, .owned = owned, .data = data, .len = (size_t)res};
		u->sending_head = false;
		upstream_post_send(u, data, (size_t)res);
		return;
	}
	default:
		buf_release(w, buf);
		free(owned);
		return;
	}
}

static void client_send_done(struct client *c, int res)
{
	struct worker *w = c->w;
	if (c->dead)
		return;
	timer_disarm(w, &c->timer);

	/* Which bytes were in flight: the 100 Continue, the staging buffer, or a pump. */
	if (c->state == C_REQ_BODY && !c->sent_continue) {
		c->sent_continue = true;
		if (res < 0) {
			client_close(c);
			return;
		}
		client_post_recv(c, false);
		timer_arm(w, &c->timer, TQ_CLIENT_IDLE);
		return;
	}
	if (res < 0) {
		if (c->state == C_ERROR || c->state == C_LINGER) {
			client_close(c);
			return;
		}
		c->code = ROUTER_H27;
		log_exchange(c);
		client_close(c);
		return;
	}
	const char *p;
	size_t *off, len;
	if (c->tx.data) {
		p = c->tx.data;
		off = &c->tx.off;
		len = c->tx.len;
	} else {
		p = c->out;
		off = &c->out_off;
		len = c->out_len;
	}
	*off += (size_t)res;
	if (*off < len) {
		client_post_send(c, p + *off, len - *off);
		return;
	}
	pump_release(w, &c->tx);
	c->out_off = c->out_len;

	switch (c->state) {
	case C_ERROR:
		client_linger(c);
		return;
	case C_RESP: {
		struct upstream *u = c->up;
		if (c->resp_body.done) {
			finish_exchange(c);
			return;
		}
		if (!u || u->dead) {
			client_close(c);
			return;
		}
		upstream_post_recv(u, false);
		timer_arm(w, &u->timer, TQ_UP_IDLE);
		return;
	}
	case C_TUNNEL: {
		struct upstream *u = c->up;
		if (!u || u->dead) {
			log_exchange(c);
			client_close(c);
			return;
		}
		timer_arm(w, &c->timer, TQ_CLIENT_IDLE);
		if (!c->tunnel_started) {
			/* First send of the tunnel (the 101 head): start both directions. Bytes the
			 * client sent early are already in c->in: they go first. */
			c->tunnel_started = true;
			if (c->in_len > 0) {
				u->tx.owned = malloc(c->in_len);
				if (!u->tx.owned) {
					client_close(c);
					return;
				}
				memcpy(u->tx.owned, c->in, c->in_len);
				u->tx.data = u->tx.owned;
				u->tx.len = c->in_len;
				c->in_len = 0;
				u->sending_head = false;
				upstream_post_send(u, u->tx.data, u->tx.len);
			} else
				client_post_recv(c, false);
		}
		if (!u->rd_eof)
			upstream_post_recv(u, false);
		return;
	}
	default:
		return;
	}
}

/* The completed operation stays counted while its handler runs, so nothing the handler
 * does frees c under it; it is uncounted (and c possibly freed) afterwards. */
void client_on_cqe(struct client *c, unsigned tag, int res, unsigned flags)
{
	if (tag == TAG_C_RECV)
		client_recv_done(c, res, flags);
	else
		client_send_done(c, res);
	c->ops--;
	client_maybe_free(c);
}

static void upstream_connect_done(struct upstream *u, int res)
{
	struct client *c = u->client;
	if (u->dead || !c)
		return;
	if (res < 0) {
		enum router_code code = (res == -ECANCELED || res == -ETIMEDOUT || res == -ETIME)
		                                ? ROUTER_H19
		                                : ROUTER_H21;
		retry_or_fail(c, code, false);
		return;
	}
	u->connected = true;
	c->t_connect = now_us();
	send_request(c, u);
}

static void upstream_send_done(struct upstream *u, int res)
{
	struct client *c = u->client;
	struct worker *w = u->w;
	if (u->dead || !c)
		return;
	if (res < 0) {
		pump_release(w, &u->tx);
		if (c->state == C_TUNNEL) {
			log_exchange(c);
			client_close(c);
			return;
		}
		if (u->reused && c->replayable) {
			retry_or_fail(c, ROUTER_H13, true);
			return;
		}
		c->keep_alive = false;
		respond_error(c, ROUTER_H18, 503);
		return;
	}
	if (u->sending_head) {
		c->req_out_off += (size_t)res;
		if (c->req_out_off < c->req_out_len) {
			upstream_post_send(u, c->req_out + c->req_out_off,
			                   c->req_out_len - c->req_out_off);
			return;
		}
		u->sending_head = false;
	} else {
		u->tx.off += (size_t)res;
		if (u->tx.off < u->tx.len) {
			upstream_post_send(u, u->tx.data + u->tx.off, u->tx.len - u->tx.off);
			return;
		}
		pump_release(w, &u->tx);
	}

	if (c->state == C_TUNNEL) {
		if (!c->rd_eof)
			client_post_recv(c, false);
		return;
	}
	if (!c->req_body.done) {
		c->state = C_REQ_BODY;
		/* The dyno has the head: if the client waits for a go-ahead, give it. */
		if (c->expect_continue && !c->sent_continue) {
			client_post_send(c, continue_100, sizeof(continue_100) - 1);
			return;
		}
		c->sent_continue = true;
		if (!c->req_body.done) {
			client_post_recv(c, false);
			timer_arm(w, &c->timer, TQ_CLIENT_IDLE);
			return;
		}
	}
	timer_disarm(w, &c->timer);
	c->state = C_WAIT_RESP;
	set_poll_first(prep_recv(w, u->fd, &u->rx_fallback, UD(u, TAG_U_RECV), false));
	u->ops++;
	timer_arm(w, &u->timer, TQ_FIRST_BYTE);
	client_watch(c);
}

static void upstream_recv_done(struct upstream *u, int res, unsigned flags)
{
	struct client *c = u->client;
	struct worker *w = u->w;
	int buf;
	char *owned;

	if (res == -ENOBUFS && !u->dead && c) {
		upstream_post_recv(u, true);
		return;
	}
	if (u->dead || !c || res <= 0) {
		drop_rx(w, flags, &u->rx_fallback);
		if (u->dead || !c)
			return;
		timer_disarm(w, &u->timer);
		switch (c->state) {
		case C_WAIT_RESP:
			if (u->in_len > 0) {
				respond_error(c, ROUTER_H13, 503);
				return;
			}
			/* A kept-alive connection the dyno closed as the request arrived: the
			 * request was not processed if it is idempotent to begin with. */
			if (u->reused && c->replayable && idempotent(c->req_method)) {
				retry_or_fail(c, ROUTER_H13, true);
				return;
			}
			respond_error(c, ROUTER_H13, 503);
			return;
		case C_RESP:
			if (c->resp_body.kind == BODY_CLOSE && res == 0) {
				c->resp_body.done = true;
				upstream_close(u);
				finish_exchange(c);
				return;
			}
			/* Cut off mid-body: nothing to tell the client but a closed connection. */
			c->code = ROUTER_H13;
			log_exchange(c);
			client_close(c);
			return;
		case C_TUNNEL:
			u->rd_eof = true;
			shutdown(c->fd, SHUT_WR);
			if (c->rd_eof) {
				log_exchange(c);
				client_close(c);
			}
			return;
		default:
			return;
		}
	}
	char *data = (char *)rx_data(w, flags, &u->rx_fallback, &buf, &owned);
	switch (c->state) {
	case C_WAIT_RESP:
		timer_disarm(w, &u->timer);
		on_response_bytes(c, u, data, (size_t)res, buf, owned);
		return;
	case C_RESP: {
		timer_disarm(w, &u->timer);
		ssize_t k = response_body_take(c, u, data, (size_t)res);
		if (k <= 0) {
			buf_release(w, buf);
			free(owned);
			if (k < 0) {
				c->code = ROUTER_H17;
				log_exchange(c);
				client_close(c);
				return;
			}
			if (c->resp_body.done)
				finish_exchange(c);
			else {
				upstream_post_recv(u, false);
				timer_arm(w, &u->timer, TQ_UP_IDLE);
			}
			return;
		}
		c->bytes += (uint64_t)k;
		c->tx = (struct pump){.buf = buf, .owned = owned, .data = data, .len = (size_t)k};
		client_post_send(c, data, (size_t)k);
		return;
	}
	case C_TUNNEL:
		c->bytes += (uint64_t)res;
		c->tx = (struct pump){.buf = buf, .owned = owned, .data = data, .len = (size_t)res};
		client_post_send(c, data, (size_t)res);
		return;
	default:
		buf_release(w, buf);
		free(owned);
		return;
	}
}

void upstream_on_cqe(struct upstream *u, unsigned tag, int res, unsigned flags)
{
	switch (tag) {
	case TAG_U_CONNECT:
		upstream_connect_done(u, res);
		break;
	case TAG_U_SEND:
		upstream_send_done(u, res);
		break;
	case TAG_U_RECV:
		upstream_recv_done(u, res, flags);
		break;
	default:
		break;
	}
	u->ops--;
	upstream_maybe_free(u);
}

/* ---- timers ---- */

void client_on_timeout(struct client *c)
{
	if (c->dead)
		return;
	switch (c->state) {
	case C_BOOT_WAIT:
		waiters_remove(c);
		respond_error(c, ROUTER_H20, 503);
		return;
	case C_REQ_BODY:
	case C_RESP:
		c->code = ROUTER_H28;
		if (!c->resp_started)
			c->status = 499;
		log_exchange(c);
		client_close(c);
		return;
	case C_TUNNEL:
		log_exchange(c);
		client_close(c);
		return;
	default:
		client_close(c);
		return;
	}
}

void upstream_on_timeout(struct upstream *u)
{
	struct client *c = u->client;
	if (u->dead)
		return;
	if (!c || u->in_pool) {
		upstream_close(u);
		return;
	}
	if (c->state == C_WAIT_RESP) {
		u->timed_out = true;
		respond_error(c, u->in_len > 0 ? ROUTER_H15 : ROUTER_H12, 503);
		return;
	}
	c->code = ROUTER_H15;
	log_exchange(c);
	client_close(c);
}
