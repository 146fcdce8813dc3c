#!/usr/bin/env bash
# Stacks: import a root filesystem from a directory and from tarballs (gzip, xz), by name and
# digest with a `current` pointer; `host` is built in; escapes are refused like in slugs.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/integration/images-lib.sh"
require_root
require_cmd python3 tar xz find sha256sum mknod mkfifo
[ -x "$DYNO" ] || tap_skip_all "dyno not built"

tmp=$(mktemp -d /tmp/dyno-images-stack.XXXXXX)
cleanup_push rm -rf "$tmp"
root=$tmp/root

# A small root filesystem: a static binary, absolute and relative symlinks, a setuid file,
# device nodes and a FIFO (left out: the launcher supplies /dev).
fs=$tmp/rootfs
mkdir -p "$fs/bin" "$fs/etc" "$fs/usr/lib" "$fs/dev" "$fs/tmp" "$fs/var/empty"
cp /bin/true "$fs/bin/true"
ln -s /bin/true "$fs/bin/sh"
ln -s ../../bin/true "$fs/usr/lib/true-rel"
echo 'root:x:0:0:root:/root:/bin/sh' >"$fs/etc/passwd"
printf '#!/bin/sh\n' >"$fs/bin/su"
chmod 4755 "$fs/bin/su"
chmod 1777 "$fs/tmp"
mknod "$fs/dev/null" c 1 3
mkfifo "$fs/dev/initctl"

is "$("$DYNO" stack path --root "$root" host)" host "the built-in stack is called host"

d=$("$DYNO" stack import --root "$root" base "$fs" 2>"$tmp/err")
tap_ok $? "import a stack from a directory" || tap_diag "$(cat "$tmp/err")"
like "$(cat "$tmp/err")" "left out" "device nodes and FIFOs are left out, and it says so"
p=$("$DYNO" stack path --root "$root" base)
is "$p" "$root/stacks/base/$d" "stack path prints <root>/stacks/NAME/DIGEST"
is "$(readlink "$root/stacks/base/current")" "$d" "current points at the import"
is "$(readlink "$p/bin/sh")" /bin/true "absolute symlinks are kept inside a stack"
is "$(readlink "$p/usr/lib/true-rel")" ../../bin/true "relative symlinks are kept"
ok "binaries keep their content" -- cmp "$fs/bin/true" "$p/bin/true"
is "$(stat -c %a "$p/bin/su") $(stat -c %a "$p/tmp") $(stat -c %a "$p/bin/true")" "755 755 755" \
	"setuid, sticky and group/other write bits are dropped"
ok "no device node or FIFO was copied" -- test ! -e "$p/dev/null" -a ! -e "$p/dev/initctl"
d2=$("$DYNO" stack import --root "$root" base "$fs" 2>/dev/null)
is "$d2" "$d" "the same directory gives the same digest"

# From tarballs: the digest is the SHA-256 of the file.
tar -C "$fs" --exclude=./dev -czf "$tmp/base.tgz" .
tar -C "$fs" --exclude=./dev -cJf "$tmp/base.txz" .
dz=$("$DYNO" stack import --root "$root" base "$tmp/base.tgz" 2>"$tmp/err")
is "$dz" "$(sha256sum "$tmp/base.tgz" | cut -c1-64)" "a gzip tarball imports under its SHA-256"
is "$("$DYNO" stack path --root "$root" base)" "$root/stacks/base/$dz" "current moved to the tarball"
dx=$("$DYNO" stack import --root "$root" other "$tmp/base.txz" 2>"$tmp/err")
is "$dx" "$(sha256sum "$tmp/base.txz" | cut -c1-64)" "an xz tarball imports too"
ok "the xz stack has the binary" -- cmp "$fs/bin/true" "$root/stacks/other/$dx/bin/true"
is "$("$DYNO" stack ls --root "$root" | awk 'NR > 1 { print $1 }' | tr '\n' ' ')" "host base other " \
	"stack ls lists host first, then by name"

# Two imports of one stack at once both succeed and agree.
"$DYNO" stack import --root "$root" race "$tmp/base.tgz" >"$tmp/r1" 2>/dev/null &
p1=$!
"$DYNO" stack import --root "$root" race "$tmp/base.tgz" >"$tmp/r2" 2>/dev/null &
p2=$!
wait "$p1"; r1=$?
wait "$p2"; r2=$?
is "$r1 $r2 $(cat "$tmp/r1") $(readlink "$root/stacks/race/current")" "0 0 $dz $dz" \
	"concurrent imports of one stack both succeed"
is "$(find "$root/stacks/race" -mindepth 1 -maxdepth 1 | wc -l)" 2 "leaving one copy and current"

# Refusals.
before=$(store_listing "$root")
python3 - "$tmp" <<'PY'
import io, sys, tarfile
def mk(path, entries):
    with tarfile.open(path, "w:gz") as tf:
        for name, kind, target in entries:
            ti = tarfile.TarInfo(name)
            ti.type = kind
            ti.linkname = target
            tf.addfile(ti, io.BytesIO(b""))
mk(sys.argv[1] + "/dotdot.tgz", [("./etc/../../evil", tarfile.REGTYPE, "")])
mk(sys.argv[1] + "/escape.tgz", [("./lib", tarfile.SYMTYPE, "../../../../etc")])
mk(sys.argv[1] + "/through.tgz", [("./lib", tarfile.SYMTYPE, "/etc"), ("./lib/passwd", tarfile.REGTYPE, "")])
PY
for t in dotdot:'"\.\." component' escape:"escapes the stack root" through:"passes through symlink"; do
	! "$DYNO" stack import --root "$root" base "$tmp/${t%%:*}.tgz" 2>"$tmp/err" &&
		grep -Eq "${t#*:}" "$tmp/err"
	tap_ok $? "a stack tarball with ${t%%:*} is refused: $(sed 's/.*refused: //' "$tmp/err")"
done
! "$DYNO" stack import --root "$root" host "$fs" 2>/dev/null
tap_ok $? "\"host\" cannot be imported over"
! "$DYNO" stack import --root "$root" "../x" "$fs" 2>/dev/null
tap_ok $? "a stack name with a slash is refused"
is "$(store_listing "$root")" "$before" "refused stacks left the store unchanged"
ok "nothing half-imported remains" -- no_staging "$root"
tap_done
