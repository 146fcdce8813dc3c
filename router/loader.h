/* Route table feed for dyno-router: publishing tables to the workers, loading the route
 * file, and splitting a stream of newline-delimited JSON tables. */
#ifndef DYNOHOST_ROUTER_LOADER_H
#define DYNOHOST_ROUTER_LOADER_H

#include <stddef.h>

#include "router/proxy.h"

/* Starts with an empty table. 0 or -errno. */
int router_feed_init(struct router_feed *f);
void router_feed_done(struct router_feed *f);
/* Make t current (takes the caller's reference); workers adopt it at their next event. */
void router_feed_publish(struct router_feed *f, struct router_table *t);

/* The shared load counter of a dyno address ("addr:port"), created on first use; NULL when
 * out of memory. Every get is matched by a put. Both lock the feed. */
struct dyno_load *router_feed_load_get(struct router_feed *f, const char *key);
void router_feed_load_put(struct router_feed *f, struct dyno_load *l);

/* Read and parse a route file. 0, -errno from reading, or -EINVAL with err filled. */
int router_load_file(const char *path, struct router_table **ret, struct router_error *err);

/* Newline-delimited tables arriving in arbitrary pieces (a socket, a pipe). */
struct route_stream {
	char *buf;
	size_t len, cap;
};
void route_stream_init(struct route_stream *s);
void route_stream_done(struct route_stream *s);
/* Append data; call on_line for every complete non-empty line. 0, -ENOMEM, or -EFBIG when
 * one line grows past the route file limit. */
int route_stream_feed(struct route_stream *s, const char *data, size_t len,
                      void (*on_line)(const char *line, size_t len, void *userdata),
                      void *userdata);

#endif
