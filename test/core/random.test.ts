import { featureSeed, mulberry32 } from '../../src/core/random';

/* eslint-disable no-bitwise -- the reference definitions are 32-bit integer arithmetic */
/** mulberry32 exactly as it was written before the state became a signed 32-bit integer (unsigned state). */
function referenceMulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
/* eslint-enable no-bitwise */

describe('mulberry32', () => {
  test.each([0, 1, 42, -1, 0x7fffffff, 0x80000000, 0xffffffff, 2 ** 32 + 5, -(2 ** 31), 123456789, 3.7, -8.2])(
    'seed %p: the first 200,000 draws equal the reference definition', seed => {
      const actual = mulberry32(seed);
      const expected = referenceMulberry32(seed);
      let mismatches = 0;
      for (let i = 0; i < 200_000; i++) {
        const a = actual();
        if (a !== expected() || !(a >= 0 && a < 1)) { mismatches++; }
      }
      expect(mismatches).toBe(0);
    });

  test('feature seeds give the reference streams too', () => {
    for (const name of ['num_00', 'cat_channel', 'Zürich', '']) {
      const seed = featureSeed(42, name);
      const actual = mulberry32(seed);
      const expected = referenceMulberry32(seed);
      expect(Array.from({ length: 1_000 }, () => actual())).toEqual(Array.from({ length: 1_000 }, () => expected()));
    }
  });

  test('known values (seed 42)', () => {
    const random = mulberry32(42);
    expect([random(), random(), random()]).toEqual([0.6011037519201636, 0.44829055899754167, 0.8524657934904099]);
  });
});
