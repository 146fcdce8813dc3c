/* Heroku's router error codes: names, descriptions, statuses and the small HTML pages the
 * client gets for them. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "router/router.h"

struct code_info {
	const char *name;
	const char *desc;
	int status;
};

static const struct code_info codes[ROUTER_CODE_MAX] = {
        [ROUTER_OK] = {"", "", 200},
        [ROUTER_H10] = {"H10", "App crashed", 503},
        [ROUTER_H12] = {"H12", "Request timeout", 503},
        [ROUTER_H13] = {"H13", "Connection closed without response", 503},
        [ROUTER_H14] = {"H14", "No web dynos running", 503},
        [ROUTER_H15] = {"H15", "Idle connection", 503},
        [ROUTER_H17] = {"H17", "Poorly formatted HTTP response", 503},
        [ROUTER_H18] = {"H18", "Server Request Interrupted", 503},
        [ROUTER_H19] = {"H19", "Backend connection timeout", 503},
        [ROUTER_H20] = {"H20", "App boot timeout", 503},
        [ROUTER_H21] = {"H21", "Backend connection refused", 503},
        [ROUTER_H25] = {"H25", "HTTP Restriction", 502},
        [ROUTER_H26] = {"H26", "Request Error", 400},
        [ROUTER_H27] = {"H27", "Client Request Interrupted", 499},
        [ROUTER_H28] = {"H28", "Client Connection Idle", 499},
        [ROUTER_H80] = {"H80", "Maintenance mode", 503},
        [ROUTER_H99] = {"H99", "Platform error", 503},
        [ROUTER_NO_APP] = {"", "No such app", 404},
};

const char *router_code_name(enum router_code c)
{
	return c < ROUTER_CODE_MAX ? codes[c].name : "H99";
}

const char *router_code_desc(enum router_code c)
{
	return c < ROUTER_CODE_MAX ? codes[c].desc : "Platform error";
}

int router_code_status(enum router_code c)
{
	return c < ROUTER_CODE_MAX ? codes[c].status : 503;
}

static const char *reason(int status)
{
	switch (status) {
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 408:
		return "Request Timeout";
	case 413:
		return "Content Too Large";
	case 414:
		return "URI Too Long";
	case 417:
		return "Expectation Failed";
	case 431:
		return "Request Header Fields Too Large";
	case 501:
		return "Not Implemented";
	case 502:
		return "Bad Gateway";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return "Service Unavailable";
	}
}

/* Every (code, status) page is built once at program start, before any worker thread runs. */
#define MAX_STATUSES 12
static const int statuses[MAX_STATUSES] = {400, 404, 408, 413, 414, 417,
                                           431, 501, 502, 503, 505, 499};
static char pages[ROUTER_CODE_MAX][MAX_STATUSES][640];
static size_t page_len[ROUTER_CODE_MAX][MAX_STATUSES];

__attribute__((constructor)) static void build_pages(void)
{
	for (int c = 0; c < ROUTER_CODE_MAX; c++)
		for (int s = 0; s < MAX_STATUSES; s++) {
			int st = statuses[s];
			char body[400], what[96];
			if (codes[c].name[0])
				snprintf(what, sizeof(what), "%s (%s)", codes[c].desc,
				         codes[c].name);
			else
				snprintf(what, sizeof(what), "%s", codes[c].desc);
			int bl = snprintf(body, sizeof(body),
			                  "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
			                  "<title>%s</title></head>\n<body><h1>%d %s</h1>\n"
			                  "<p>%s</p>\n</body></html>\n",
			                  codes[c].desc, st, reason(st), what);
			page_len[c][s] = (size_t)snprintf(
			        pages[c][s], sizeof(pages[c][s]),
			        "HTTP/1.1 %d %s\r\nContent-Type: text/html; charset=utf-8\r\n"
			        "Content-Length: %d\r\nCache-Control: no-cache, no-store\r\n"
			        "Connection: close\r\n\r\n%s",
			        st, reason(st), bl, body);
		}
}

int router_error_response(enum router_code c, int status, const char **ret, size_t *ret_len)
{
	if (c >= ROUTER_CODE_MAX)
		return -EINVAL;
	for (int s = 0; s < MAX_STATUSES; s++)
		if (statuses[s] == status) {
			*ret = pages[c][s];
			*ret_len = page_len[c][s];
			return 0;
		}
	return -EINVAL;
}
