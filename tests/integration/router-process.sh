#!/bin/bash
# dyno-router: inherited listening socket, privilege drop, log socket, reload after the drop.
# Real router, real backends on loopback, curl and raw-socket clients (router-suite.py).
. "$top_srcdir/tests/lib/tap.sh"
require_cmd python3 curl
exec python3 "$top_srcdir/tests/integration/router-suite.py" process
