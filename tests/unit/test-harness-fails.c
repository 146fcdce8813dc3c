/* Proves the harness fails when it should: this program reports a failing assertion and is
 * listed in XFAIL_TESTS, so `make check` passes only if the failure is seen. */
#include "tests/lib/tap.h"

int main(void)
{
	is_int(1 + 1, 3, "a deliberately wrong assertion is reported as not ok");
	/* Exit 0: the TAP driver must judge from the "not ok" line alone. */
	tap_done();
	return 0;
}
