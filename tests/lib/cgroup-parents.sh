# dynohost's dynos live under a `dynohost` cgroup in each hierarchy (and in the unified one).
# A run of tests or benchmarks removes those parents at its end when it made them and they are
# empty (rmdir refuses a cgroup that is not). Source this file, call cg_parents_snapshot before
# the first dyno and cg_parents_cleanup after the last.
cg_parents_snapshot() {
	_cg_parents_before=$(ls -d /sys/fs/cgroup/dynohost /sys/fs/cgroup/*/dynohost 2>/dev/null || true)
}
cg_parents_cleanup() {
	local d
	for d in /sys/fs/cgroup/dynohost /sys/fs/cgroup/*/dynohost; do
		[ -d "$d" ] || continue
		printf '%s\n' "$_cg_parents_before" | grep -qxF "$d" || rmdir "$d" 2>/dev/null || true
	done
}
