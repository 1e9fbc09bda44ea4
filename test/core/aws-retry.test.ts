import { defaultSleep, isThrottling } from '../../src/core/aws-retry';

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
