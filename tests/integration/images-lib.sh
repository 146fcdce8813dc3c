# Shared by the images-*.sh scenarios: the dyno binary, the slug factory, store listings.
DYNO=${top_builddir:?}/dyno
MKSLUG="python3 ${top_srcdir:?}/tests/integration/images-mkslug.py"

# A digest of everything in a store a reader could observe: names, types, modes, owners, file
# sizes, times and contents, link targets (directory sizes and times excluded: creating and
# removing a staging directory legitimately touches slugs/ itself).
store_listing() {
	(
		cd "$1" || exit 1
		find . -type d -printf '%p d %m %U:%G\n'
		find . ! -type d -printf '%p %y %m %U:%G %s %T@ %l\n'
		find . -type f -exec sha256sum {} +
	) | LC_ALL=C sort | sha256sum | cut -c1-64
}

# No import left anything half-done behind.
no_staging() {
	[ -z "$(find "$1" -maxdepth 3 -name '.staging-*' -o -maxdepth 3 -name '.gc-*')" ]
}
