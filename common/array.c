#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "common/array.h"

int array_grow(void **array, size_t *cap, size_t n, size_t elem, size_t initial)
{
	if (n < *cap)
		return 0;
	if (*cap > SIZE_MAX / 2)
		return -ENOMEM;
	size_t want = *cap ? *cap * 2 : initial ? initial : 1;
	if (elem == 0 || want > SIZE_MAX / elem)
		return -ENOMEM;
	void *p = realloc(*array, want * elem);
	if (!p)
		return -ENOMEM;
	*array = p;
	*cap = want;
	return 0;
}
