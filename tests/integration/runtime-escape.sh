#!/usr/bin/env bash
# Escape attempts from inside a dyno: each must fail, and each is checked for *how* it fails
# (the errno, the signal, or what the dyno sees instead of the host). One fresh dyno per attempt.
. "$top_srcdir/tests/integration/runtime-lib.sh"

# attempt "PROBE ARGS" "expected output" [why]
attempt() {
	local got
	got=$(dx -- dynoprobe $1 2>&1)
	is "$got" "$2" "${3:-$1} -> ${2#*: }"
}
# Where the host lacks a /proc file, the dyno lacks it too; where it has it, it is masked.
masked_read() {
	if [ -e "$1" ]; then attempt "read $1" "read: ok 0" "read $1 (masked)"
	else attempt "read $1" "read: ENOENT" "read $1 (absent on this kernel)"; fi
}

# Filesystems and namespaces: seccomp says EPERM before the kernel looks at capabilities.
attempt mount "mount: EPERM"
attempt umount "umount: EPERM"
attempt pivot_root "pivot_root: EPERM"
attempt chroot "chroot: EPERM"
attempt fsopen "fsopen: EPERM" "fsopen (new mount API)"
attempt open_tree "open_tree: EPERM" "open_tree (new mount API)"
attempt unshare-user "unshare-user: EPERM" "unshare(CLONE_NEWUSER)"
attempt unshare-net "unshare-net: EPERM" "unshare(CLONE_NEWNET)"
attempt unshare-mnt "unshare-mnt: EPERM" "unshare(CLONE_NEWNS)"
attempt clone-newuser "clone-newuser: EPERM" "clone(CLONE_NEWUSER)"
attempt clone3 "clone3: ENOSYS" "clone3 (flags unseen by seccomp: ENOSYS so libc falls back)"
attempt setns "setns: EPERM"
attempt open_by_handle_at "open_by_handle_at: EPERM" "open_by_handle_at (shocker)"
attempt name_to_handle_at "name_to_handle_at: EPERM"
attempt dotdot "dotdot: same" "/.. is / (no way above the dyno root)"
attempt "read /.host/etc/hostname" "read: ENOENT" "the old root is detached"
attempt "root-of-init" "root-of-init: EACCES" "/proc/1/root of non-dumpable PID 1"
# From the command's very first instruction, not just later: PID 1 must be non-dumpable before
# the command starts (an exec makes a process dumpable again). A race shows in some launches.
reached=0
for ((i = 0; i < 20; i++)); do
	[ "$(dx -- 'dynoprobe root-of-init' 2>&1)" = "root-of-init: EACCES" ] || reached=$((reached + 1))
done
is "$reached" 0 "PID 1 out of reach from the command's first instruction, in 20 launches"

# Other processes: the host's are invisible, PID 1 cannot be traced.
attempt "kill-pid $$" "kill-pid: ESRCH" "kill a host pid"
attempt "ptrace-pid $$" "ptrace-pid: ESRCH" "ptrace a host pid"
attempt "see-pid $$" "see-pid: ENOENT" "a host pid in /proc"
attempt count-procs "count-procs: 2" "only dyno-init and the probe in /proc"
attempt ptrace-init "ptrace-init: EPERM" "ptrace dyno-init"

# /proc and /sys.
masked_read /proc/kcore
masked_read /proc/keys
masked_read /proc/timer_list
masked_read /proc/kallsyms
if [ -e /proc/sysrq-trigger ]; then
	attempt "write /proc/sysrq-trigger b" "write: EACCES" "/proc/sysrq-trigger"
else
	attempt "write /proc/sysrq-trigger b" "write: ENOENT" "/proc/sysrq-trigger (absent here)"
fi
attempt "write /proc/sys/kernel/hostname evil" "write: EACCES" "write /proc/sys"
attempt "mountopt /proc/sys" "mountopt: ro" "/proc/sys is mounted read-only"
attempt "write /sys/class/net/lo/mtu 1000" "write: EROFS" "write under /sys"
attempt "mountopt /sys" "mountopt: ro" "/sys is mounted read-only"
attempt "read /sys/fs/cgroup/memory/tasks" "read: ENOENT" "no cgroupfs inside"
attempt "read /dev/mem" "read: ENOENT" "no /dev/mem"
attempt "read /dev/kmsg" "read: ENOENT" "no /dev/kmsg"
attempt mknod "mknod: EPERM"
attempt "create /etc/evil" "create: EACCES" "write to the stack's /etc"

# The kernel itself.
attempt init_module "init_module: EPERM"
attempt finit_module "finit_module: EPERM"
attempt delete_module "delete_module: EPERM"
attempt kexec_load "kexec_load: EPERM"
attempt kexec_file_load "kexec_file_load: EPERM"
attempt bpf "bpf: EPERM"
attempt perf_event_open "perf_event_open: EPERM"
attempt keyctl "keyctl: EPERM"
attempt add_key "add_key: EPERM"
attempt request_key "request_key: EPERM"
attempt reboot "reboot: EPERM"
attempt swapon "swapon: EPERM"
attempt swapoff "swapoff: EPERM"
attempt iopl "iopl: EPERM"
attempt ioperm "ioperm: EPERM"
attempt userfaultfd "userfaultfd: EPERM"
attempt acct "acct: EPERM"
attempt syslog "syslog: EPERM" "syslog (dmesg)"
attempt io_uring_setup "io_uring_setup: EPERM"
attempt tiocsti "tiocsti: EPERM" "ioctl(TIOCSTI)"

# Clocks and names.
attempt settimeofday "settimeofday: EPERM"
attempt clock_settime "clock_settime: EPERM"
attempt adjtimex "adjtimex: EPERM"
attempt sethostname "sethostname: EPERM"
attempt setdomainname "setdomainname: EPERM"

# Network: no raw or packet sockets; a network namespace of its own.
attempt raw-socket "raw-socket: EPERM"
attempt packet-socket "packet-socket: EPERM"
attempt ifaces "ifaces: lo" "only lo in the dyno's netns"

# Privileges.
attempt setuid0 "setuid0: EPERM"
attempt caps "caps: CapInh=0000000000000000 CapPrm=0000000000000000 CapEff=0000000000000000 CapBnd=0000000000000000 CapAmb=0000000000000000 NoNewPrivs=1 Seccomp=2" \
	"every capability set empty, no_new_privs, seccomp filter"
got=$(dx -- dynoprobe-suid id 2>&1)
is "$got" "id: uid=10000 euid=10000 gid=10000 egid=10000" "a setuid-root binary gives no root"

# The command and dyno-init start at once; the control pipe to the launcher stays with PID 1.
is "$(dx -- 'test -e /proc/$$/fd/3 && echo leaked: $(ls -l /proc/$$/fd/3) || echo none')" "none" \
	"the command holds no fd of the launcher (the control pipe is PID 1's)"
is "$(dx -- 'grep SigBlk /proc/$$/status')" "SigBlk:	0000000000000000" "the command starts with no signal blocked"

# Other ABIs are killed by the filter (SIGSYS = 31: exit 159).
is "$(dx_status -- dynoprobe x32)" 159 "x32 system call: killed by SIGSYS"
is "$(dx_status -- dynoprobe int80)" 159 "i386 int 0x80: killed by SIGSYS"

is "$(rt_leftover_cgroups)" 0 "no cgroups left"
is "$(rt_leftover_mounts)" 0 "no mounts left"
tap_done
