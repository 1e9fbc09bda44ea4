import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as cdk from 'aws-cdk-lib';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as ts from 'typescript';
import * as lib from '../src';

/** What the quick start may import, resolved the way a user's app would (the library from src/). */
const MODULES: Record<string, unknown> = {
  'cdk-ml-platform': lib,
  'aws-cdk-lib': cdk,
  'aws-cdk-lib/aws-iam': iam,
  'aws-cdk-lib/aws-s3': s3,
};

/**
 * The README's quick start must keep working: it is compiled, run against src/ and synthesized.
 * (cdk-nag is not applied: the quick start grants to the user's own role, whose findings are the user's
 * to acknowledge, as the README's cdk-nag section explains; the examples are nag-checked.)
 */
test('README quick start synthesizes', () => {
  const readme = fs.readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Quick start'));
  const code = /```ts\n([\s\S]*?)```/.exec(section)![1];
  expect(code).toContain("from 'cdk-ml-platform'");
  // A full platform in at most 20 lines of user code (comments and blank lines aside).
  const codeLines = code.split('\n').filter(l => l.trim() !== '' && !l.trim().startsWith('//'));
  expect(codeLines.length).toBeLessThanOrEqual(20);

  const js = ts.transpileModule(`${code}\nexport const quickStartApp = app;`, {
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 },
  }).outputText;
  const mod = { exports: {} as any };
  // The quick start's `new App()` reads context from the environment, as under `cdk synth`: keep its
  // feature schema lock out of the repository.
  const lockDir = fs.mkdtempSync(path.join(os.tmpdir(), 'readme-'));
  process.env.CDK_CONTEXT_JSON = JSON.stringify({
    'cdk-ml-platform:featureSchemaLockFile': path.join(lockDir, 'feature-schemas.lock.json'),
    'cdk-ml-platform:frozenFeatureSchemas': 'false',
  });
  const localRequire = (id: string) => {
    if (!(id in MODULES)) { throw new Error(`the README quick start imports '${id}'; add it to MODULES in this test`); }
    return MODULES[id];
  };
  try {
    new Function('require', 'module', 'exports', js)(localRequire, mod, mod.exports);
  } finally {
    delete process.env.CDK_CONTEXT_JSON;
  }

  const app: App = mod.exports.quickStartApp;
  const assembly = app.synth();
  expect(assembly.stacks.map(s => s.stackName)).toEqual(['FraudPlatform']);
  const stack = app.node.findChild('FraudPlatform') as cdk.Stack;
  const template = Template.fromStack(stack);
  // The platform: lake, audit trail, personas, and the model's nested stack.
  template.resourceCountIs('AWS::CloudFormation::Stack', 1);
  template.resourceCountIs('AWS::CloudTrail::Trail', 1);
  template.resourceCountIs('AWS::Glue::Database', 1);
  expect(Object.keys(template.findResources('AWS::IAM::Role')).filter(id => id.startsWith('PlatformPersonas'))).toHaveLength(3);
  // The model: registry, pipeline, endpoint, loop, named after the platform.
  const nested = stack.node.findAll().find((c): c is cdk.NestedStack => c instanceof cdk.NestedStack)!;
  const model = Template.fromStack(nested);
  model.hasResourceProperties('AWS::SageMaker::ModelPackageGroup', { ModelPackageGroupName: 'fraud-scoring' });
  model.hasResourceProperties('AWS::SageMaker::Pipeline', { PipelineName: 'fraud-scoring' });
  model.hasResourceProperties('AWS::SageMaker::Endpoint', { EndpointName: 'fraud-scoring' });
  expect(Object.keys(model.findResources('AWS::StepFunctions::StateMachine')).some(id => id.includes('LoopStateMachine'))).toBe(true);
});
