/* Fuzz target for the router's route table (JSON from a file or the host service's stream):
 * any input either parses into a table whose lookups are safe, or is refused with a message. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "router/router.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct router_table *t = NULL;
	struct router_error err = { { 0 } };
	int r = router_table_parse((const char *)data, size, &t, &err);
	if (r < 0) {
		if (t || (r == -EINVAL && err.msg[0] == '\0'))
			abort(); /* a refusal leaves no table and always says why */
		return 0;
	}
	if (!t)
		abort();
	/* Look up every app by its default host and a few odd hosts. */
	static const char *const odd[] = { "", ".", "x", "*.", "a.b.c.d.e.f", "HOST:80", "..:" };
	for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++)
		(void)router_table_lookup(t, odd[i], strlen(odd[i]));
	for (size_t i = 0; i < t->n_apps && t->base_domain; i++) {
		char host[512];
		int n = snprintf(host, sizeof(host), "%s.%s", t->apps[i].name, t->base_domain);
		/* <app>.<base_domain> routes to an app whenever it is a valid DNS name length. */
		if (n > 0 && n <= 253 && router_table_lookup(t, host, (size_t)n) == NULL)
			abort();
	}
	router_table_unref(t);
	return 0;
}
