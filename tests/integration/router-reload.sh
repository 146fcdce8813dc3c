#!/bin/bash
# dyno-router: route reload under load, route stream, graceful stop.
# Real router, real backends on loopback, curl and raw-socket clients (router-suite.py).
. "$top_srcdir/tests/lib/tap.sh"
require_cmd python3 curl
exec python3 "$top_srcdir/tests/integration/router-suite.py" reload
