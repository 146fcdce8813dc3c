#!/usr/bin/env bash
# Hostile and broken slugs, generated now (tests/integration/images-mkslug.py hostile): each
# must be refused by `dyno slug import` with one message naming the entry and the rule, and
# leave the store exactly as it was.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/integration/images-lib.sh"
require_root
require_cmd python3 tar find sha256sum
[ -x "$DYNO" ] || tap_skip_all "dyno not built"

tmp=$(mktemp -d /tmp/dyno-images-hostile.XXXXXX)
cleanup_push rm -rf "$tmp"
root=$tmp/root
$MKSLUG hostile "$tmp/h" || tap_skip_all "slug factory failed"
ncases=$(wc -l <"$tmp/h/cases.tsv")
tap_plan $((ncases + 6))

# A store with one good slug in it, so "unchanged" means something.
mkdir -p "$tmp/src/app/lib"
echo 'web: ruby app.rb' >"$tmp/src/app/Procfile"
echo 'puts 1' >"$tmp/src/app/lib/a.rb"
tar -C "$tmp/src" -czf "$tmp/seed.tgz" ./app
seed=$("$DYNO" slug import --root "$root" "$tmp/seed.tgz" 2>"$tmp/err")
is "$?" 0 "a good slug imports into a fresh store"
before=$(store_listing "$root")

while IFS='|' read -r file opts entry rx; do
	# shellcheck disable=SC2086 # opts is a word list on purpose
	"$DYNO" slug import --root "$root" $opts "$tmp/h/$file" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	msg=$(cat "$tmp/err")
	after=$(store_listing "$root")
	why=""
	[ "$rc" -eq 1 ] || why="exit status $rc, want 1;"
	[ "$(grep -c . "$tmp/err")" -eq 1 ] || why="$why not exactly one line;"
	[ -z "$entry" ] || grep -qF "entry \"$entry" "$tmp/err" || why="$why entry \"$entry\" not named;"
	grep -Eq -- "$rx" "$tmp/err" || why="$why rule /$rx/ not stated;"
	[ "$after" = "$before" ] || why="$why store changed;"
	no_staging "$root" || why="$why staging left behind;"
	[ ! -s "$tmp/out" ] || why="$why printed a digest;"
	if [ -z "$why" ]; then
		tap_ok 0 "refused ${file%.tgz}: ${msg#*refused: }"
	else
		tap_ok 1 "refused ${file%.tgz}"
		tap_diag "$why"
		tap_diag "stderr: $msg"
		before=$after
	fi
done <"$tmp/h/cases.tsv"

# Setuid/setgid bits are not a reason to refuse: they are stripped.
mkdir -p "$tmp/suid/app"
printf '#!/bin/sh\n' >"$tmp/suid/app/tool"
chmod 6755 "$tmp/suid/app/tool"
mkdir -m 3777 "$tmp/suid/app/shared"
tar -C "$tmp/suid" -czf "$tmp/suid.tgz" ./app
d=$("$DYNO" slug import --root "$root" "$tmp/suid.tgz" 2>"$tmp/err")
is "$?" 0 "a slug with setuid/setgid/sticky bits imports"
like "$(cat "$tmp/err")" "bits stripped" "the import says the bits were stripped"
p=$("$DYNO" slug path --root "$root" "$d")
is "$(stat -c %a "$p/tool") $(stat -c %a "$p/shared")" "755 555" \
	"setuid/setgid/sticky and group/other write bits are gone"

# The store still holds the seed slug exactly, and nothing else was published.
is "$("$DYNO" slug ls --root "$root" | awk 'NR > 1 { print $1 }' | sort | tr '\n' ' ')" \
	"$(printf '%s\n' "$seed" "$d" | sort | tr '\n' ' ')" "only the two good slugs are stored"
ok "nothing half-imported remains" -- no_staging "$root"
tap_done
