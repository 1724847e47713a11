/*
 * hlc.c - hybrid logical clock (Kulkarni et al.), 48-bit ms + 16-bit counter.
 *
 * When the wall clock is ahead of everything seen, the timestamp is the wall
 * clock with a zero counter; otherwise the last timestamp plus one, which
 * carries into the millisecond field if 65,536 events share one millisecond.
 * Bounding how far a remote clock may drag ours ahead is the server's job
 * (clock skew check at ingest), not this module's.
 */
#include <time.h>

#include "hlc.h"

uint64_t
rl_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

rl_hlc
rl_hlc_now(rl_clock *c, uint64_t wall_ms)
{
	rl_hlc wall = rl_hlc_make(wall_ms, 0);

	c->last = wall > c->last ? wall : c->last + 1;
	return c->last;
}

void
rl_hlc_observe(rl_clock *c, rl_hlc remote)
{
	if (remote > c->last)
		c->last = remote;
}
