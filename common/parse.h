/* Numbers from command lines and options: decimal digits only (no sign, no spaces, no base
 * prefix), so "-1" is an error rather than a huge value. 0, -EINVAL (malformed) or -ERANGE. */
#ifndef DYNOHOST_COMMON_PARSE_H
#define DYNOHOST_COMMON_PARSE_H

#include <stdint.h>

/* An integer in [min, max]. */
int parse_uint64(const char *s, uint64_t min, uint64_t max, uint64_t *ret);
/* A size in bytes: a number with an optional binary suffix k, m or g (any case): "512m". */
int parse_size(const char *s, uint64_t *ret);

#endif
