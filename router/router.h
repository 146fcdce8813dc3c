/* dyno-router's public interface: the route table (its JSON format, parsing and host lookup),
 * the balancing policies, and the H-code table, for the router and for whoever writes routes. */
#ifndef DYNOHOST_ROUTER_ROUTER_H
#define DYNOHOST_ROUTER_ROUTER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/*
 * The route table is one JSON object. Writers replace the file atomically (write x.new, rename);
 * the router watches it with inotify. The same objects, one per line, can be streamed to the
 * router over a file descriptor (`--routes-fd N`), each line replacing the whole table.
 *
 *   {
 *     "base_domain": "dynohost.local",            optional: <app>.<base_domain> routes to <app>
 *     "apps": {
 *       "hello": {                                 the app name: [a-z0-9-], at most 63 chars
 *         "domains": ["hello.example.com", "*.hello.example.com"],      optional
 *         "maintenance": false,                    optional: true answers H80 (503)
 *         "dynos": [                               the app's web dynos
 *           {"name": "web.1", "addr": "172.30.0.2", "port": 5000, "state": "up"},
 *           {"name": "web.2", "addr": "172.30.0.3", "port": 5000, "state": "booting"}
 *         ]
 *       }
 *     }
 *   }
 *
 * "state" is "up" (default; receives requests), "booting" (requests wait for it up to the boot
 * timeout, then H20) or "crashed" (H10 when no dyno is up or booting). An app with no dynos
 * answers H14. "addr" is an IPv4 or IPv6 literal. Domains are matched case-insensitively,
 * without the port; "*.example.com" matches any one or more labels before example.com.
 * Unknown keys are ignored so newer writers work with older routers.
 */

enum router_dyno_state {
	ROUTER_DYNO_UP = 0,
	ROUTER_DYNO_BOOTING,
	ROUTER_DYNO_CRASHED,
	ROUTER_DYNO_STATE_MAX,
};

struct router_dyno {
	char name[32];      /* "web.1" */
	char addr_text[64]; /* "172.30.0.2:5000" or "[::1]:5000": the backend's identity */
	struct sockaddr_storage addr;
	socklen_t addr_len;
	enum router_dyno_state state;
	size_t index; /* position among all dynos of the table (0 .. n_dynos_total-1) */
};

struct router_app {
	char *name;
	bool maintenance;
	struct router_dyno *dynos;
	size_t n_dynos;
	size_t *up; /* indexes into dynos[] of the dynos that are up */
	size_t n_up;
	size_t n_booting;
};

struct router_host_slot; /* the table's private host index */

/* An immutable route table, shared between threads by reference count. */
struct router_table {
	atomic_uint refs;
	char *base_domain;
	struct router_app *apps;
	size_t n_apps;
	size_t n_dynos_total;
	struct router_host_slot *hosts;
	size_t hosts_cap;
};

/* Where a parse failed: a message naming the offending key or line:column. */
struct router_error {
	char msg[256];
};

/* Parse one route table from JSON text. 0 or -EINVAL (err filled) / -ENOMEM. */
int router_table_parse(const char *json, size_t len, struct router_table **ret,
                       struct router_error *err);
/* An empty table (no apps): what the router serves before the first table arrives. */
int router_table_new_empty(struct router_table **ret);
struct router_table *router_table_ref(struct router_table *t);
/* Drop one reference; frees on the last. Accepts NULL, returns NULL. */
struct router_table *router_table_unref(struct router_table *t);

/* Find the app for a Host header value (port and trailing dot ignored, case-insensitive).
 * NULL when no app matches. */
const struct router_app *router_table_lookup(const struct router_table *t, const char *host,
                                             size_t len);

enum router_balance {
	ROUTER_BALANCE_P2C = 0, /* two random picks, the one with fewer outstanding requests */
	ROUTER_BALANCE_RANDOM,
	ROUTER_BALANCE_RR,
	ROUTER_BALANCE_MAX,
};
int router_balance_from_string(const char *s);
const char *router_balance_to_string(enum router_balance b);

/* Pick one of n candidates (n >= 1) whose loads (outstanding requests) are given.
 * rng is a xorshift state (non-zero), rr a round-robin cursor; both are advanced. */
size_t router_balance_pick(enum router_balance b, const unsigned *loads, size_t n, uint64_t *rng,
                           uint64_t *rr);
uint64_t router_rng_next(uint64_t *state);

/* Heroku's router error codes. */
enum router_code {
	ROUTER_OK = 0,
	ROUTER_H10,    /* app crashed */
	ROUTER_H12,    /* request timeout (no first response byte in time) */
	ROUTER_H13,    /* connection closed without response */
	ROUTER_H14,    /* no web dynos running */
	ROUTER_H15,    /* idle connection (dyno side) */
	ROUTER_H17,    /* poorly formatted response */
	ROUTER_H18,    /* server request interrupted */
	ROUTER_H19,    /* backend connection timeout */
	ROUTER_H20,    /* app boot timeout */
	ROUTER_H21,    /* backend connection refused */
	ROUTER_H25,    /* HTTP restriction (oversize) */
	ROUTER_H26,    /* request error */
	ROUTER_H27,    /* client request interrupted */
	ROUTER_H28,    /* client connection idle */
	ROUTER_H80,    /* maintenance mode */
	ROUTER_H99,    /* platform error */
	ROUTER_NO_APP, /* no app for this host: 404, not an H-code */
	ROUTER_CODE_MAX,
};
/* "H12", description, and the HTTP status the client gets (499 for client-side codes). */
const char *router_code_name(enum router_code c);
const char *router_code_desc(enum router_code c);
int router_code_status(enum router_code c);
/* A complete small HTML error response for code c with the given status (which may differ
 * from the default, e.g. 417 or 414 for H26/H25), "Connection: close". Static storage. */
int router_error_response(enum router_code c, int status, const char **ret, size_t *ret_len);

#endif
