/* Fuzz target for the Procfile parser: any bytes either parse into valid, distinct process
 * types with non-empty commands, or fail with a line number. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "images/images.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct image_procfile *p = NULL;
	struct image_error err;
	int r = image_procfile_parse((const char *)data, size, &p, &err);
	if (r < 0) {
		if (err.line == 0 || !err.msg[0])
			abort();
		return 0;
	}
	for (size_t i = 0; i < p->n_types; i++) {
		const char *n = p->types[i].name;
		if (!image_process_type_valid(n, strlen(n)) || !p->types[i].command[0])
			abort();
		if (image_procfile_command(p, n) != p->types[i].command)
			abort();
		for (size_t j = 0; j < i; j++)
			if (strcmp(p->types[j].name, n) == 0)
				abort();
	}
	image_procfile_free(p);
	return 0;
}
