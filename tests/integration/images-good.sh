#!/usr/bin/env bash
# Good slugs import exactly like GNU tar extracts them (modulo the store's mode policy): inner
# symlinks and hardlinks, empty and private directories, exec bits, long and UTF-8 names, GNU
# and pax formats, root layout, plain tar, multi-member gzip; the demo app; idempotence,
# checksums, stdin; read-only to other users; releases, rollback and garbage collection.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/integration/images-lib.sh"
require_root
require_cmd python3 tar find sha256sum setpriv
[ -x "$DYNO" ] || tap_skip_all "dyno not built"

tmp=$(mktemp -d /tmp/dyno-images-good.XXXXXX)
cleanup_push rm -rf "$tmp"
root=$tmp/root state=$tmp/state
$MKSLUG good "$tmp/g" || tap_skip_all "slug factory failed"

# Reference extractions with GNU tar, compared entry by entry with what the store holds.
while IFS='|' read -r file opts layout; do
	# shellcheck disable=SC2086
	d=$("$DYNO" slug import --root "$root" $opts "$tmp/g/$file" 2>"$tmp/err")
	if ! tap_ok $? "import $file"; then
		tap_diag "$(cat "$tmp/err")"
		continue
	fi
	mkdir -p "$tmp/ref/$file"
	tar -C "$tmp/ref/$file" -xf "$tmp/g/$file"
	ref=$tmp/ref/$file
	[ "$layout" = root ] || ref=$ref/app
	$MKSLUG compare "$ref" "$root/slugs/$d" >"$tmp/cmp" 2>&1
	tap_ok $? "$file matches GNU tar's extraction ($(tail -1 "$tmp/cmp"))" || tap_diag "$(head -20 "$tmp/cmp")"
done <"$tmp/g/good.tsv"

# The comparison itself notices a difference (a test that can fail).
gnu=$(sha256sum "$tmp/g/good-gnu.tgz" | cut -c1-64)
! $MKSLUG compare "$tmp/ref/good-plain.tar/app" "$root/slugs/$gnu" >/dev/null 2>&1
tap_ok $? "the tree comparison reports a different slug as different"

# The demo app, packed the way Heroku's tooling does.
mkdir -p "$tmp/demo"
cp -a "$top_srcdir/examples/demo-app" "$tmp/demo/app"
tar -C "$tmp/demo" -czf "$tmp/demo.tgz" ./app
want=$(sha256sum "$tmp/demo.tgz" | cut -c1-64)
demo=$("$DYNO" slug import --root "$root" "$tmp/demo.tgz" 2>"$tmp/err")
is "$demo" "$want" "the demo app imports; its digest is the SHA-256 of the tarball"
p=$("$DYNO" slug path --root "$root" "SHA256:$demo")
is "$p" "$root/slugs/$demo" "slug path prints the directory to pass as --slug"
$MKSLUG compare "$tmp/demo/app" "$p" >"$tmp/cmp" 2>&1
tap_ok $? "the demo app's tree is the source tree" || tap_diag "$(head "$tmp/cmp")"
ok "the app root holds the Procfile (the slug dir is /app itself)" -- test -f "$p/Procfile"

# Importing again is a no-op; with a checksum (any case), or from stdin.
before=$(store_listing "$root")
d2=$("$DYNO" slug import --root "$root" "$tmp/demo.tgz" 2>"$tmp/err")
is "$d2" "$demo" "importing the same slug again gives the same digest"
like "$(cat "$tmp/err")" "already stored" "and says it was already stored"
d3=$("$DYNO" slug import --root "$root" --checksum "SHA256:${want^^}" - <"$tmp/demo.tgz" 2>"$tmp/err")
is "$d3" "$demo" "a matching upper-case SHA256: checksum from stdin is accepted"
is "$(store_listing "$root")" "$before" "the store did not change"
! "$DYNO" slug import --root "$root" --checksum "SHA256:$(printf 'f%.0s' {1..64})" "$tmp/demo.tgz" 2>"$tmp/err"
tap_ok $? "a stored slug with a wrong checksum is refused"
like "$(cat "$tmp/err")" "checksum mismatch" "with a checksum mismatch message"

# On a terminal, import shows its progress.
if command -v script >/dev/null 2>&1; then
	rm -rf "$tmp/root-tty"
	script -qec "'$DYNO' slug import --root '$tmp/root-tty' '$tmp/g/good-gnu.tgz'" /dev/null \
		>"$tmp/tty" 2>&1
	like "$(tr '\r' '\n' <"$tmp/tty")" "importing 100%" "import shows progress on a terminal"
else
	tap_skip "no script(1) for a pseudo-terminal"
fi

# Read-only to dynos: another uid cannot write anywhere in the slug.
! setpriv --reuid=65534 --regid=65534 --clear-groups touch "$p/new-file" 2>/dev/null
tap_ok $? "another user cannot create files in a stored slug"
! setpriv --reuid=65534 --regid=65534 --clear-groups sh -c "echo x >> '$p/config.ru'" 2>/dev/null
tap_ok $? "another user cannot write to a stored slug's files"
is "$(find "$p" -perm /022 ! -type l | wc -l)" 0 "no group/other write bits anywhere in the slug"
is "$(find "$p" ! -user root | wc -l)" 0 "everything in the slug is owned by root"

# Releases: v1, v2, rollback makes v3 from v1's contents.
n1=$("$DYNO" slug ls --root "$root" | awk 'NR > 1' | wc -l)
v1=$("$DYNO" release create demo --root "$root" --state "$state" --slug "$demo" \
	--env RACK_ENV=production --env GREETING='hello world' 2>"$tmp/err")
is "$v1" v1 "the first release is v1" || tap_diag "$(cat "$tmp/err")"
"$DYNO" release show demo --state "$state" >"$tmp/show"
ok "its process types come from the slug's own Procfile" -- \
	grep -qxF "process web: $(sed -n 's/^web: //p' "$tmp/demo/app/Procfile")" "$tmp/show"
printf 'web: ruby other.rb\nworker: rake jobs:work\n' >"$tmp/Procfile.other"
v2=$("$DYNO" release create demo --root "$root" --state "$state" --slug "$gnu" \
	--procfile "$tmp/Procfile.other" --env RACK_ENV=staging 2>"$tmp/err")
is "$v2" v2 "the next is v2, with a Procfile given on the command line"
like "$("$DYNO" release show demo v2 --state "$state")" "process worker: rake jobs:work" \
	"v2 has that Procfile's types"
! "$DYNO" release create demo --root "$root" --state "$state" \
	--slug "$(printf '1%.0s' {1..64})" 2>"$tmp/err"
tap_ok $? "a release of a slug that is not stored is refused"
! "$DYNO" release create demo --root "$root" --state "$state" --slug "$demo" --stack nope 2>/dev/null
tap_ok $? "a release on a stack that is not stored is refused"
v3=$("$DYNO" release rollback demo v1 --state "$state" 2>"$tmp/err")
is "$v3" v3 "a rollback to v1 creates v3"
show=$("$DYNO" release show demo v3 --state "$state")
like "$show" "slug: SHA256:$demo" "v3 runs v1's slug"
like "$show" "config GREETING=hello world" "with v1's config"
like "$show" "process web: " "and v1's process types"
like "$show" "Rollback to v1" "described as a rollback"
is "$("$DYNO" release ls demo --state "$state" | awk '{ print $1 }' | tr '\n' ' ')" "v3 v2 v1 " \
	"release ls lists newest first"

# GC keeps what releases reference and removes the rest.
"$DYNO" slug gc --root "$root" --state "$state" 2>"$tmp/err"
like "$(cat "$tmp/err")" "removed 0 " "slug gc spares slugs published within the last hour"
"$DYNO" slug gc --root "$root" --state "$state" --min-age 0 2>"$tmp/err"
tap_ok $? "slug gc --min-age 0 runs" || tap_diag "$(cat "$tmp/err")"
left=$("$DYNO" slug ls --root "$root" | awk 'NR > 1 { print $1 }' | sort | tr '\n' ' ')
is "$left" "$(printf '%s\n' "$demo" "$gnu" | sort | tr '\n' ' ')" \
	"only the two referenced slugs of $n1 remain"
ok "gc leaves nothing half-removed" -- no_staging "$root"
! "$DYNO" slug gc --root "$root" --state "$tmp/nowhere" 2>/dev/null
tap_ok $? "gc refuses to run without a release database"

# What a crashed import leaves behind is cleaned up by gc once it is an hour old, not before.
mkdir -p "$root/slugs/.staging-crashd/x" "$root/slugs/.staging-fresh1/x"
touch -d '2 hours ago' "$root/slugs/.staging-crashd"
"$DYNO" slug gc --root "$root" --state "$state" --min-age 0 2>/dev/null
ok "gc removes an hour-old staging directory" -- test ! -e "$root/slugs/.staging-crashd"
ok "but not one that may belong to an import in progress" -- test -d "$root/slugs/.staging-fresh1"
rm -rf "$root/slugs/.staging-fresh1"

# Two imports of the same new slug at once: both succeed, one copy is stored.
rm -rf "$tmp/root-race"
"$DYNO" slug import --root "$tmp/root-race" "$tmp/g/good-pax.tgz" >"$tmp/race1" 2>/dev/null &
p1=$!
"$DYNO" slug import --root "$tmp/root-race" "$tmp/g/good-pax.tgz" >"$tmp/race2" 2>/dev/null &
p2=$!
wait "$p1"; r1=$?
wait "$p2"; r2=$?
is "$r1 $r2 $(cat "$tmp/race1") $(cat "$tmp/race2")" "0 0 $(cat "$tmp/race1") $(cat "$tmp/race1")" \
	"two concurrent imports of one slug both succeed with the same digest"
is "$(find "$tmp/root-race/slugs" -mindepth 1 -maxdepth 1 -type d | wc -l)" 1 "and one copy is stored"
tap_done
