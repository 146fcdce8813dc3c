/* Dyno sizes (DESIGN.md): memory quota, the R15 kill line (2x the quota; 1.2x for the largest
 * size, as Heroku does), pids and a cpu weight in proportion to the size. */
#include <string.h>

#include "runtime/launcher.h"

#define MB (1ULL << 20)

const struct dyno_size dyno_sizes[] = {
	{ "standard-1x", { 512 * MB, 1024 * MB, 256, 100 } },
	{ "standard-2x", { 1024 * MB, 2048 * MB, 512, 200 } },
	{ "performance-m", { 2560 * MB, 5120 * MB, 16384, 1000 } },
	{ "performance-l", { 14336 * MB, 14336 * MB * 6 / 5, 32768, 2000 } },
	{ NULL, { 0, 0, 0, 0 } },
};

const struct dyno_size *dyno_size_find(const char *name)
{
	for (const struct dyno_size *s = dyno_sizes; s->name; s++)
		if (strcmp(s->name, name) == 0)
			return s;
	return NULL;
}
