# examples/: the demo app (Ruby/Thin) and the script that brings it up in dynos behind the router.
EXTRA_DIST += examples/demo-app/config.ru examples/demo-app/Procfile \
	examples/demo-app/.profile.d/demo.sh
TESTS += tests/integration/demo.sh
EXTRA_DIST += tests/integration/demo.sh examples/demo-up examples/demo-run
