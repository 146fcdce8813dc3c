/* Arrays that grow by doubling: one helper for the "n == cap: realloc twice as large" step. */
#ifndef DYNOHOST_COMMON_ARRAY_H
#define DYNOHOST_COMMON_ARRAY_H

#include <stddef.h>

/* Make room for element n of *array (elem bytes each, *cap allocated): when n == *cap the
 * capacity doubles, starting at initial. 0, or -ENOMEM with *array and *cap unchanged. */
int array_grow(void **array, size_t *cap, size_t n, size_t elem, size_t initial);

/* ARRAY_GROW(ptr, cap, n, initial) for a typed pointer `ptr` (an lvalue). */
#define ARRAY_GROW(array, cap, n, initial)                                                         \
	({                                                                                         \
		void *_array = (array);                                                            \
		int _r = array_grow(&_array, &(cap), (n), sizeof(*(array)), (initial));            \
		(array) = _array;                                                                  \
		_r;                                                                                \
	})

#endif
