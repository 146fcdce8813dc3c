/* Dropping privilege in the dyno: securebits locked, an empty bounding set, the dyno's uid and
 * gid, and every capability set (permitted, effective, inheritable, ambient) empty. The libcap
 * objects are made before clone; the child only makes system calls. */
#include <errno.h>
#include <grp.h>
#include <linux/securebits.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "runtime/launcher-internal.h"

int dyno_caps_prepare(struct dyno_plan *plan)
{
	plan->caps_empty = cap_init(); /* all three sets clear */
	if (!plan->caps_empty)
		return -errno;
	cap_value_t last = cap_max_bits();
	plan->cap_last = last > 0 ? (int)last - 1 : CAP_LAST_CAP;
	return 0;
}

int dyno_caps_drop(const struct dyno_plan *plan, enum dyno_step *ret_step)
{
	/* No way back to root semantics, no keeping capabilities across setuid, no ambient
	 * raise; all locked. SECBIT_NO_SETUID_FIXUP stays off so setresuid clears the sets. */
	unsigned bits = SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_KEEP_CAPS_LOCKED |
			SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_NO_CAP_AMBIENT_RAISE |
			SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED;

	*ret_step = DYNO_STEP_CAPS;
	for (int c = 0; c <= plan->cap_last; c++)
		if (cap_drop_bound((cap_value_t)c) == -1 && errno != EINVAL)
			return -errno;
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) == -1)
		return -errno;

	*ret_step = DYNO_STEP_USER;
	gid_t gid = plan->gid;
	if (setgroups(1, &gid) == -1)
		return -errno;
	if (setresgid(plan->gid, plan->gid, plan->gid) == -1)
		return -errno;
	*ret_step = DYNO_STEP_CAPS;
	if (cap_set_secbits(bits) == -1)
		return -errno;
	*ret_step = DYNO_STEP_USER;
	if (setresuid(plan->uid, plan->uid, plan->uid) == -1)
		return -errno;

	*ret_step = DYNO_STEP_CAPS;
	if (cap_set_proc(plan->caps_empty) == -1)
		return -errno;
	*ret_step = DYNO_STEP_NO_NEW_PRIVS;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		return -errno;
	return 0;
}
