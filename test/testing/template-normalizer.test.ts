import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, NestedStack, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import {
  DataLake, DataZone, EndpointVariant, GpuInstanceType, GpuTrainingPipeline, MlPlatformContext, ModelEndpoint, ModelRegistry,
  ModelSource, Objective, TrainingData, TrainingImage,
} from '../../src';
import { NormalizeOptions, TemplateNormalizer } from '../../src/testing';

const IMAGE = '123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud-train@sha256:' + 'a'.repeat(64);
const SHA_A = '1111111111111111111111111111111111111111';
const SHA_B = '2222222222222222222222222222222222222222-dirty';

/** A directory holding one Lambda handler with `body` as its code (an asset whose hash follows the content). */
function handlerDir(body: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kit-handler-'));
  fs.writeFileSync(path.join(dir, 'index.js'), `exports.handler = async () => ${body};\n`);
  return dir;
}

interface Variation {
  /** The user's own Lambda code (an unrelated asset). */
  readonly handler?: string;
  /** The code of a Lambda in a nested stack (changes the nested template and so its TemplateURL). */
  readonly nestedHandler?: string;
  readonly codeVersion?: string;
  readonly instanceType?: string;
}

/** A small platform (lake, registry, training pipeline, endpoint) next to the user's own Lambda assets. */
function synth(v: Variation = {}): { root: any; nested: any } {
  const app = new App({ postCliContext: { [MlPlatformContext.CODE_VERSION]: v.codeVersion ?? SHA_A } });
  const stack = new Stack(app, 'Platform');
  const lake = new DataLake(stack, 'Lake');
  const registry = new ModelRegistry(stack, 'Registry');
  new GpuTrainingPipeline(stack, 'Training', {
    dataLake: lake,
    registry,
    image: TrainingImage.fromUri(IMAGE),
    instanceType: GpuInstanceType.ML_G5_2XLARGE,
    objective: Objective.maximize('validation:auc'),
    trainingData: TrainingData.fromDataLake(lake, DataZone.CURATED, 'datasets/fraud/'),
  });
  new ModelEndpoint(stack, 'Endpoint', {
    dataLake: lake,
    model: ModelSource.fromLatestApproved(registry),
    variants: [EndpointVariant.instance({ instanceType: v.instanceType ?? 'ml.m5.xlarge' })],
  });
  new lambda.Function(stack, 'Enricher', {
    runtime: lambda.Runtime.NODEJS_24_X, handler: 'index.handler', code: lambda.Code.fromAsset(handlerDir(v.handler ?? '1')),
  });
  const nested = new NestedStack(stack, 'Jobs');
  new lambda.Function(nested, 'Cleaner', {
    runtime: lambda.Runtime.NODEJS_24_X, handler: 'index.handler', code: lambda.Code.fromAsset(handlerDir(v.nestedHandler ?? '2')),
  });
  return { root: Template.fromStack(stack).toJSON(), nested: Template.fromStack(nested).toJSON() };
}

const normalize = (t: any, options?: NormalizeOptions) => TemplateNormalizer.normalize(t, options);

describe('TemplateNormalizer on a synthesized platform', () => {
  const base = synth();

  test('an unrelated asset change leaves the normalized template unchanged', () => {
    // GIVEN the same platform with a different user Lambda and a different Lambda in a nested stack
    const changed = synth({ handler: '"changed"', nestedHandler: '"changed too"' });
    // THEN the raw templates differ (Code.S3Key, the nested stack's TemplateURL) ...
    expect(changed.root).not.toEqual(base.root);
    expect(changed.nested).not.toEqual(base.nested);
    // ... and the normalized ones do not
    expect(normalize(changed.root)).toEqual(normalize(base.root));
    expect(normalize(changed.nested)).toEqual(normalize(base.nested));
    expect(JSON.stringify(normalize(base.root))).toContain('"S3Key":"[ASSET HASH].zip"');
  });

  test('another code version (git commit) leaves the normalized template unchanged', () => {
    const other = synth({ codeVersion: SHA_B });
    expect(JSON.stringify(other.root)).toContain(SHA_B);
    expect(other.root).not.toEqual(base.root);
    const normalized = normalize(other.root);
    expect(normalized).toEqual(normalize(base.root));
    const text = JSON.stringify(normalized);
    expect(text).not.toContain('2222222');
    expect(text).toContain('{"Key":"ml-platform:code-version","Value":"[CODE VERSION]"}');
  });

  test('a real change still shows', () => {
    const bigger = normalize(synth({ instanceType: 'ml.g5.xlarge' }).root);
    expect(bigger).not.toEqual(normalize(base.root));
    expect(JSON.stringify(bigger)).toContain('"InstanceType":"ml.g5.xlarge"');
  });

  test('removes the bootstrap version check and does not modify its input', () => {
    const before = JSON.stringify(base.root);
    const normalized = normalize(base.root);
    expect(JSON.stringify(base.root)).toBe(before);
    expect(normalized.Rules?.CheckBootstrapVersion).toBeUndefined();
    expect(normalized.Parameters?.BootstrapVersion).toBeUndefined();
    expect(base.root.Rules.CheckBootstrapVersion).toBeDefined();
    expect(normalize(base.root, { keepBootstrapVersion: true }).Rules.CheckBootstrapVersion).toEqual(base.root.Rules.CheckBootstrapVersion);
    // idempotent
    expect(normalize(normalized)).toEqual(normalized);
  });
});

describe('TemplateNormalizer rules', () => {
  const HASH = 'ab'.repeat(32);
  const OTHER = 'cd'.repeat(32);

  test('asset hashes in keys, Fn::Sub/Fn::Join parts, Helm chart URLs and container image tags; digests stay', () => {
    const t = normalize({
      Resources: {
        Fn: { Type: 'AWS::Lambda::Function', Properties: { Code: { S3Bucket: { 'Fn::Sub': 'cdk-hnb659fds-assets-${AWS::AccountId}-${AWS::Region}' }, S3Key: `${HASH}.zip` } } },
        Nested: { Type: 'AWS::CloudFormation::Stack', Properties: { TemplateURL: { 'Fn::Join': ['', ['https://s3.', { Ref: 'AWS::Region' }, '.', { Ref: 'AWS::URLSuffix' }, '/', { 'Fn::Sub': 'cdk-hnb659fds-assets-${AWS::AccountId}-${AWS::Region}' }, `/${OTHER}.json`]] } } },
        Chart: { Type: 'Custom::AWSCDK-EKS-HelmChart', Properties: { ChartAssetURL: { 'Fn::Join': ['', ['s3://', 'bucket', `/${HASH}.zip`]] }, Revision: OTHER } },
        Manifest: {
          Type: 'Custom::AWSCDK-EKS-KubernetesResource',
          Properties: { Manifest: { 'Fn::Join': ['', ['[{"image":"', { Ref: 'AWS::AccountId' }, `.dkr.ecr.us-east-1.amazonaws.com/cdk-hnb659fds-container-assets-123456789012-us-east-1:${HASH}"},{"image":"repo@sha256:${OTHER}"}]`]] } },
        },
        Model: { Type: 'AWS::SageMaker::Model', Properties: { PrimaryContainer: { Image: `repo@sha256:${OTHER}` } } },
      },
    });
    expect(t.Resources.Fn.Properties.Code).toEqual({ S3Bucket: { 'Fn::Sub': 'cdk-hnb659fds-assets-${AWS::AccountId}-${AWS::Region}' }, S3Key: '[ASSET HASH].zip' });
    expect(t.Resources.Nested.Properties.TemplateURL['Fn::Join'][1][6]).toBe('/[ASSET HASH].json');
    expect(t.Resources.Chart.Properties).toEqual({ ChartAssetURL: { 'Fn::Join': ['', ['s3://', 'bucket', '/[ASSET HASH].zip']] }, Revision: '[ASSET HASH]' });
    expect(t.Resources.Manifest.Properties.Manifest['Fn::Join'][1][2])
      .toBe(`.dkr.ecr.us-east-1.amazonaws.com/cdk-hnb659fds-container-assets-123456789012-us-east-1:[ASSET HASH]"},{"image":"repo@sha256:${OTHER}"}]`);
    expect(t.Resources.Model.Properties.PrimaryContainer.Image).toBe(`repo@sha256:${OTHER}`);
  });

  test('legacy asset parameters, Lambda version logical ids and metadata', () => {
    const param = `AssetParameters${HASH}S3BucketABCDEF12`;
    const raw = {
      Parameters: { [param]: { Type: 'String' }, [`AssetParameters${OTHER}S3BucketFEDCBA98`]: { Type: 'String' } },
      Conditions: { CDKMetadataAvailable: { 'Fn::Equals': ['a', 'a'] } },
      Resources: {
        FnCurrentVersion0123456789abcdef0123456789abcdef: { Type: 'AWS::Lambda::Version', Metadata: { 'aws:cdk:path': 'S/Fn/CurrentVersion', 'aws:asset:path': `asset.${HASH}`, 'cfn_nag': 'x' } },
        Alias: { Type: 'AWS::Lambda::Alias', Properties: { FunctionVersion: { 'Fn::GetAtt': ['FnCurrentVersion0123456789abcdef0123456789abcdef', 'Version'] }, Bucket: { Ref: param } } },
        CDKMetadata: { Type: 'AWS::CDK::Metadata', Properties: { Analytics: 'v2:deflate64:xyz' }, Condition: 'CDKMetadataAvailable' },
      },
    };
    const t = normalize(raw);
    expect(Object.keys(t.Parameters)).toEqual(['AssetParameters[ASSET HASH]S3Bucket[HASH]', 'AssetParameters[ASSET HASH]S3Bucket[HASH] #2']);
    expect(t.Conditions).toBeUndefined();
    expect(t.Resources).toEqual({
      'FnCurrentVersion[HASH]': { Type: 'AWS::Lambda::Version', Metadata: { cfn_nag: 'x' } },
      'Alias': { Type: 'AWS::Lambda::Alias', Properties: { FunctionVersion: { 'Fn::GetAtt': ['FnCurrentVersion[HASH]', 'Version'] }, Bucket: { Ref: 'AssetParameters[ASSET HASH]S3Bucket[HASH]' } } },
    });
    const kept = normalize(raw, { keepMetadata: true });
    expect(kept.Resources['FnCurrentVersion[HASH]'].Metadata).toEqual({ 'aws:cdk:path': 'S/Fn/CurrentVersion', 'aws:asset:path': 'asset.[ASSET HASH]', 'cfn_nag': 'x' });
    expect(kept.Resources.CDKMetadata).toBeDefined();
  });

  test('code version everywhere it occurs; short versions only as whole values; extra tag keys and patterns', () => {
    const raw = {
      Parameters: { CodeVersion: { Type: 'String', Default: 'release-2026.11' } },
      Resources: {
        Fn: {
          Type: 'AWS::Lambda::Function',
          Properties: {
            Environment: { Variables: { LOOP_CODE_VERSION: 'v1', BUILD: 'build-4711', STAMP: 'deployed 2026-11-30T12:00:00Z' } },
            Tags: [{ Key: 'ml-platform:code-version', Value: 'v1' }, { Key: 'ci:build', Value: 'build-4711' }],
          },
        },
        Card: { Type: 'AWS::SageMaker::ModelCard', Properties: { Content: { custom: { code_version: SHA_A }, note: `built from ${SHA_A}` }, Tags: [{ Key: 'ml-platform:code-version', Value: SHA_A }] } },
        Config: { Type: 'AWS::Lambda::Function', Properties: { Runtime: 'v1-compatible', ApiVersion: 'v1' } },
        Param: { Type: 'AWS::SSM::Parameter', Properties: { Tags: { 'ml-platform:code-version': 'v1' } } },
      },
    };
    const t = normalize(raw, { extraVolatileTagKeys: ['ci:build'], extraVolatilePatterns: ['\\d{4}-\\d\\d-\\d\\dT[\\d:]+Z'] });
    expect(t.Parameters.CodeVersion.Default).toBe('[CODE VERSION]');
    expect(t.Resources.Fn.Properties.Environment.Variables).toEqual({ LOOP_CODE_VERSION: '[CODE VERSION]', BUILD: '[VOLATILE]', STAMP: 'deployed [VOLATILE]' });
    expect(t.Resources.Fn.Properties.Tags).toEqual([{ Key: 'ml-platform:code-version', Value: '[CODE VERSION]' }, { Key: 'ci:build', Value: '[VOLATILE]' }]);
    expect(t.Resources.Card.Properties.Content).toEqual({ custom: { code_version: '[CODE VERSION]' }, note: 'built from [CODE VERSION]' });
    // 'v1' is a whole-value match only: a short code version must not rewrite other text
    expect(t.Resources.Config.Properties).toEqual({ Runtime: 'v1-compatible', ApiVersion: '[CODE VERSION]' });
    expect(t.Resources.Param.Properties.Tags).toEqual({ 'ml-platform:code-version': '[CODE VERSION]' });
  });

  test('leaves anything that is not a template object alone', () => {
    expect(normalize(null)).toBeNull();
    expect(normalize('text')).toBe('text');
    expect(normalize([1])).toEqual([1]);
  });
});
