/* The route table: parsing the JSON format documented in router.h into an immutable,
 * reference-counted table, and Host → app lookup through an open-addressing index. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/cleanup.h"
#include "router/router.h"

struct router_host_slot {
	char *name; /* lowercase domain, the suffix ".example.com" of a wildcard, or an app name */
	size_t app;
	int kind;
};

enum {
	HOST_EXACT = 0,
	HOST_WILDCARD,
	HOST_APP, /* app names, for <app>.<base_domain> */
};

static const uint64_t kind_salt[] = {0, 0x9e3779b97f4a7c15ull, 0xc2b2ae3d27d4eb4full};

static _printf_(2, 3) int fail(struct router_error *err, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static void table_free(struct router_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n_apps; i++) {
		free(t->apps[i].name);
		free(t->apps[i].dynos);
		free(t->apps[i].up);
	}
	free(t->apps);
	for (size_t i = 0; i < t->hosts_cap; i++)
		free(t->hosts[i].name);
	free(t->hosts);
	free(t->base_domain);
	free(t);
}

DEFINE_TRIVIAL_CLEANUP_FUNC(struct router_table *, table_free)

struct router_table *router_table_ref(struct router_table *t)
{
	if (t)
		atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
	return t;
}

struct router_table *router_table_unref(struct router_table *t)
{
	if (t && atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) == 1)
		table_free(t);
	return NULL;
}

static uint64_t hash_name(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ull;
	}
	return h;
}

static bool valid_domain(const char *d)
{
	size_t n = strlen(d);
	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = d[i];
		if (!(isalnum(c) || c == '-' || c == '.' || c == '_'))
			return false;
	}
	return d[0] != '.' && d[n - 1] != '.';
}

static bool valid_app_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 63)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '-'))
			return false;
	return true;
}

/* Insert a host name (already lowercase) for app; duplicates are an error. */
static int host_insert(struct router_table *t, const char *name, int kind, size_t app,
                       struct router_error *err)
{
	size_t n = strlen(name);
	uint64_t h = hash_name(name, n) ^ kind_salt[kind];
	for (size_t i = h & (t->hosts_cap - 1);; i = (i + 1) & (t->hosts_cap - 1)) {
		struct router_host_slot *s = &t->hosts[i];
		if (!s->name) {
			s->name = strdup(name);
			if (!s->name)
				return -ENOMEM;
			s->app = app;
			s->kind = kind;
			return 0;
		}
		if (s->kind == kind && strcmp(s->name, name) == 0)
			return fail(err, "domain \"%s%s\" is claimed by apps \"%s\" and \"%s\"",
			            kind == HOST_WILDCARD ? "*" : "", name, t->apps[s->app].name,
			            t->apps[app].name);
	}
}

static const struct router_host_slot *host_find(const struct router_table *t, const char *name,
                                                size_t n, int kind)
{
	if (t->hosts_cap == 0)
		return NULL;
	uint64_t h = hash_name(name, n) ^ kind_salt[kind];
	for (size_t i = h & (t->hosts_cap - 1);; i = (i + 1) & (t->hosts_cap - 1)) {
		const struct router_host_slot *s = &t->hosts[i];
		if (!s->name)
			return NULL;
		if (s->kind == kind && strncmp(s->name, name, n) == 0 && s->name[n] == 0)
			return s;
	}
}

static int parse_dyno(json_t *jd, const char *app, size_t k, struct router_dyno *d,
                      struct router_error *err)
{
	const char *name = NULL, *addr = NULL, *state = "up";
	json_int_t port = -1;
	json_error_t jerr;

	if (json_unpack_ex(jd, &jerr, 0, "{s:s, s:s, s:I, s?:s}", "name", &name, "addr", &addr,
	                   "port", &port, "state", &state) == -1)
		return fail(err, "app \"%s\" dyno %zu: %s", app, k, jerr.text);
	if (strlen(name) == 0 || strlen(name) >= sizeof(d->name))
		return fail(err, "app \"%s\" dyno %zu: bad name \"%s\"", app, k, name);
	snprintf(d->name, sizeof(d->name), "%s", name);
	if (port <= 0 || port > 65535)
		return fail(err, "app \"%s\" dyno \"%s\": bad port %lld", app, name,
		            (long long)port);
	if (strcmp(state, "up") == 0)
		d->state = ROUTER_DYNO_UP;
	else if (strcmp(state, "booting") == 0 || strcmp(state, "starting") == 0)
		d->state = ROUTER_DYNO_BOOTING;
	else if (strcmp(state, "crashed") == 0 || strcmp(state, "down") == 0)
		d->state = ROUTER_DYNO_CRASHED;
	else
		return fail(err, "app \"%s\" dyno \"%s\": bad state \"%s\"", app, name, state);

	struct sockaddr_in *in4 = (struct sockaddr_in *)&d->addr;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&d->addr;
	memset(&d->addr, 0, sizeof(d->addr));
	if (inet_pton(AF_INET, addr, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)port);
		d->addr_len = sizeof(*in4);
		snprintf(d->addr_text, sizeof(d->addr_text), "%s:%lld", addr, (long long)port);
	} else if (inet_pton(AF_INET6, addr, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		d->addr_len = sizeof(*in6);
		snprintf(d->addr_text, sizeof(d->addr_text), "[%s]:%lld", addr, (long long)port);
	} else
		return fail(err, "app \"%s\" dyno \"%s\": addr \"%s\" is not an IP address", app,
		            name, addr);
	return 0;
}

static int parse_app(struct router_table *t, size_t ai, const char *name, json_t *ja,
                     struct router_error *err)
{
	struct router_app *a = &t->apps[ai];
	if (!valid_app_name(name))
		return fail(err, "bad app name \"%s\"", name);
	a->name = strdup(name);
	if (!a->name)
		return -ENOMEM;
	if (!json_is_object(ja))
		return fail(err, "app \"%s\": not an object", name);

	json_t *m = json_object_get(ja, "maintenance");
	if (m && !json_is_boolean(m))
		return fail(err, "app \"%s\": \"maintenance\" must be true or false", name);
	a->maintenance = m && json_is_true(m);

	json_t *dynos = json_object_get(ja, "dynos");
	if (dynos && !json_is_array(dynos))
		return fail(err, "app \"%s\": \"dynos\" must be an array", name);
	size_t n = dynos ? json_array_size(dynos) : 0;
	if (n > 0) {
		a->dynos = calloc(n, sizeof(*a->dynos));
		a->up = calloc(n, sizeof(*a->up));
		if (!a->dynos || !a->up)
			return -ENOMEM;
	}
	for (size_t k = 0; k < n; k++) {
		struct router_dyno *d = &a->dynos[k];
		int r = parse_dyno(json_array_get(dynos, k), name, k, d, err);
		if (r < 0)
			return r;
		d->index = t->n_dynos_total++;
		if (d->state == ROUTER_DYNO_UP)
			a->up[a->n_up++] = k;
		else if (d->state == ROUTER_DYNO_BOOTING)
			a->n_booting++;
	}
	a->n_dynos = n;
	return 0;
}

static int index_domains(struct router_table *t, json_t *apps, struct router_error *err)
{
	size_t ai = 0;
	const char *name;
	json_t *ja;
	json_object_foreach(apps, name, ja)
	{
		json_t *doms = json_object_get(ja, "domains");
		if (doms && !json_is_array(doms))
			return fail(err, "app \"%s\": \"domains\" must be an array", name);
		size_t i;
		json_t *jd;
		json_array_foreach(doms, i, jd)
		{
			const char *d = json_string_value(jd);
			if (!d)
				return fail(err, "app \"%s\": domain %zu is not a string", name, i);
			bool wildcard = strncmp(d, "*.", 2) == 0;
			_cleanup_free_ char *low = strdup(wildcard ? d + 1 : d);
			if (!low)
				return -ENOMEM;
			for (char *p = low; *p; p++)
				*p = (char)tolower((unsigned char)*p);
			size_t ln = strlen(low);
			if (ln > 0 && low[ln - 1] == '.')
				low[ln - 1] = 0;
			if (!valid_domain(wildcard ? low + 1 : low))
				return fail(err, "app \"%s\": bad domain \"%s\"", name, d);
			int r = host_insert(t, low, wildcard ? HOST_WILDCARD : HOST_EXACT, ai, err);
			if (r < 0)
				return r;
		}
		ai++;
	}
	return 0;
}

int router_table_new_empty(struct router_table **ret)
{
	struct router_table *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	atomic_init(&t->refs, 1);
	*ret = t;
	return 0;
}

int router_table_parse(const char *json, size_t len, struct router_table **ret,
                       struct router_error *err)
{
	json_error_t jerr;
	json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return fail(err, "line %d column %d: %s", jerr.line, jerr.column, jerr.text);
	_cleanup_(table_freep) struct router_table *t = NULL;
	int r;

	if (!json_is_object(root)) {
		r = fail(err, "the route table must be a JSON object");
		goto out;
	}
	r = router_table_new_empty(&t);
	if (r < 0)
		goto out;

	json_t *base = json_object_get(root, "base_domain");
	if (base && !json_is_null(base)) {
		const char *b = json_string_value(base);
		if (!b || !valid_domain(b)) {
			r = fail(err, "bad \"base_domain\"");
			goto out;
		}
		t->base_domain = strdup(b);
		if (!t->base_domain) {
			r = -ENOMEM;
			goto out;
		}
		for (char *p = t->base_domain; *p; p++)
			*p = (char)tolower((unsigned char)*p);
	}

	json_t *apps = json_object_get(root, "apps");
	if (apps && !json_is_object(apps)) {
		r = fail(err, "\"apps\" must be an object keyed by app name");
		goto out;
	}
	size_t n_apps = apps ? json_object_size(apps) : 0;
	size_t n_domains = 0;
	if (n_apps > 0) {
		t->apps = calloc(n_apps, sizeof(*t->apps));
		if (!t->apps) {
			r = -ENOMEM;
			goto out;
		}
		const char *name;
		json_t *ja;
		json_object_foreach(apps, name, ja)
		{
			r = parse_app(t, t->n_apps, name, ja, err);
			t->n_apps++;
			if (r < 0)
				goto out;
			n_domains += json_array_size(json_object_get(ja, "domains"));
		}
	}
	t->hosts_cap = 16;
	while (t->hosts_cap < 2 * (n_domains + t->n_apps) + 2)
		t->hosts_cap <<= 1;
	t->hosts = calloc(t->hosts_cap, sizeof(*t->hosts));
	if (!t->hosts) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < t->n_apps; i++) {
		r = host_insert(t, t->apps[i].name, HOST_APP, i, err);
		if (r < 0)
			goto out;
	}
	if (apps) {
		r = index_domains(t, apps, err);
		if (r < 0)
			goto out;
	}
	*ret = TAKE_PTR(t);
	r = 0;
out:
	json_decref(root);
	return r;
}

const struct router_app *router_table_lookup(const struct router_table *t, const char *host,
                                             size_t len)
{
	char low[256];
	size_t n = 0;

	if (!t || t->n_apps == 0)
		return NULL;
	/* Strip the port of "name:port" and of "[v6]:port" (a literal never names an app). */
	if (len > 0 && host[0] == '[')
		return NULL;
	for (size_t i = 0; i < len && host[i] != ':'; i++) {
		if (n >= sizeof(low) - 1)
			return NULL;
		low[n++] = (char)tolower((unsigned char)host[i]);
	}
	if (n > 0 && low[n - 1] == '.')
		n--;
	low[n] = 0;
	if (n == 0)
		return NULL;

	const struct router_host_slot *s = host_find(t, low, n, HOST_EXACT);
	if (s)
		return &t->apps[s->app];
	/* Wildcards: try each suffix starting at a dot, longest first. */
	for (size_t i = 1; i < n; i++)
		if (low[i] == '.') {
			s = host_find(t, low + i, n - i, HOST_WILDCARD);
			if (s)
				return &t->apps[s->app];
		}
	if (t->base_domain) {
		size_t bl = strlen(t->base_domain);
		if (n > bl + 1 && low[n - bl - 1] == '.' &&
		    memcmp(low + n - bl, t->base_domain, bl) == 0) {
			size_t al = n - bl - 1;
			if (memchr(low, '.', al) == NULL) {
				s = host_find(t, low, al, HOST_APP);
				return s ? &t->apps[s->app] : NULL;
			}
		}
	}
	return NULL;
}
