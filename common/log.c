/* Program-side logging: one line per call to stderr, with level, optional timestamp and %m. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"

static const char *log_ident;
static int log_max_level = -1;
static int log_timestamps = -1;

static const char *const level_names[LOG_LEVEL_MAX] = {
	[LOG_LEVEL_ERROR] = "error",   [LOG_LEVEL_WARNING] = "warning", [LOG_LEVEL_NOTICE] = "notice",
	[LOG_LEVEL_INFO] = "info",     [LOG_LEVEL_DEBUG] = "debug",
};

void log_set_ident(const char *ident)
{
	log_ident = ident;
}

int log_level_from_string(const char *s)
{
	for (int i = 0; i < LOG_LEVEL_MAX; i++)
		if (s && strcasecmp(s, level_names[i]) == 0)
			return i;
	return -EINVAL;
}

void log_set_max_level(enum log_level level)
{
	log_max_level = level;
}

enum log_level log_get_max_level(void)
{
	if (log_max_level < 0) {
		int l = log_level_from_string(getenv("DYNOHOST_LOG_LEVEL"));
		log_max_level = l >= 0 ? l : LOG_LEVEL_INFO;
	}
	return log_max_level;
}

void log_set_timestamps(int on)
{
	log_timestamps = on;
}

int log_internal(enum log_level level, int error, const char *file, int line, const char *fmt, ...)
{
	int saved = errno;
	char msg[4096], stamp[40] = "";
	va_list ap;

	if (error < 0)
		error = -error;
	/* %m in fmt prints strerror(error), not whatever errno happens to be. */
	errno = error;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	if (log_timestamps < 0)
		log_timestamps = !isatty(STDERR_FILENO);
	if (log_timestamps) {
		struct timespec ts;
		struct tm tm;
		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		size_t n = strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(stamp + n, sizeof(stamp) - n, ".%06ldZ ", ts.tv_nsec / 1000);
	}
	if (level == LOG_LEVEL_DEBUG)
		fprintf(stderr, "%s%s: %s (%s:%d)\n", stamp,
			log_ident ? log_ident : program_invocation_short_name, msg, file, line);
	else if (level <= LOG_LEVEL_WARNING)
		fprintf(stderr, "%s%s: %s: %s\n", stamp,
			log_ident ? log_ident : program_invocation_short_name, level_names[level],
			msg);
	else
		fprintf(stderr, "%s%s: %s\n", stamp,
			log_ident ? log_ident : program_invocation_short_name, msg);
	errno = saved;
	return -error;
}
