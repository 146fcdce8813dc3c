/* Balancing policies: power of two choices on outstanding requests (Mitzenmacher), uniform
 * random (Heroku's old router, for comparison) and round-robin. */
#include <errno.h>
#include <string.h>

#include "router/router.h"

static const char *const balance_names[ROUTER_BALANCE_MAX] = {
        [ROUTER_BALANCE_P2C] = "p2c",
        [ROUTER_BALANCE_RANDOM] = "random",
        [ROUTER_BALANCE_RR] = "rr",
};

int router_balance_from_string(const char *s)
{
	for (int i = 0; i < ROUTER_BALANCE_MAX; i++)
		if (s && strcmp(s, balance_names[i]) == 0)
			return i;
	return -EINVAL;
}

const char *router_balance_to_string(enum router_balance b)
{
	return b < ROUTER_BALANCE_MAX ? balance_names[b] : NULL;
}

/* xorshift64*: fast, good enough to spread load, never cryptographic. */
uint64_t router_rng_next(uint64_t *state)
{
	uint64_t x = *state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545F4914F6CDD1Dull;
}

/* Uniform in [0, n) without modulo bias worth caring about (n is tiny against 2^32). */
static size_t below(uint64_t *rng, size_t n)
{
	return (size_t)(((router_rng_next(rng) >> 32) * (uint64_t)n) >> 32);
}

size_t router_balance_pick(enum router_balance b, const unsigned *loads, size_t n, uint64_t *rng,
                           uint64_t *rr)
{
	if (n <= 1)
		return 0;
	switch (b) {
	case ROUTER_BALANCE_RANDOM:
		return below(rng, n);
	case ROUTER_BALANCE_RR:
		return (size_t)((*rr)++ % n);
	case ROUTER_BALANCE_P2C:
	default: {
		/* Two distinct random candidates; the less loaded wins, a tie goes to the first. */
		size_t i = below(rng, n);
		size_t j = below(rng, n - 1);
		if (j >= i)
			j++;
		return loads[j] < loads[i] ? j : i;
	}
	}
}
