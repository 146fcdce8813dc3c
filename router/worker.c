/* One router worker: an io_uring with a provided-buffer ring, a multishot accept on the
 * listening socket, timer queues, the worker's view of the route table (backends, load,
 * keep-alive pools) and the event loop: timers, then completions, then wait. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "router/loader.h"
#include "router/proxy.h"

#define RING_ENTRIES 4096
#define BGID 1
#define LOGBUF_SIZE (64 * 1024)

uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

struct io_uring_sqe *worker_sqe(struct worker *w)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&w->ring);
	if (_unlikely_(!sqe)) {
		/* The submission queue is full: hand what we have to the kernel and retry. */
		io_uring_submit(&w->ring);
		sqe = io_uring_get_sqe(&w->ring);
	}
	return sqe; /* never NULL after a submit: the SQ was just emptied */
}

/* Timers: every queue has one fixed duration, so appending keeps each queue sorted. */
void timer_disarm(struct worker *w, struct timer *t)
{
	if (t->queue < 0)
		return;
	if (t->prev)
		t->prev->next = t->next;
	else
		w->tq_head[t->queue] = t->next;
	if (t->next)
		t->next->prev = t->prev;
	else
		w->tq_tail[t->queue] = t->prev;
	t->prev = t->next = NULL;
	t->queue = -1;
}

void timer_arm(struct worker *w, struct timer *t, enum timer_queue q)
{
	timer_disarm(w, t);
	t->queue = (int)q;
	t->deadline = w->now_ms + w->tq_dur[q];
	t->next = NULL;
	t->prev = w->tq_tail[q];
	if (t->prev)
		t->prev->next = t;
	else
		w->tq_head[q] = t;
	w->tq_tail[q] = t;
}

static void timers_run(struct worker *w)
{
	for (int q = 0; q < TQ_MAX; q++)
		while (w->tq_head[q] && w->tq_head[q]->deadline <= w->now_ms) {
			struct timer *t = w->tq_head[q];
			timer_disarm(w, t);
			if (q == TQ_FIRST_BYTE || q == TQ_UP_IDLE || q == TQ_POOL)
				upstream_on_timeout(
				        (struct upstream *)((char *)t -
				                            offsetof(struct upstream, timer)));
			else
				client_on_timeout(
				        (struct client *)((char *)t -
				                          offsetof(struct client, timer)));
		}
}

/* Milliseconds until the next timer, or -1 for none. */
static int64_t timers_next(struct worker *w)
{
	int64_t best = -1;
	for (int q = 0; q < TQ_MAX; q++)
		if (w->tq_head[q]) {
			int64_t d = (int64_t)w->tq_head[q]->deadline - (int64_t)w->now_ms;
			if (d < 0)
				d = 0;
			if (best < 0 || d < best)
				best = d;
		}
	return best;
}

char *buf_addr(struct worker *w, int id)
{
	return w->bufs + (size_t)id * w->buf_size;
}

void buf_release(struct worker *w, int id)
{
	if (id < 0)
		return;
	io_uring_buf_ring_add(w->br, buf_addr(w, id), w->buf_size, (unsigned short)id,
	                      io_uring_buf_ring_mask(w->n_bufs), 0);
	io_uring_buf_ring_advance(w->br, 1);
}

static int setup_buffers(struct worker *w)
{
	struct io_uring_buf_reg reg = {0};
	size_t ring_size = w->n_bufs * sizeof(struct io_uring_buf);
	void *ring =
	        mmap(NULL, ring_size, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
	if (ring == MAP_FAILED)
		return -errno;
	w->br = ring;
	io_uring_buf_ring_init(w->br);
	reg.ring_addr = (unsigned long)ring;
	reg.ring_entries = w->n_bufs;
	reg.bgid = BGID;
	int r = io_uring_register_buf_ring(&w->ring, &reg, 0);
	if (r < 0)
		return r;
	w->bufs = malloc((size_t)w->n_bufs * w->buf_size);
	if (!w->bufs)
		return -ENOMEM;
	for (unsigned i = 0; i < w->n_bufs; i++)
		io_uring_buf_ring_add(w->br, buf_addr(w, (int)i), w->buf_size, (unsigned short)i,
		                      io_uring_buf_ring_mask(w->n_bufs), (int)i);
	io_uring_buf_ring_advance(w->br, (int)w->n_bufs);
	return 0;
}

static void post_accept(struct worker *w)
{
	struct io_uring_sqe *sqe = worker_sqe(w);
	io_uring_prep_multishot_accept(sqe, w->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	io_uring_sqe_set_data64(sqe, UD(w, TAG_ACCEPT));
	w->accepting = true;
}

static void post_wake_read(struct worker *w)
{
	struct io_uring_sqe *sqe = worker_sqe(w);
	io_uring_prep_read(sqe, w->wake_fd, &w->wake_val, sizeof(w->wake_val), 0);
	io_uring_sqe_set_data64(sqe, UD(w, TAG_WAKE));
}

void worker_wake(struct worker *w)
{
	uint64_t one = 1;
	if (write(w->wake_fd, &one, sizeof(one)) == -1 && errno != EAGAIN)
		log_warning_errno(errno, "wake worker %u: %m", w->id);
}

int worker_init(struct worker *w, unsigned id, const struct router_config *cfg,
                struct router_feed *feed, int listen_fd)
{
	memset(w, 0, sizeof(*w));
	w->id = id;
	w->cfg = cfg;
	w->feed = feed;
	w->listen_fd = listen_fd;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	if (getsockname(listen_fd, (struct sockaddr *)&ss, &sl) == 0)
		w->listen_port =
		        ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
		                                       : ((struct sockaddr_in *)&ss)->sin_port);
	w->n_bufs = cfg->buffers;
	w->buf_size = cfg->buffer_size;
	w->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (w->wake_fd == -1)
		return -errno;
	w->tq_dur[TQ_KEEPALIVE] = cfg->keepalive_timeout;
	w->tq_dur[TQ_CLIENT_IDLE] = cfg->idle_timeout;
	w->tq_dur[TQ_FIRST_BYTE] = cfg->first_byte_timeout;
	w->tq_dur[TQ_UP_IDLE] = cfg->idle_timeout;
	w->tq_dur[TQ_POOL] = cfg->pool_idle_timeout;
	w->tq_dur[TQ_BOOT] = cfg->boot_timeout;
	w->rng = (now_us() * 0x9E3779B97F4A7C15ull) ^ ((uint64_t)(id + 1) << 32) ^
	         (uint64_t)getpid();
	if (w->rng == 0)
		w->rng = 1;
	w->headers = calloc(HTTP_HEADERS_MAX_DEFAULT, sizeof(*w->headers));
	w->logbuf = malloc(LOGBUF_SIZE);
	w->bhash_cap = 64;
	w->bhash = calloc(w->bhash_cap, sizeof(*w->bhash));
	if (!w->headers || !w->logbuf || !w->bhash)
		return -ENOMEM;
	http_request_init(&w->req, NULL, w->headers, HTTP_HEADERS_MAX_DEFAULT);
	http_response_init(&w->resp, NULL, w->headers, HTTP_HEADERS_MAX_DEFAULT, HTTP_METHOD_GET);
	return 0;
}

/* The parts of setup that must run on the worker's own thread (single-issuer ring). */
static int worker_setup_ring(struct worker *w)
{
	struct io_uring_params p = {0};
	p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_CQSIZE;
	p.cq_entries = RING_ENTRIES * 4;
	int r = io_uring_queue_init_params(RING_ENTRIES, &w->ring, &p);
	if (r < 0) {
		/* Older kernels: plain ring. */
		memset(&p, 0, sizeof(p));
		p.flags = IORING_SETUP_CQSIZE;
		p.cq_entries = RING_ENTRIES * 4;
		r = io_uring_queue_init_params(RING_ENTRIES, &w->ring, &p);
		if (r < 0)
			return r;
	}
	/* The ring fd is used on every submit: registering it saves an fdget per enter. */
	(void)io_uring_register_ring_fd(&w->ring);
	r = setup_buffers(w);
	if (r < 0)
		return r;
	post_wake_read(w);
	post_accept(w);
	return 0;
}

/* Backends: this worker's per-address state, found by "addr:port". */
static uint64_t key_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ull;
	}
	return h;
}

struct backend *worker_backend_for(struct worker *w, const struct router_dyno *d)
{
	uint64_t h = key_hash(d->addr_text) & (w->bhash_cap - 1);
	for (struct backend *b = w->bhash[h]; b; b = b->hnext)
		if (strcmp(b->key, d->addr_text) == 0)
			return b;
	struct backend *b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	snprintf(b->key, sizeof(b->key), "%s", d->addr_text);
	b->load = router_feed_load_get(w->feed, b->key);
	if (!b->load) {
		free(b);
		return NULL;
	}
	memcpy(&b->addr, &d->addr, d->addr_len);
	b->addr_len = d->addr_len;
	b->hnext = w->bhash[h];
	w->bhash[h] = b;
	return b;
}

/* Free backends the current table no longer lists, once nothing uses them. */
static void backends_sweep(struct worker *w)
{
	for (size_t i = 0; i < w->bhash_cap; i++)
		for (struct backend **pb = &w->bhash[i]; *pb;) {
			struct backend *b = *pb;
			if (b->seen_generation != w->generation && b->outstanding == 0) {
				while (b->idle)
					upstream_close(b->idle); /* unlinks itself from the pool */
				if (b->n_idle == 0) {
					*pb = b->hnext;
					router_feed_load_put(w->feed, b->load);
					free(b);
					continue;
				}
			}
			pb = &b->hnext;
		}
}

static void adopt_table(struct worker *w)
{
	uint64_t gen = atomic_load_explicit(&w->feed->generation, memory_order_acquire);
	if (gen == w->generation && w->table)
		return;
	pthread_mutex_lock(&w->feed->lock);
	struct router_table *t = router_table_ref(w->feed->table);
	gen = atomic_load_explicit(&w->feed->generation, memory_order_relaxed);
	pthread_mutex_unlock(&w->feed->lock);

	struct backend **map = calloc(t->n_dynos_total ? t->n_dynos_total : 1, sizeof(*map));
	if (!map) {
		router_table_unref(t); /* keep the old table; try again next iteration */
		return;
	}
	for (size_t a = 0; a < t->n_apps; a++)
		for (size_t k = 0; k < t->apps[a].n_dynos; k++) {
			const struct router_dyno *d = &t->apps[a].dynos[k];
			map[d->index] = worker_backend_for(w, d);
			if (map[d->index])
				map[d->index]->seen_generation = gen;
		}
	free(w->by_dyno);
	w->by_dyno = map;
	router_table_unref(w->table);
	w->table = t;
	w->generation = gen;
	backends_sweep(w);

	/* Requests waiting for a booting dyno get another look. reroute may re-add. */
	size_t n = w->n_boot_waiters;
	struct client **waiters = w->boot_waiters;
	w->boot_waiters = NULL;
	w->n_boot_waiters = w->cap_boot_waiters = 0;
	for (size_t i = 0; i < n; i++)
		if (waiters[i])
			client_reroute(waiters[i]);
	free(waiters);
}

void log_flush(struct worker *w)
{
	if (w->log_len == 0)
		return;
	if (w->cfg->log_fd >= 0) {
		/* Workers share stdout: one write of whole lines at a time under the feed lock. */
		size_t off = 0;
		pthread_mutex_lock(&w->feed->lock);
		while (off < w->log_len) {
			ssize_t n = write(w->cfg->log_fd, w->logbuf + off, w->log_len - off);
			if (n == -1 && errno == EINTR)
				continue;
			if (n <= 0)
				break; /* a broken log sink must not stop the router */
			off += (size_t)n;
		}
		pthread_mutex_unlock(&w->feed->lock);
	}
	w->log_len = 0;
}

static void handle_cqe(struct worker *w, struct io_uring_cqe *cqe)
{
	uint64_t ud = io_uring_cqe_get_data64(cqe);
	unsigned tag = (unsigned)(ud & TAG_MASK);
	void *p = (void *)(uintptr_t)(ud & ~(uint64_t)TAG_MASK);

	switch (tag) {
	case TAG_ACCEPT:
		if (cqe->res >= 0) {
			if (w->stopping)
				close(cqe->res);
			else
				client_accepted(w, cqe->res);
		} else if (cqe->res != -ECANCELED && cqe->res != -EINTR)
			log_warning_errno(cqe->res, "accept: %m");
		if (!(cqe->flags & IORING_CQE_F_MORE)) {
			w->accepting = false;
			if (!w->stopping)
				post_accept(w);
		}
		break;
	case TAG_WAKE:
		if (!w->stopping)
			post_wake_read(w);
		break;
	case TAG_C_RECV:
	case TAG_C_SEND:
		client_on_cqe(p, tag, cqe->res, cqe->flags);
		break;
	case TAG_U_CONNECT:
	case TAG_U_SEND:
	case TAG_U_RECV:
	case TAG_TIMEOUT:
		upstream_on_cqe(p, tag, cqe->res, cqe->flags);
		break;
	default:
		/* cancellations, linked timeouts: their targets report on their own */
		if (cqe->flags & IORING_CQE_F_BUFFER)
			buf_release(w, (int)(cqe->flags >> IORING_CQE_BUFFER_SHIFT));
		break;
	}
}

static void begin_stop(struct worker *w)
{
	w->stopping = true;
	w->stop_deadline = w->now_ms + w->cfg->drain_timeout;
	if (w->accepting) {
		struct io_uring_sqe *sqe = worker_sqe(w);
		io_uring_prep_cancel64(sqe, UD(w, TAG_ACCEPT), 0);
		io_uring_sqe_set_data64(sqe, 0);
	}
	/* Idle clients go now; busy ones after their exchange (client_stop decides). */
	for (struct client *c = w->clients, *next; c; c = next) {
		next = c->all_next;
		client_stop(c);
	}
	/* Pooled dyno connections are not needed any more. */
	for (size_t i = 0; i < w->bhash_cap; i++)
		for (struct backend *b = w->bhash[i]; b; b = b->hnext)
			while (b->idle)
				upstream_close(b->idle);
}

void *worker_main(void *arg)
{
	struct worker *w = arg;
	int r = worker_setup_ring(w);
	if (r < 0) {
		log_error_errno(r, "worker %u: io_uring setup: %m", w->id);
		exit(EXIT_FAILURE);
	}
	w->now_ms = now_us() / 1000;
	adopt_table(w);

	for (;;) {
		w->now_ms = now_us() / 1000;
		if (!w->stopping && atomic_load_explicit(&w->feed->stopping, memory_order_relaxed))
			begin_stop(w);
		if (w->stopping) {
			if (w->n_clients == 0 && w->n_upstreams == 0 && !w->accepting)
				break;
			if (w->now_ms >= w->stop_deadline) {
				if (w->force_closed)
					break;
				/* The drain bound passed: cut what is left, give the cancellations
				 * a moment to come back, then leave. */
				w->force_closed = true;
				w->stop_deadline = w->now_ms + 1000;
				for (struct client *c = w->clients, *next; c; c = next) {
					next = c->all_next;
					client_close_now(c);
				}
			}
		}
		adopt_table(w);
		timers_run(w);

		int64_t next = timers_next(w);
		if (w->stopping) {
			int64_t left = (int64_t)w->stop_deadline - (int64_t)w->now_ms;
			if (next < 0 || left < next)
				next = left < 0 ? 0 : left;
		}
		struct io_uring_cqe *cqe;
		if (next >= 0) {
			/* One millisecond past the deadline, so the timer is due when we wake. */
			int64_t ns = (next + 1) * 1000000;
			struct __kernel_timespec ts = {.tv_sec = ns / 1000000000,
			                               .tv_nsec = ns % 1000000000};
			r = io_uring_submit_and_wait_timeout(&w->ring, &cqe, 1, &ts, NULL);
		} else
			r = io_uring_submit_and_wait(&w->ring, 1);
		if (r < 0 && r != -ETIME && r != -EINTR && r != -EBUSY)
			log_warning_errno(r, "worker %u: io_uring wait: %m", w->id);

		unsigned head, n = 0;
		io_uring_for_each_cqe(&w->ring, head, cqe)
		{
			handle_cqe(w, cqe);
			n++;
			if (n == 256) {
				io_uring_cq_advance(&w->ring, n);
				n = 0;
			}
		}
		io_uring_cq_advance(&w->ring, n);
		log_flush(w);
	}
	log_flush(w);
	return NULL;
}

void worker_destroy(struct worker *w)
{
	/* Connections still open at the drain deadline die with the process; this releases the
	 * process-wide pieces only when the worker ran to completion. */
	if (w->ring.ring_fd > 0)
		io_uring_queue_exit(&w->ring);
	router_table_unref(w->table);
	free(w->by_dyno);
	for (size_t i = 0; w->bhash && i < w->bhash_cap; i++)
		while (w->bhash[i]) {
			struct backend *b = w->bhash[i];
			w->bhash[i] = b->hnext;
			router_feed_load_put(w->feed, b->load);
			free(b);
		}
	free(w->bhash);
	free(w->headers);
	free(w->logbuf);
	free(w->bufs);
	free(w->boot_waiters);
	if (w->br)
		munmap(w->br, w->n_bufs * sizeof(struct io_uring_buf));
	safe_close(w->wake_fd);
}
