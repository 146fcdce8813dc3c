/* dyno-router internals shared by its source files: configuration, the per-thread worker
 * (one io_uring each), client and dyno connections, timers, and the route table feed. */
#ifndef DYNOHOST_ROUTER_PROXY_H
#define DYNOHOST_ROUTER_PROXY_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <liburing.h>

#include "common/http.h"
#include "router/router.h"

struct router_config {
	unsigned workers;
	enum router_balance balance;
	/* milliseconds */
	uint64_t connect_timeout;    /* H19 */
	uint64_t first_byte_timeout; /* H12 */
	uint64_t idle_timeout;       /* H15 dyno side, H28 client side: rolling */
	uint64_t keepalive_timeout;  /* client keep-alive idle between requests */
	uint64_t pool_idle_timeout;  /* idle connections to dynos */
	uint64_t boot_timeout;       /* H20: how long requests wait for a booting dyno */
	uint64_t drain_timeout;      /* graceful stop bound */
	unsigned pool_max;           /* idle connections kept per dyno per worker */
	unsigned buffers;            /* provided receive buffers per worker (power of two) */
	unsigned buffer_size;
	size_t max_request_head;  /* all header bytes of one request; over: 431 H25 */
	size_t max_response_head; /* over: 502 H25 */
	const char *forwarded_proto;
	int log_fd;     /* -1: no request log */
	int log_socket; /* -1: none; else a connected AF_UNIX datagram socket */
};

/* Outstanding requests at one dyno address, shared by all workers so that two choices
 * compare what the whole router sent, not what one thread did. */
struct dyno_load {
	struct dyno_load *next;
	char key[64];
	atomic_uint outstanding;
	unsigned refs; /* backends of workers using it; under the feed lock */
};

/* The route table currently published; workers take a reference when generation moves. */
struct router_feed {
	pthread_mutex_t lock;
	struct router_table *table;
	atomic_uint_fast64_t generation;
	atomic_bool stopping;
	struct dyno_load *loads[1024]; /* hash buckets by address */
};

struct worker;
struct client;
struct upstream;

enum timer_queue {
	TQ_KEEPALIVE = 0, /* client: waiting for the next request */
	TQ_CLIENT_IDLE,   /* client: mid-request or slow reader (H28) */
	TQ_FIRST_BYTE,    /* dyno: response not begun (H12) */
	TQ_UP_IDLE,       /* dyno: response stalled (H15) */
	TQ_POOL,          /* dyno: idle in the keep-alive pool */
	TQ_BOOT,          /* client: waiting for a booting dyno (H20) */
	TQ_MAX,
};

struct timer {
	struct timer *prev, *next;
	uint64_t deadline; /* ms, CLOCK_MONOTONIC */
	int queue;         /* -1 when not armed */
};

/* One dyno address as this worker sees it: load and idle connections. */
struct backend {
	struct backend *hnext;
	char key[64];
	struct sockaddr_storage addr;
	socklen_t addr_len;
	unsigned outstanding;   /* this worker's requests at the dyno */
	struct dyno_load *load; /* everyone's */
	struct upstream *idle;  /* LIFO of pooled connections */
	unsigned n_idle;
	uint64_t seen_generation; /* last table that listed it */
};

/* Bytes being moved from one socket to the other: either a provided buffer or owned memory. */
struct pump {
	int buf;     /* provided buffer id held, or -1 */
	char *owned; /* or malloc'd memory held (receive fallback when buffers ran out) */
	const char *data;
	size_t len, off;
};

enum body_kind {
	BODY_NONE = 0,
	BODY_LENGTH,
	BODY_CHUNKED,
	BODY_CLOSE,
	BODY_TUNNEL,
};

struct framing {
	enum body_kind kind;
	uint64_t remaining; /* BODY_LENGTH */
	struct http_chunked chunked;
	bool done;
};

struct upstream {
	struct worker *w;
	int fd;
	int ops;
	bool dead;
	bool reused; /* came from the pool: a failure before any byte may be retried */
	bool connected;
	bool timed_out;
	struct backend *be;
	struct client *client;
	struct timer timer;
	struct upstream *pool_next, *pool_prev;
	bool in_pool;
	uint64_t pooled_at; /* ms */
	char *orphan;       /* closed with a send pending: the request bytes it reads */
	bool sending_head;  /* the pending send is from the client's req_out */
	bool rd_eof;        /* tunnel: the dyno finished sending */
	bool no_reuse;      /* the dyno said close, or sent bytes past the response */
	/* response head spanning several receives */
	char *in;
	size_t in_len, in_cap;
	char *rx_fallback;
	struct pump tx; /* request body / tunnel bytes on their way to the dyno */
	struct __kernel_timespec connect_ts;
};

enum client_state {
	C_IDLE = 0,  /* reading a request head */
	C_BOOT_WAIT, /* waiting for a dyno to come up */
	C_CONNECT,   /* connecting to a dyno */
	C_SEND_REQ,  /* sending the request head (and body bytes that came with it) */
	C_REQ_BODY,  /* pumping the request body */
	C_WAIT_RESP, /* waiting for the response head */
	C_RESP,      /* sending the response */
	C_TUNNEL,    /* after 101: bytes both ways */
	C_ERROR,     /* sending an error page, then closing */
	C_LINGER,    /* write side shut, reading until the client closes */
	C_STATE_MAX,
};

struct client {
	struct worker *w;
	int fd;
	int ops;
	bool dead;
	enum client_state state;
	struct timer timer;
	char ip[48];
	uint16_t local_port;

	/* Received bytes not yet handled: a partial head or pipelined requests. */
	char *in;
	size_t in_len, in_cap;
	struct http_request *slow; /* own parser once a head spans several receives */
	struct http_header *slow_headers;

	/* The exchange in progress. */
	struct upstream *up;
	struct backend *be;
	struct backend *tried[8];
	unsigned n_tried;
	unsigned attempts;
	enum router_code code;
	enum router_code connect_fail; /* H19 or H21 of the last failed connect */
	int status;
	char method[24];
	char path[512];
	char host[256];
	char request_id[208];
	char app[64];
	char dyno[32];
	bool keep_alive; /* keep the client connection after this exchange */
	bool http10;     /* the client spoke HTTP/1.0 */
	bool upgrade;    /* the client asked for an Upgrade */
	bool expect_continue;
	enum http_method req_method;
	bool replayable;             /* the whole request is still in out: can go to another dyno */
	bool resp_started;           /* bytes of the response reached the client socket */
	bool resp_dechunk;           /* HTTP/1.0 client, chunked response: send only the data */
	uint64_t t_start, t_connect; /* us */
	uint64_t bytes;              /* response bytes sent to the client */
	struct framing req_body, resp_body;

	bool rd_eof; /* tunnel: the client finished sending */
	bool sent_continue;
	bool tunnel_started;
	bool recv_pending; /* a receive is posted on the client socket */
	bool in_waiters;
	struct client *all_next, *all_prev;

	/* The rewritten request head and the body bytes that came with it, for the dyno. Kept
	 * until the response begins so a refused or stale connection can be retried. */
	char *req_out;
	size_t req_out_len, req_out_off, req_out_cap;
	/* Staging buffer for what goes to the client: response heads, error pages. */
	char *out;
	size_t out_len, out_off, out_cap;
	char *rx_fallback;
	struct pump tx; /* response body / tunnel bytes on their way to the client */
};

struct worker {
	unsigned id;
	pthread_t thread;
	const struct router_config *cfg;
	struct router_feed *feed;
	struct io_uring ring;
	int listen_fd;
	uint16_t listen_port;
	bool accepting;
	int wake_fd; /* eventfd: the main thread wakes us for new tables and for stop */
	uint64_t wake_val;

	struct io_uring_buf_ring *br;
	char *bufs;
	unsigned n_bufs;
	unsigned buf_size;

	struct router_table *table;
	uint64_t generation;
	struct backend **by_dyno; /* table dyno index → backend */
	struct backend **bhash;
	size_t bhash_cap;

	struct timer *tq_head[TQ_MAX], *tq_tail[TQ_MAX];
	uint64_t tq_dur[TQ_MAX];
	uint64_t now_ms;

	uint64_t rng, rr;
	struct http_request req; /* parser for heads that arrive in one receive */
	struct http_response resp;
	struct http_header *headers;

	struct client *clients; /* every live client, for shutdown */
	unsigned n_clients;
	unsigned n_upstreams;
	bool stopping;
	bool force_closed;
	uint64_t stop_deadline;
	struct client **boot_waiters;
	size_t n_boot_waiters, cap_boot_waiters;

	char *logbuf;
	size_t log_len;
};

/* worker.c */
int worker_init(struct worker *w, unsigned id, const struct router_config *cfg,
                struct router_feed *feed, int listen_fd);
void *worker_main(void *arg);
void worker_wake(struct worker *w);
void worker_destroy(struct worker *w);
uint64_t now_us(void);
struct io_uring_sqe *worker_sqe(struct worker *w);
void timer_arm(struct worker *w, struct timer *t, enum timer_queue q);
void timer_disarm(struct worker *w, struct timer *t);
void buf_release(struct worker *w, int id);
char *buf_addr(struct worker *w, int id);
struct backend *worker_backend_for(struct worker *w, const struct router_dyno *d);
void log_flush(struct worker *w);

/* proxy.c: the client state machine */
void client_accepted(struct worker *w, int fd);
void client_on_cqe(struct client *c, unsigned tag, int res, unsigned flags);
void upstream_on_cqe(struct upstream *u, unsigned tag, int res, unsigned flags);
void client_on_timeout(struct client *c);
void upstream_on_timeout(struct upstream *u);
void client_reroute(struct client *c);   /* a boot waiter after a table change */
void client_stop(struct client *c);      /* graceful stop: close if idle, else after exchange */
void client_close_now(struct client *c); /* drain deadline: close whatever it is doing */
void upstream_close(struct upstream *u);

/* headers.c */
int build_request_head(struct client *c, const struct http_request *req, uint64_t start_us);
int build_response_head(struct client *c, const struct http_response *resp);
void log_exchange(struct client *c);
void request_id_new(struct worker *w, char out[37]);
int growbuf_append(char **b, size_t *len, size_t *cap, const void *p, size_t n);

/* user_data tags: pointer | tag; objects are at least 16-byte aligned */
enum {
	TAG_IGNORE = 0,
	TAG_ACCEPT,
	TAG_WAKE,
	TAG_C_RECV,
	TAG_C_SEND,
	TAG_U_CONNECT,
	TAG_U_SEND,
	TAG_U_RECV,
	TAG_TIMEOUT,
	TAG_MASK = 15,
};

#define UD(p, tag) ((uint64_t)(uintptr_t)(p) | (tag))

#endif
