/* Internals shared by the http-*.c files: character classes and small lookups. Not an API. */
#ifndef DYNOHOST_COMMON_HTTP_INTERNAL_H
#define DYNOHOST_COMMON_HTTP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/http.h"

/* One byte per character: 1 when the character is in the class (tables in http-util.c). */
extern const uint8_t http_tchar_tab[256];       /* RFC 9110 tchar */
extern const uint8_t http_vchar_ws_tab[256];    /* field-value: VCHAR, obs-text, SP, HTAB */
extern const uint8_t http_target_tab[256];      /* request-target default: VCHAR but '#' */
extern const uint8_t http_target_rfc_tab[256];  /* RFC 3986 characters of a request-target */
extern const uint8_t http_target_lenient_tab[256]; /* VCHAR and obs-text */
extern const uint8_t http_regname_tab[256];     /* reg-name: unreserved, pct, sub-delims */
extern const uint8_t http_hexdig_tab[256];
extern const uint8_t http_reqid_tab[256];       /* X-Request-Id: [A-Za-z0-9+/=-] */

static inline bool is_tchar(char c)
{
	return http_tchar_tab[(uint8_t)c];
}
static inline bool is_vchar_ws(char c)
{
	return http_vchar_ws_tab[(uint8_t)c];
}
static inline bool is_regname(char c)
{
	return http_regname_tab[(uint8_t)c];
}
static inline bool is_hexdig(char c)
{
	return http_hexdig_tab[(uint8_t)c];
}
static inline bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* The method enum for a token (case-sensitive). */
enum http_method http_method_lookup(const char *s, size_t n);
/* uri-host [ ":" port ] (RFC 3986), the port required when need_port. */
bool http_authority_valid(const char *s, size_t n, bool need_port);

#endif
