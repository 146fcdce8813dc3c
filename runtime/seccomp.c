/* The dyno's seccomp filter: classic BPF compiled at build time by runtime/seccomp-gen (which
 * holds the rules) into runtime/seccomp-filter.c, and loaded in every dyno with the raw system
 * call (no allocation after clone, no libseccomp at run time). */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "runtime/launcher-internal.h"

/* runtime/seccomp-filter.c, generated. */
extern const struct sock_filter dyno_seccomp_filter[];
extern const unsigned short dyno_seccomp_filter_len;

int dyno_seccomp_get(const struct sock_fprog **ret)
{
	/* seccomp(2) takes a non-const program but only reads it. */
	static struct sock_fprog prog;

	if (!prog.filter) {
		prog.len = dyno_seccomp_filter_len;
		prog.filter = (struct sock_filter *)dyno_seccomp_filter;
	}
	*ret = &prog;
	return 0;
}

int dyno_seccomp_program(const void **ret_filter, size_t *ret_len)
{
	*ret_filter = dyno_seccomp_filter;
	*ret_len = dyno_seccomp_filter_len * sizeof(struct sock_filter);
	return 0;
}

int dyno_seccomp_load(const struct sock_fprog *prog)
{
	return RET_NERRNO(syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, prog));
}
