// Test kit for platform repos' snapshot tests. The Jest serializer (./jest-serializer) is deliberately not exported:
// Jest's plugin interface is not jsii-compatible; load it by path (`cdk-ml-platform/lib/testing/jest-serializer`).
export * from './template-normalizer';
export * from './iam-statements';
