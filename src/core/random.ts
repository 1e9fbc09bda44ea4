/**
 * Seeded pseudo-random streams shared by the baseline builder and the drift engine (reservoir sampling):
 * the same seed and feature name give the same stream in both.
 */

/**
 * mulberry32: a tiny, fast, seedable 32-bit PRNG with values in [0, 1).
 *
 * The state is kept as a signed 32-bit integer (the same 32 bits as the unsigned state of the reference
 * definition: every operation below reads its operands modulo 2^32), so on 64-bit V8 it stays a small integer and a
 * draw allocates nothing; an unsigned state above 2^31 would be boxed as a heap number on every draw.
 */
export function mulberry32(seed: number): () => number {
  // eslint-disable-next-line no-bitwise -- 32-bit integer arithmetic is how mulberry32 is defined
  let state = seed | 0;
  return () => {
    // eslint-disable-next-line no-bitwise -- 32-bit wrap-around (the sum is exact in a double, |0 keeps its low 32 bits)
    state = (state + 0x6d2b79f5) | 0;
    let t = state;
    // eslint-disable-next-line no-bitwise -- mulberry32 mixing step
    t = Math.imul(t ^ (t >>> 15), t | 1);
    // eslint-disable-next-line no-bitwise -- mulberry32 mixing step
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    // eslint-disable-next-line no-bitwise -- mulberry32 output, as an unsigned 32-bit integer
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** 32-bit FNV-1a of a string's UTF-16 code units mixed with `seed`: one independent stream per feature. */
export function featureSeed(seed: number, name: string): number {
  // eslint-disable-next-line no-bitwise -- FNV-1a offset basis mixed with the seed, as a 32-bit integer
  let hash = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < name.length; i++) {
    // eslint-disable-next-line no-bitwise -- FNV-1a step on 32-bit integers
    hash = Math.imul(hash ^ name.charCodeAt(i), 0x01000193) >>> 0;
  }
  return hash;
}
