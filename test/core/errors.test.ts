import { Duration, Stack } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { MlPlatformError, ValidationErrors, describeValue, isResolved, mlError } from '../../src/core/errors';

describe('coded errors', () => {
  const scope = () => new Construct(new Stack(undefined, 'Stack'), 'Thing');

  test('mlError: [Construct.Code] what, got value; fix (at path)', () => {
    const e = mlError(scope(), 'DataLake', { code: 'InvalidLifecycle', what: 'expiry must be whole days', got: Duration.hours(5), fix: 'use Duration.days(n)' });
    expect(e).toBeInstanceOf(MlPlatformError);
    expect(e.message).toBe('[DataLake.InvalidLifecycle] expiry must be whole days, got 5 hours; use Duration.days(n) (at Stack/Thing)');
    expect(e.codes).toEqual(['DataLake.InvalidLifecycle']);
    expect(e.constructPath).toBe('Stack/Thing');
  });

  test('omits "got" when no value is given', () => {
    const e = mlError(scope(), 'X', { code: 'C', what: 'w', fix: 'f' });
    expect(e.message).toBe('[X.C] w; f (at Stack/Thing)');
  });

  test('ValidationErrors collects every problem and throws once, each line with its code and path', () => {
    const errors = new ValidationErrors(scope(), 'DataLake');
    expect(errors.check(true, { code: 'A', what: 'never', fix: 'x' })).toBe(true);
    expect(errors.check(false, { code: 'A', what: 'first', got: 1, fix: 'x' })).toBe(false);
    errors.add({ code: 'B', what: 'second', got: 'v', fix: 'y' });
    expect(errors.isEmpty).toBe(false);
    expect(() => errors.throwIfAny()).toThrow(
      '2 problems with DataLake input:\n' +
      '  - [DataLake.A] first, got 1; x (at Stack/Thing)\n' +
      "  - [DataLake.B] second, got 'v'; y (at Stack/Thing)");
  });

  test('ValidationErrors with nothing recorded does not throw', () => {
    const errors = new ValidationErrors(scope(), 'DataLake');
    expect(errors.isEmpty).toBe(true);
    expect(() => errors.throwIfAny()).not.toThrow();
  });

  test('describeValue renders values and names tokens', () => {
    const stack = new Stack();
    expect(describeValue('a')).toBe("'a'");
    expect(describeValue(3)).toBe('3');
    expect(describeValue(undefined)).toBe('undefined');
    expect(describeValue(null)).toBe('null');
    expect(describeValue({ a: [1] })).toBe('{"a":[1]}');
    expect(describeValue(Duration.days(2))).toBe('2 days');
    expect(describeValue(stack.account)).toBe('(an unresolved token)');
    const cyclic: any = {}; cyclic.self = cyclic;
    expect(describeValue(cyclic)).toBe('[object Object]');
  });

  test('isResolved tells tokens from literals', () => {
    const stack = new Stack();
    expect(isResolved('x')).toBe(true);
    expect(isResolved(stack.region)).toBe(false);
  });
});
