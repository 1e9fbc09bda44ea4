import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { MlPlatformContext } from '../../src';
import { isContextTrue, resolveStatefulRemovalPolicy } from '../../src/core/removal-policy';

function scopeWith(context?: Record<string, unknown>): Construct {
  return new Construct(new Stack(new App({ context }), 'Stack'), 'Store');
}

describe('stateful removal policy', () => {
  test('defaults to RETAIN without deleting data', () => {
    expect(resolveStatefulRemovalPolicy(scopeWith(), 'Store')).toEqual({ policy: RemovalPolicy.RETAIN, deleteData: false });
  });

  test.each([RemovalPolicy.RETAIN, RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE])('keeps %s as given', (policy) => {
    expect(resolveStatefulRemovalPolicy(scopeWith(), 'Store', policy)).toEqual({ policy, deleteData: false });
  });

  test.each([true, 'true'])('DESTROY with the context key = %p deletes data', (value) => {
    const scope = scopeWith({ [MlPlatformContext.REMOVE_DATA_ON_DESTROY]: value });
    expect(resolveStatefulRemovalPolicy(scope, 'Store', RemovalPolicy.DESTROY)).toEqual({ policy: RemovalPolicy.DESTROY, deleteData: true });
  });

  test.each([undefined, false, 'false', 'TRUE', 1])('DESTROY with the context key = %p fails with the fix', (value) => {
    const scope = scopeWith(value === undefined ? undefined : { [MlPlatformContext.REMOVE_DATA_ON_DESTROY]: value });
    expect(() => resolveStatefulRemovalPolicy(scope, 'Store', RemovalPolicy.DESTROY))
      .toThrow(/^\[Store\.DestroyRequiresOptIn\] removalPolicy DESTROY would delete every object Store holds.*set the context key 'cdk-ml-platform:removeDataOnDestroy' to true.*\(at Stack\/Store\)$/);
  });

  test('SNAPSHOT fails unless the resource supports it', () => {
    expect(() => resolveStatefulRemovalPolicy(scopeWith(), 'Store', RemovalPolicy.SNAPSHOT)).toThrow(/\[Store\.SnapshotNotSupported\]/);
    expect(resolveStatefulRemovalPolicy(scopeWith(), 'Store', RemovalPolicy.SNAPSHOT, true))
      .toEqual({ policy: RemovalPolicy.SNAPSHOT, deleteData: false });
  });

  test('isContextTrue accepts only true and "true"', () => {
    expect(isContextTrue(scopeWith({ k: true }), 'k')).toBe(true);
    expect(isContextTrue(scopeWith({ k: 'true' }), 'k')).toBe(true);
    expect(isContextTrue(scopeWith({ k: 'yes' }), 'k')).toBe(false);
    expect(isContextTrue(scopeWith(), 'k')).toBe(false);
  });
});
