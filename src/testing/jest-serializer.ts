// A Jest snapshot serializer that prints CloudFormation templates through TemplateNormalizer.normalize, so snapshots
// stay stable across asset hashes, the code version (git commit) and CDK metadata. Not part of the jsii API (Jest's
// plugin interface is a pair of functions), so it is not exported from the package index. Use it as
//
//   // package.json / jest.config: "snapshotSerializers": ["cdk-ml-platform/lib/testing/jest-serializer"]
//   // or in a test file:
//   import * as serializer from 'cdk-ml-platform/lib/testing/jest-serializer';
//   expect.addSnapshotSerializer(serializer);
//   expect(Template.fromStack(stack).toJSON()).toMatchSnapshot();
//
// No import from Jest: the types below are the parts of pretty-format's plugin interface this module uses.
import { TemplateNormalizer } from './template-normalizer';

/** pretty-format's printer callback (Jest passes it to `serialize`). */
type Printer = (val: unknown, config: unknown, indentation: string, depth: number, refs: unknown[]) => string;

/** Values this serializer produced: printed as they are, or `test` would match them again forever. */
const normalized = new WeakSet<object>();

/** An `aws-cdk-lib/assertions` Template (duck-typed, so this module loads without the assertions module). */
function isAssertionsTemplate(val: any): boolean {
  return typeof val?.toJSON === 'function' && typeof val?.hasResourceProperties === 'function';
}

/**
 * Whether `val` is a CloudFormation template (a plain object with a `Resources` object) or an `aws-cdk-lib/assertions`
 * Template that this serializer has not normalized yet.
 */
export function test(val: unknown): boolean {
  if (val === null || typeof val !== 'object' || Array.isArray(val) || normalized.has(val)) { return false; }
  if (isAssertionsTemplate(val)) { return true; }
  const resources = (val as any).Resources;
  return resources !== null && typeof resources === 'object' && !Array.isArray(resources);
}

/** Prints `TemplateNormalizer.normalize(val)` with Jest's own printer. */
export function serialize(val: unknown, config: unknown, indentation: string, depth: number, refs: unknown[], printer: Printer): string {
  const json = isAssertionsTemplate(val) ? (val as any).toJSON() : val;
  const out = TemplateNormalizer.normalize(json);
  normalized.add(out);
  return printer(out, config, indentation, depth, refs);
}
