/* Logging for programs (never for library code): levels, timestamps, %m for the error. */
#ifndef DYNOHOST_COMMON_LOG_H
#define DYNOHOST_COMMON_LOG_H

#include <stdarg.h>

#include "common/cleanup.h"

enum log_level {
	LOG_LEVEL_ERROR = 0,
	LOG_LEVEL_WARNING,
	LOG_LEVEL_NOTICE,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
	LOG_LEVEL_MAX,
};

/* Program name printed before each line; defaults to program_invocation_short_name. */
void log_set_ident(const char *ident);
/* Lines above this level are dropped. Default: LOG_LEVEL_INFO (DYNOHOST_LOG_LEVEL overrides). */
void log_set_max_level(enum log_level level);
enum log_level log_get_max_level(void);
/* Parse "error", "warning", "notice", "info", "debug". Returns level or -EINVAL. */
int log_level_from_string(const char *s);
/* Prefix each line with an RFC 3339 UTC timestamp (off by default on a terminal). */
void log_set_timestamps(int on);

/* Write one line at level; `error` (positive or negative errno, or 0) is what %m prints.
 * Returns -abs(error) so callers can write `return log_error_errno(r, "...")`. */
int log_internal(enum log_level level, int error, const char *file, int line, const char *fmt,
		 ...) _printf_(5, 6);

#define log_full_errno(level, error, ...)                                                          \
	({                                                                                         \
		int _e_ = (error);                                                                 \
		(level) <= log_get_max_level()                                                     \
			? log_internal((level), _e_, __FILE__, __LINE__, __VA_ARGS__)              \
			: -(_e_ < 0 ? -_e_ : _e_);                                                 \
	})
#define log_error_errno(error, ...) log_full_errno(LOG_LEVEL_ERROR, error, __VA_ARGS__)
#define log_warning_errno(error, ...) log_full_errno(LOG_LEVEL_WARNING, error, __VA_ARGS__)
#define log_error(...) log_full_errno(LOG_LEVEL_ERROR, 0, __VA_ARGS__)
#define log_warning(...) log_full_errno(LOG_LEVEL_WARNING, 0, __VA_ARGS__)
#define log_notice(...) log_full_errno(LOG_LEVEL_NOTICE, 0, __VA_ARGS__)
#define log_info(...) log_full_errno(LOG_LEVEL_INFO, 0, __VA_ARGS__)
#define log_debug(...) log_full_errno(LOG_LEVEL_DEBUG, 0, __VA_ARGS__)

#endif
