import { defaultSleep, fullJitterBackoff, isThrottling, retryThrottled } from '../../src/core/aws-retry';

describe('isThrottling (shared by every handler)', () => {
  test.each([
    [{ name: 'ThrottlingException' }, true],
    [{ name: 'SlowDown' }, true],
    [{ name: 'ProvisionedThroughputExceededException' }, true],
    [{ name: 'RequestThrottledException' }, true],
    [{ name: 'X', $metadata: { httpStatusCode: 429 } }, true],
    [{ name: 'ServiceUnavailable', $metadata: { httpStatusCode: 503 } }, true],
    [{ name: 'X', $retryable: { throttling: true } }, true],
    [{ name: 'ValidationException', $metadata: { httpStatusCode: 400 } }, false],
    [{ name: 'AccessDeniedException' }, false],
    [undefined, false],
  ])('%p → %p', (error, expected) => {
    expect(isThrottling(error)).toBe(expected);
  });

  test('defaultSleep waits', async () => {
    const start = Date.now();
    await defaultSleep(20);
    expect(Date.now() - start).toBeGreaterThanOrEqual(15);
  });
});

describe('retryThrottled', () => {
  const throttle = () => Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
  const opts = (extra = {}) => ({ maxAttempts: 3, backoff: () => 1, sleep: async () => undefined, ...extra });

  test('retries throttling until the call succeeds', async () => {
    let calls = 0;
    const result = await retryThrottled('Op', async () => { if (++calls < 3) { throw throttle(); } return 'ok'; }, opts());
    expect([result, calls]).toEqual(['ok', 3]);
  });

  test('throws other errors at once', async () => {
    let calls = 0;
    await expect(retryThrottled('Op', async () => { calls++; throw new Error('denied'); }, opts())).rejects.toThrow('denied');
    expect(calls).toBe(1);
  });

  test('gives up after maxAttempts with the count, through the exhausted factory when given', async () => {
    await expect(retryThrottled('Op', async () => { throw throttle(); }, opts())).rejects.toThrow('Op was still throttled after 3 attempts: Rate exceeded');
    class Custom extends Error {}
    await expect(retryThrottled('Op', async () => { throw throttle(); }, opts({ exhausted: (m: string) => new Custom(m) }))).rejects.toBeInstanceOf(Custom);
  });

  test('fullJitterBackoff stays under the cap', () => {
    expect(fullJitterBackoff(3, () => 1)).toBe(800);
    expect(fullJitterBackoff(20, () => 1)).toBe(20_000);
    expect(fullJitterBackoff(5, () => 0)).toBe(0);
  });
});
