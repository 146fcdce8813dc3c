/* Unit tests of the cgroup layer's pure parts: names, weight to shares, mode names. */
#include <stdint.h>

#include "runtime/cgroup.h"
#include "tests/lib/tap.h"

int main(void)
{
	ok(dyno_cgroup_name_valid("web.1"), "web.1 is a valid name");
	ok(dyno_cgroup_name_valid("app-1_run.4821@x"), "letters, digits, . _ - @ are valid");
	ok(!dyno_cgroup_name_valid(""), "empty name is refused");
	ok(!dyno_cgroup_name_valid(NULL), "NULL name is refused");
	ok(!dyno_cgroup_name_valid(".."), ".. is refused");
	ok(!dyno_cgroup_name_valid(".hidden"), "leading dot is refused");
	ok(!dyno_cgroup_name_valid("a/b"), "slash is refused");
	ok(!dyno_cgroup_name_valid("cgroup.procs"), "cgroupfs file names are refused");
	ok(!dyno_cgroup_name_valid("a b"), "space is refused");
	char longname[256];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	ok(!dyno_cgroup_name_valid(longname), "255-char name is refused");

	is_int(dyno_cgroup_cpu_shares_from_weight(100), 1024, "weight 100 is 1024 shares");
	is_int(dyno_cgroup_cpu_shares_from_weight(200), 2048, "weight 200 is 2048 shares");
	is_int(dyno_cgroup_cpu_shares_from_weight(1), 10, "weight 1 is 10 shares");
	is_int(dyno_cgroup_cpu_shares_from_weight(0), 2, "shares never below 2");
	is_int(dyno_cgroup_cpu_shares_from_weight(10000), 102400, "weight 10000 is 102400 shares");
	is_int(dyno_cgroup_cpu_shares_from_weight(UINT64_C(1) << 40), 262144,
	       "shares never above 262144");

	is_str(dyno_cgroup_mode_to_string(DYNO_CGROUP_UNIFIED), "unified", "unified mode name");
	is_str(dyno_cgroup_mode_to_string(DYNO_CGROUP_HYBRID), "hybrid", "hybrid mode name");
	is_str(dyno_cgroup_mode_to_string(DYNO_CGROUP_LEGACY), "legacy", "legacy mode name");
	ok(dyno_cgroup_mode_to_string(DYNO_CGROUP_MODE_MAX) == NULL, "out-of-range mode is NULL");

	struct dyno_cgroup *cg = NULL;
	struct dyno_limits bad_weight = { .cpu_weight = 10001 };
	is_int(dyno_cgroup_create(NULL, "x", &bad_weight, &cg), -EINVAL, "weight > 10000 refused");
	struct dyno_limits bad_kill = { .memory_bytes = 2 << 20, .memory_kill_bytes = 1 << 20 };
	is_int(dyno_cgroup_create(NULL, "x", &bad_kill, &cg), -EINVAL,
	       "kill line below the quota refused");
	is_int(dyno_cgroup_create(NULL, "../x", NULL, &cg), -EINVAL, "bad name refused by create");
	ok(cg == NULL, "no handle on failure");
	is_int(dyno_cgroup_destroy(NULL), 0, "destroy(NULL) is fine");
	ok(dyno_cgroup_free(NULL) == NULL, "free(NULL) is fine");
	return tap_done();
}
