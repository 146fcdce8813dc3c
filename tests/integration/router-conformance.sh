#!/bin/bash
# dyno-router: header rules, body framing, pipelining, keep-alive on both sides, websocket.
# Real router, real backends on loopback, curl and raw-socket clients (router-suite.py).
. "$top_srcdir/tests/lib/tap.sh"
require_cmd python3 curl ss
exec python3 "$top_srcdir/tests/integration/router-suite.py" conformance
