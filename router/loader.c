/* Feeding route tables to the workers: publishing a parsed table (workers pick it up between
 * events, requests in flight keep what they copied), reading the watched route file, and
 * splitting a byte stream of newline-delimited tables. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fileio.h"
#include "router/loader.h"

#define ROUTE_FILE_MAX (64u << 20)

int router_feed_init(struct router_feed *f)
{
	memset(f, 0, sizeof(*f));
	int r = pthread_mutex_init(&f->lock, NULL);
	if (r != 0)
		return -r;
	atomic_init(&f->generation, 1);
	atomic_init(&f->stopping, false);
	return router_table_new_empty(&f->table);
}

void router_feed_done(struct router_feed *f)
{
	for (size_t i = 0; i < ELEMENTSOF(f->loads); i++)
		while (f->loads[i]) {
			struct dyno_load *l = f->loads[i];
			f->loads[i] = l->next;
			free(l);
		}
	f->table = router_table_unref(f->table);
	pthread_mutex_destroy(&f->lock);
}

void router_feed_publish(struct router_feed *f, struct router_table *t)
{
	pthread_mutex_lock(&f->lock);
	struct router_table *old = f->table;
	f->table = t;
	atomic_fetch_add_explicit(&f->generation, 1, memory_order_release);
	pthread_mutex_unlock(&f->lock);
	router_table_unref(old);
}

static struct dyno_load **load_bucket(struct router_feed *f, const char *key)
{
	uint64_t h = 1469598103934665603ull;
	for (const char *p = key; *p; p++) {
		h ^= (unsigned char)*p;
		h *= 1099511628211ull;
	}
	return &f->loads[h % ELEMENTSOF(f->loads)];
}

struct dyno_load *router_feed_load_get(struct router_feed *f, const char *key)
{
	pthread_mutex_lock(&f->lock);
	struct dyno_load **bucket = load_bucket(f, key);
	struct dyno_load *l;
	for (l = *bucket; l; l = l->next)
		if (strcmp(l->key, key) == 0)
			break;
	if (!l) {
		l = calloc(1, sizeof(*l));
		if (l) {
			snprintf(l->key, sizeof(l->key), "%s", key);
			atomic_init(&l->outstanding, 0);
			l->next = *bucket;
			*bucket = l;
		}
	}
	if (l)
		l->refs++;
	pthread_mutex_unlock(&f->lock);
	return l;
}

void router_feed_load_put(struct router_feed *f, struct dyno_load *l)
{
	if (!l)
		return;
	pthread_mutex_lock(&f->lock);
	if (--l->refs == 0)
		for (struct dyno_load **p = load_bucket(f, l->key); *p; p = &(*p)->next)
			if (*p == l) {
				*p = l->next;
				free(l);
				break;
			}
	pthread_mutex_unlock(&f->lock);
}

int router_load_file(const char *path, struct router_table **ret, struct router_error *err)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	int r = read_file_at(AT_FDCWD, path, ROUTE_FILE_MAX, &text, &len);
	if (r < 0)
		return r;
	return router_table_parse(text, len, ret, err);
}

void route_stream_init(struct route_stream *s)
{
	memset(s, 0, sizeof(*s));
}

void route_stream_done(struct route_stream *s)
{
	free(s->buf);
	s->buf = NULL;
	s->len = s->cap = 0;
}

int route_stream_feed(struct route_stream *s, const char *data, size_t len,
                      void (*on_line)(const char *line, size_t len, void *userdata), void *userdata)
{
	if (s->len + len > ROUTE_FILE_MAX)
		return -EFBIG;
	if (s->len + len > s->cap) {
		size_t nc = s->cap ? s->cap : 4096;
		while (nc < s->len + len)
			nc *= 2;
		char *nb = realloc(s->buf, nc);
		if (!nb)
			return -ENOMEM;
		s->buf = nb;
		s->cap = nc;
	}
	memcpy(s->buf + s->len, data, len);
	s->len += len;

	size_t start = 0;
	for (;;) {
		char *nl = memchr(s->buf + start, '\n', s->len - start);
		if (!nl)
			break;
		size_t l = (size_t)(nl - (s->buf + start));
		/* Blank lines are keep-alives from the writer. */
		if (l > 0 && !(l == 1 && s->buf[start] == '\r'))
			on_line(s->buf + start, l, userdata);
		start += l + 1;
	}
	memmove(s->buf, s->buf + start, s->len - start);
	s->len -= start;
	return 0;
}
