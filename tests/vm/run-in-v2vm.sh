#!/usr/bin/env bash
# Run a command as root inside a small QEMU VM whose kernel has only the unified cgroup v2
# hierarchy (cgroup_no_v1=all, every controller enabled at the root).
#
# Usage: [V2VM_* vars] tests/vm/run-in-v2vm.sh CMD [ARGS...]
#
# The VM boots Debian's stock kernel (linux-image-amd64) with a tiny initramfs built here from
# busybox-static and the kernel's virtio/9p modules (tests/vm/init, tests/vm/stage2). The host's
# `/` is the VM's read-only root over 9p, so programs compiled on the host run unchanged in the
# VM; /tmp, /run, /var/tmp and /root are tmpfs; $V2VM_WORK is shared writable at the same path;
# swap is a zram device.
# CMD runs in the caller's cwd. Prints CMD's output and exits with its status; 255 when the VM
# failed or timed out; 77 when the VM cannot run on this machine (no qemu, kernel or busybox).
#
#   V2VM_WORK     writable directory shared at the same path (default: $V2VM_CACHE/work)
#   V2VM_CACHE    where the initramfs is cached (default: /tmp/dynohost-v2vm)
#   V2VM_KVER     kernel version (default: the newest non-cloud -amd64 kernel in /boot)
#   V2VM_TIMEOUT  seconds before the VM is killed (default: 900)
#   V2VM_ACCEL    qemu accelerator (default: tcg; this host's /dev/kvm runs only special guests)
#   V2VM_MEM, V2VM_SMP, V2VM_CPU   guest memory (MiB), vCPUs, CPU model
#   V2VM_QEMU     the qemu binary (default: qemu-system-x86_64)
#   V2VM_SWAP     size of the VM's zram swap (default: 256M; 0: no swap)
#   V2VM_RO       space-separated host directories to share read-only at the same path, for
#                 those the VM's tmpfs would hide (under /tmp, /run, /var/tmp, /root)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
skip() { echo "v2vm: SKIP: $*" >&2; exit 77; }

[ $# -gt 0 ] || { echo "usage: $0 CMD [ARGS...]" >&2; exit 2; }
[ "$(id -u)" = 0 ] || skip "needs root (9p passthrough of the host's files)"
qemu=${V2VM_QEMU:-qemu-system-x86_64}
command -v "$qemu" >/dev/null 2>&1 || skip "$qemu not installed (apt-get install qemu-system-x86)"
busybox=$(command -v busybox || true)
[ -n "$busybox" ] || skip "busybox not installed (apt-get install busybox-static)"
# Only a static busybox works as the initramfs' /init.
if ldd "$busybox" >/dev/null 2>&1; then skip "$busybox is not static (apt-get install busybox-static)"; fi
command -v modprobe >/dev/null 2>&1 || skip "modprobe not installed (apt-get install kmod)"

kver=${V2VM_KVER:-}
if [ -z "$kver" ]; then
	kver=$(ls /boot 2>/dev/null | sed -n 's/^vmlinuz-\(.*-amd64\)$/\1/p' | grep -v cloud | sort -V | tail -1 || true)
fi
[ -n "$kver" ] && [ -r "/boot/vmlinuz-$kver" ] && [ -d "/lib/modules/$kver" ] ||
	skip "no stock kernel with modules in /boot (apt-get install linux-image-amd64)"

cache=${V2VM_CACHE:-/tmp/dynohost-v2vm}
work=${V2VM_WORK:-$cache/work}
case "$work" in *[[:space:]]*) echo "v2vm: V2VM_WORK must not contain spaces" >&2; exit 2 ;; esac
mkdir -p "$cache" "$work"
work=$(cd "$work" && pwd)

# The initramfs: busybox, the modules for virtio-pci and 9p, /init and the second stage.
# Cached by kernel version and the content of the two scripts.
key=$(cat "$here/init" "$here/stage2" | sha256sum | cut -c1-16)
initrd=$cache/initrd-$kver-$key.gz
if [ ! -s "$initrd" ]; then
	t=$(mktemp -d "$cache/initrd.XXXXXX")
	trap 'rm -rf "$t"' EXIT
	mkdir -p "$t/bin" "$t/mod" "$t/proc" "$t/sys" "$t/dev" "$t/newroot"
	cp "$busybox" "$t/bin/busybox"
	for m in virtio_pci 9pnet_virtio 9p; do
		modprobe -S "$kver" --show-depends "$m" 2>/dev/null | awk '$1 == "insmod" { print $2 }'
	done | awk '!seen[$0]++' | while read -r m; do
		cp "$m" "$t/mod/"
		basename "$m" >>"$t/mod/order"
	done
	[ -s "$t/mod/order" ] || { echo "v2vm: no 9p modules for $kver" >&2; exit 255; }
	install -m 0755 "$here/init" "$t/init"
	install -m 0755 "$here/stage2" "$t/stage2"
	(cd "$t" && find . | cpio -o -H newc --quiet) | gzip -1 >"$initrd.$$"
	mv "$initrd.$$" "$initrd"
	rm -rf "$t"
	trap - EXIT
fi

ctl=$(mktemp -d "$cache/ctl.XXXXXX")
trap 'rm -rf "$ctl"' EXIT
{
	printf 'cd %q 2>/dev/null || cd /\n' "$PWD"
	printf '%q ' "$@"
	echo
} >"$ctl/cmd"

ro_args=() ro_list=
i=0
for d in ${V2VM_RO:-}; do
	d=$(cd "$d" && pwd)
	case "$d" in *[[:space:],]*) echo "v2vm: V2VM_RO paths must not contain spaces or commas" >&2; exit 2 ;; esac
	ro_args+=(-fsdev "local,id=ro$i,path=$d,security_model=passthrough,readonly=on"
		-device "virtio-9p-pci,fsdev=ro$i,mount_tag=ro$i")
	ro_list=${ro_list:+$ro_list,}$d
	i=$((i + 1))
done

accel=${V2VM_ACCEL:-tcg,thread=multi}
rc=0
timeout --kill-after=10 "${V2VM_TIMEOUT:-900}" "$qemu" \
	-accel "$accel" -cpu "${V2VM_CPU:-max}" -m "${V2VM_MEM:-1024}" -smp "${V2VM_SMP:-2}" \
	-nodefaults -no-user-config -display none -serial stdio -no-reboot \
	-kernel "/boot/vmlinuz-$kver" -initrd "$initrd" \
	-append "console=ttyS0 quiet loglevel=1 panic=-1 cgroup_no_v1=all v2vm.work=$work v2vm.swap=${V2VM_SWAP:-256M} v2vm.ro=$ro_list" \
	-fsdev local,id=r,path=/,security_model=passthrough,readonly=on,multidevs=remap \
	-device virtio-9p-pci,fsdev=r,mount_tag=root \
	-fsdev local,id=w,path="$work",security_model=passthrough \
	-device virtio-9p-pci,fsdev=w,mount_tag=work \
	-fsdev local,id=c,path="$ctl",security_model=passthrough \
	-device virtio-9p-pci,fsdev=c,mount_tag=ctl "${ro_args[@]}" \
	</dev/null | sed -u -e 's/\r$//' -e '/^\[ *[0-9.]*\] \(sysrq\|reboot\): /d' || rc=$?
if [ -s "$ctl/rc" ]; then
	rc=$(cat "$ctl/rc")
else
	echo "v2vm: the VM ended without a status (boot failure or timeout, qemu status $rc)" >&2
	rc=255
fi
exit "$rc"
