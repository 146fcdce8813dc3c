/* bench/dyno-spawn: the launcher as the host service uses it, without the `dyno` CLI around it:
 * spawn a dyno running CMD, wait for its end, free it; N times in one process. Prints the
 * spawn-to-freed time of each dyno in microseconds, one per line. Used by bench/dyno-start.
 * Usage: dyno-spawn STACK RUN_DIR N [CMD]   (root; DYNOHOST_INIT as for dyno exec) */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "runtime/launcher.h"

static long long now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: dyno-spawn STACK RUN_DIR N [CMD]\n");
		return 2;
	}
	const char *cmd[] = { argc > 4 ? argv[4] : "true", NULL };
	int n = atoi(argv[3]);
	for (int i = 0; i < n; i++) {
		struct dyno_params p;
		struct dyno_error e;
		struct dyno *d;
		char id[64];
		dyno_params_init(&p);
		snprintf(id, sizeof(id), "bench-spawn-%d-%d", (int)getpid(), i);
		p.id = id;
		p.stack = argv[1];
		p.run_dir = argv[2];
		p.argv = cmd;
		p.limits = dyno_size_find("standard-1x")->limits;
		long long t0 = now_us();
		int r = dyno_spawn(&p, &d, &e);
		if (r < 0) {
			fprintf(stderr, "dyno-spawn: step %s: error %d\n", dyno_step_to_string(e.step),
				e.error);
			return 1;
		}
		dyno_wait(d, -1);
		dyno_free(d);
		printf("%lld\n", now_us() - t0);
	}
	return 0;
}
