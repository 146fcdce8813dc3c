/* dyno-router's pure parts: the route table format and host lookup, the balancing policies,
 * the route stream splitter and the H-code pages. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "router/loader.h"
#include "router/router.h"
#include "tests/lib/tap.h"

static const char good[] =
        "{\"base_domain\": \"Dynohost.Local\", \"future_key\": 1, \"apps\": {"
        " \"hello\": {\"domains\": [\"hello.example.com\", \"*.wild.example.com\"],"
        "  \"dynos\": [{\"name\": \"web.1\", \"addr\": \"172.30.0.2\", \"port\": 5000},"
        "             {\"name\": \"web.2\", \"addr\": \"172.30.0.3\", \"port\": 5000, \"state\": "
        "\"booting\"},"
        "             {\"name\": \"web.3\", \"addr\": \"::1\", \"port\": 5001, \"state\": "
        "\"up\"}]},"
        " \"down\": {\"maintenance\": true, \"dynos\": [{\"name\": \"web.1\", \"addr\": "
        "\"10.0.0.1\","
        "  \"port\": 80, \"state\": \"crashed\"}]},"
        " \"none\": {}}}";

static const char *lookup(const struct router_table *t, const char *host)
{
	const struct router_app *a = router_table_lookup(t, host, strlen(host));
	return a ? a->name : "(none)";
}

static void test_parse(void)
{
	struct router_table *t = NULL;
	struct router_error err = {""};
	int r = router_table_parse(good, strlen(good), &t, &err);
	is_int(r, 0, "a valid table parses");
	if (r < 0) {
		tap_diag("%s", err.msg);
		return;
	}
	is_int(t->n_apps, 3, "three apps");
	is_int(t->n_dynos_total, 4, "four dynos in all");
	const struct router_app *h = router_table_lookup(t, "hello.example.com", 17);
	ok(h && h->n_dynos == 3 && h->n_up == 2 && h->n_booting == 1, "states are counted");
	ok(h && strcmp(h->dynos[2].addr_text, "[::1]:5001") == 0, "IPv6 dyno address");
	ok(h && strcmp(h->dynos[0].addr_text, "172.30.0.2:5000") == 0, "IPv4 dyno address");
	const struct router_app *d = router_table_lookup(t, "down.dynohost.local", 19);
	ok(d && d->maintenance && d->n_up == 0 && d->n_booting == 0, "maintenance and crashed");

	is_str(lookup(t, "hello.example.com"), "hello", "exact domain");
	is_str(lookup(t, "HELLO.example.COM:8080"), "hello", "case and port ignored");
	is_str(lookup(t, "hello.example.com."), "hello", "trailing dot ignored");
	is_str(lookup(t, "hello.dynohost.local"), "hello", "<app>.<base_domain>");
	is_str(lookup(t, "none.DYNOHOST.local:80"), "none", "base domain, any case");
	is_str(lookup(t, "a.b.wild.example.com"), "hello", "wildcard, two labels");
	is_str(lookup(t, "wild.example.com"), "(none)", "wildcard needs a label");
	is_str(lookup(t, "x.hello.dynohost.local"), "(none)", "no nested default domains");
	is_str(lookup(t, "nope.dynohost.local"), "(none)", "unknown app");
	is_str(lookup(t, "dynohost.local"), "(none)", "the base domain itself");
	is_str(lookup(t, "[::1]:80"), "(none)", "an IPv6 literal");
	is_str(lookup(t, ""), "(none)", "empty host");
	router_table_unref(t);
}

static void test_invalid(void)
{
	static const struct {
		const char *json, *why;
	} bad[] = {
	        {"{", "truncated JSON"},
	        {"[]", "not an object"},
	        {"{\"apps\": []}", "apps not an object"},
	        {"{\"apps\": {\"Hello\": {}}}", "upper-case app name"},
	        {"{\"apps\": {\"a b\": {}}}", "space in app name"},
	        {"{\"apps\": {\"a\": {\"dynos\": [{\"name\": \"web.1\", \"addr\": \"host\", "
	         "\"port\": 1}]}}}",
	         "dyno address is not an IP"},
	        {"{\"apps\": {\"a\": {\"dynos\": [{\"name\": \"web.1\", \"addr\": \"1.2.3.4\", "
	         "\"port\": 0}]}}}",
	         "port 0"},
	        {"{\"apps\": {\"a\": {\"dynos\": [{\"name\": \"web.1\", \"addr\": \"1.2.3.4\", "
	         "\"port\": 70000}]}}}",
	         "port over 65535"},
	        {"{\"apps\": {\"a\": {\"dynos\": [{\"name\": \"web.1\", \"addr\": \"1.2.3.4\", "
	         "\"port\": 1, \"state\": \"odd\"}]}}}",
	         "unknown state"},
	        {"{\"apps\": {\"a\": {\"dynos\": [{\"addr\": \"1.2.3.4\", \"port\": 1}]}}}",
	         "dyno without name"},
	        {"{\"apps\": {\"a\": {\"domains\": [\"x.com\"]}, \"b\": {\"domains\": "
	         "[\"X.com\"]}}}",
	         "a domain claimed twice"},
	        {"{\"apps\": {\"a\": {\"domains\": [\"bad domain\"]}}}", "invalid domain"},
	        {"{\"apps\": {\"a\": {\"domains\": \"x.com\"}}}", "domains not a list"},
	        {"{\"apps\": {\"a\": {\"maintenance\": \"yes\"}}}", "maintenance not a boolean"},
	        {"{\"apps\": {\"a\": {}, \"a\": {}}}", "duplicate app"},
	        {"{\"base_domain\": 5}", "base_domain not a string"},
	};
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		struct router_table *t = NULL;
		struct router_error err = {""};
		int r = router_table_parse(bad[i].json, strlen(bad[i].json), &t, &err);
		ok(r == -EINVAL && t == NULL && err.msg[0], "refused: %s (%s)", bad[i].why,
		   err.msg);
		router_table_unref(t);
	}
}

static void test_balance(void)
{
	uint64_t rng = 12345, rr = 0;
	unsigned loads2[2] = {7, 3};
	int picks1 = 0;
	for (int i = 0; i < 1000; i++)
		picks1 += router_balance_pick(ROUTER_BALANCE_P2C, loads2, 2, &rng, &rr) == 1;
	is_int(picks1, 1000, "p2c with two dynos always takes the less loaded");

	unsigned loads[5] = {9, 9, 0, 9, 9};
	int counts[5] = {0};
	for (int i = 0; i < 5000; i++)
		counts[router_balance_pick(ROUTER_BALANCE_P2C, loads, 5, &rng, &rr)]++;
	/* The idle dyno wins whenever it is one of the two picks: 2/5 of the time, plus nothing
	 * else can beat it. Exact shares are random; the idle one must lead by far. */
	ok(counts[2] > counts[0] && counts[2] > counts[1] && counts[2] > counts[3] &&
	           counts[2] > counts[4],
	   "p2c favours the idle dyno (%d of 5000)", counts[2]);

	memset(counts, 0, sizeof(counts));
	for (int i = 0; i < 5000; i++)
		counts[router_balance_pick(ROUTER_BALANCE_RANDOM, loads, 5, &rng, &rr)]++;
	ok(counts[0] && counts[1] && counts[2] && counts[3] && counts[4],
	   "random reaches every dyno");
	rr = 0;
	size_t seq[6];
	for (int i = 0; i < 6; i++)
		seq[i] = router_balance_pick(ROUTER_BALANCE_RR, loads, 3, &rng, &rr);
	ok(seq[0] == 0 && seq[1] == 1 && seq[2] == 2 && seq[3] == 0 && seq[4] == 1 && seq[5] == 2,
	   "round-robin cycles");
	is_int(router_balance_from_string("p2c"), ROUTER_BALANCE_P2C, "p2c by name");
	is_int(router_balance_from_string("least"), -EINVAL, "unknown policy refused");
}

static int lines_seen;
static char last_line[64];

static void on_line(const char *line, size_t len, void *userdata)
{
	(void)userdata;
	lines_seen++;
	snprintf(last_line, sizeof(last_line), "%.*s", (int)len, line);
}

static void test_stream(void)
{
	struct route_stream s;
	route_stream_init(&s);
	is_int(route_stream_feed(&s, "{\"a\":", 5, on_line, NULL), 0, "partial line buffered");
	is_int(lines_seen, 0, "no line yet");
	const char *more = "1}\n\n{\"b\":2}\r\n{\"c\"";
	route_stream_feed(&s, more, strlen(more), on_line, NULL);
	is_int(lines_seen, 2, "two complete lines, the blank one skipped");
	is_str(last_line, "{\"b\":2}\r", "line content (CR left to the JSON parser)");
	route_stream_feed(&s, ":3}\n", 4, on_line, NULL);
	is_str(last_line, "{\"c\":3}", "line completed across feeds");
	route_stream_done(&s);
}

static void test_codes(void)
{
	const char *page;
	size_t len;
	is_int(router_error_response(ROUTER_H12, 503, &page, &len), 0, "H12 page exists");
	ok(strncmp(page, "HTTP/1.1 503 Service Unavailable\r\n", 34) == 0 &&
	           strstr(page, "Request timeout (H12)") && strstr(page, "Connection: close"),
	   "H12 page: status line, code, close");
	const char *body = strstr(page, "\r\n\r\n");
	char want[64];
	snprintf(want, sizeof(want), "Content-Length: %zu\r\n",
	         body ? len - (size_t)(body + 4 - page) : 0);
	ok(body && strstr(page, want), "Content-Length matches the body");
	is_int(router_code_status(ROUTER_H27), 499, "H27 logs 499");
	is_str(router_code_name(ROUTER_H80), "H80", "H80 name");
	is_int(router_error_response(ROUTER_H26, 299, &page, &len), -EINVAL, "unknown status");
}

int main(void)
{
	test_parse();
	test_invalid();
	test_balance();
	test_stream();
	test_codes();
	return tap_done();
}
