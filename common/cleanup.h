/* Scope-bound cleanup for C: the _cleanup_ attribute family, TAKE_PTR/TAKE_FD, and
 * destructors for libc objects. Library-specific cleanups live next to their wrappers. */
#ifndef DYNOHOST_COMMON_CLEANUP_H
#define DYNOHOST_COMMON_CLEANUP_H

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _noreturn_ __attribute__((noreturn))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _likely_(x) __builtin_expect(!!(x), 1)
#define _unlikely_(x) __builtin_expect(!!(x), 0)

#define ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))

/* Hand ownership out of a _cleanup_ variable: returns the value and leaves NULL / -1 behind. */
#define TAKE_PTR(p)                                                                                \
	({                                                                                         \
		__typeof__(p) _tp_ = (p);                                                          \
		(p) = NULL;                                                                        \
		_tp_;                                                                              \
	})
#define TAKE_FD(fd)                                                                                \
	({                                                                                         \
		int _tf_ = (fd);                                                                   \
		(fd) = -1;                                                                         \
		_tf_;                                                                              \
	})

/* Declare `static inline void name(type *p)` that calls func(*p) when *p is non-NULL. */
#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func)                                                    \
	static inline void func##p(type *p)                                                        \
	{                                                                                          \
		if (*p)                                                                            \
			func(*p);                                                                  \
	}

static inline void freep(void *p)
{
	free(*(void **)p);
}
#define _cleanup_free_ _cleanup_(freep)

/* Close an fd keeping errno intact; returns -1 so callers can write fd = safe_close(fd). */
static inline int safe_close(int fd)
{
	if (fd >= 0) {
		int saved = errno;
		close(fd);
		errno = saved;
	}
	return -1;
}

static inline void closep(int *fd)
{
	*fd = safe_close(*fd);
}
#define _cleanup_close_ _cleanup_(closep)

static inline void close_pairp(int (*pair)[2])
{
	(*pair)[0] = safe_close((*pair)[0]);
	(*pair)[1] = safe_close((*pair)[1]);
}
#define _cleanup_close_pair_ _cleanup_(close_pairp)

DEFINE_TRIVIAL_CLEANUP_FUNC(FILE *, fclose)
#define _cleanup_fclose_ _cleanup_(fclosep)
DEFINE_TRIVIAL_CLEANUP_FUNC(DIR *, closedir)
#define _cleanup_closedir_ _cleanup_(closedirp)

/* Free a NULL-terminated array of strings and the array itself. Returns NULL. */
static inline char **strv_free(char **v)
{
	if (v) {
		for (char **s = v; *s; s++)
			free(*s);
		free(v);
	}
	return NULL;
}
static inline void strv_freep(char ***v)
{
	*v = strv_free(*v);
}
#define _cleanup_strv_free_ _cleanup_(strv_freep)

/* Kill (SIGKILL) and reap a child we still own; for child processes on error paths. */
static inline void cleanup_pidp(pid_t *pid)
{
	if (*pid > 0) {
		int saved = errno;
		kill(*pid, SIGKILL);
		while (waitpid(*pid, NULL, 0) == -1 && errno == EINTR)
			;
		errno = saved;
		*pid = 0;
	}
}
#define _cleanup_pid_ _cleanup_(cleanup_pidp)

/* Return -errno from a libc call that failed with -1. */
#define RET_NERRNO(expr) ((expr) == -1 ? -errno : 0)

#endif
