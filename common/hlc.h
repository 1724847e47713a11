/*
 * hlc.h - hybrid logical clocks.
 *
 * An HLC timestamp packs milliseconds since the Unix epoch in the high 48
 * bits and a logical counter in the low 16 bits, so timestamps compare as
 * integers, stay close to wall time, and still order causally related events
 * when wall clocks disagree. Each device keeps one clock, persisted in its
 * store; every local change takes rl_hlc_now(), every received change is
 * passed to rl_hlc_observe().
 */
#ifndef RL_HLC_H
#define RL_HLC_H

#include <stdint.h>

typedef uint64_t rl_hlc;

#define RL_HLC_LOGICAL_BITS 16

typedef struct rl_clock {
	rl_hlc last; /* the greatest timestamp issued or observed */
} rl_clock;

/* Milliseconds of an HLC timestamp. */
static inline uint64_t
rl_hlc_ms(rl_hlc t)
{
	return t >> RL_HLC_LOGICAL_BITS;
}

static inline rl_hlc
rl_hlc_make(uint64_t ms, uint32_t logical)
{
	return (ms << RL_HLC_LOGICAL_BITS) | (logical & 0xffff);
}

/* Wall clock, milliseconds since the epoch (CLOCK_REALTIME). */
uint64_t rl_wall_ms(void);

/* A new timestamp greater than every one c has issued or observed. */
rl_hlc rl_hlc_now(rl_clock *c, uint64_t wall_ms);

/* Takes a remote timestamp into account (the next rl_hlc_now exceeds it). */
void rl_hlc_observe(rl_clock *c, rl_hlc remote);

#endif
