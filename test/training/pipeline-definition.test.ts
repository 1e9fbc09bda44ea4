import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Stack, Token } from 'aws-cdk-lib';
import {
  PipelineDefinition, checkDefinition, conditionStep, failStep, get, lambdaStep, stepOutput, tokenizeDefinition, trainingStep,
} from '../../src/training/pipeline-definition';
import { handler, renderDefinition, writeDefinition } from '../../src/training/pipeline-definition.lambda';
import { MotoServer, motoClientConfig, startMoto } from '../support/moto';

function definition(steps = [
  lambdaStep({ name: 'A', functionArn: 'arn:aws:lambda:us-east-1:1:function:a', args: { x: get('Parameters.P') }, outputs: [{ OutputName: 'o', OutputType: 'String' }] }),
  trainingStep({ name: 'B', dependsOn: ['A'], args: { In: stepOutput('A', 'o') } }),
  conditionStep({
    name: 'C',
    dependsOn: ['B'],
    conditions: [{ Type: 'Equals', LeftValue: stepOutput('A', 'o'), RightValue: 'yes' }],
    ifSteps: [failStep({ name: 'D', errorMessage: 'no' })],
    elseSteps: [],
  }),
]): PipelineDefinition {
  return { Version: '2020-12-01', Metadata: {}, Parameters: [{ Name: 'P', Type: 'String', DefaultValue: 'v' }], Steps: steps };
}

describe('definition graph checks', () => {
  test('a sound graph has no problems', () => {
    expect(checkDefinition(definition())).toEqual([]);
  });

  test('unknown dependencies, references, parameters and duplicate or invalid names are reported', () => {
    const problems = checkDefinition(definition([
      lambdaStep({ name: 'A', functionArn: 'f', args: { x: get('Parameters.Missing'), y: stepOutput('Nope', 'o') }, outputs: [] }),
      trainingStep({ name: 'A', dependsOn: ['Ghost'], args: {} }),
      failStep({ name: 'bad name!', errorMessage: 'x' }),
    ]));
    expect(problems).toEqual(expect.arrayContaining([
      "step name 'A' is used twice",
      "step 'A' depends on unknown step 'Ghost'",
      "step 'A' references unknown parameter 'Missing'",
      "step 'A' references unknown step 'Nope' (Steps.Nope.OutputParameters['o'])",
      "step name 'bad name!' must be 1-64 letters, digits, '-' or '_'",
    ]));
  });
});

describe('definition tokens become markers', () => {
  test('tokens are replaced by markers and collected once each; literals stay', () => {
    const stack = new Stack();
    const def = definition([lambdaStep({
      name: 'A',
      functionArn: `arn:aws:lambda:${stack.region}:${stack.account}:function:f`,
      args: { region: stack.region, plain: 'literal' },
      outputs: [],
    })]);
    const { template, substitutions } = tokenizeDefinition(def);
    expect(template).not.toMatch(/\$\{Token/);
    expect(JSON.parse(template).Steps[0].FunctionArn).toBe('arn:aws:lambda:@@cdkml:0@@:@@cdkml:1@@:function:f');
    expect(JSON.parse(template).Steps[0].Arguments).toEqual({ region: '@@cdkml:0@@', plain: 'literal' });
    expect(stack.resolve(substitutions)).toEqual({ m0: { Ref: 'AWS::Region' }, m1: { Ref: 'AWS::AccountId' } });
  });

  test('number tokens are refused', () => {
    const stack = new Stack();
    expect(() => tokenizeDefinition(definition([trainingStep({ name: 'T', args: { n: 3 } })]))).not.toThrow();
    const token = Token.asNumber(stack.account);
    expect(() => tokenizeDefinition(definition([trainingStep({ name: 'T', args: { n: token } })]))).toThrow(/number token/);
  });

  test('renderDefinition escapes values for their JSON string and rejects unknown markers', () => {
    expect(JSON.parse(renderDefinition('{"a":"x-@@cdkml:0@@-y"}', { m0: 'q"uote\\back' })).a).toBe('x-q"uote\\back-y');
    expect(() => renderDefinition('{"a":"@@cdkml:3@@"}', {})).toThrow('marker m3 but no value');
    expect(() => renderDefinition('{"a": @@cdkml:0@@}', { m0: 'x' })).toThrow('not valid JSON');
  });
});

describe('definition writer against moto_server (S3)', () => {
  let moto: MotoServer;
  let s3: S3Client;
  beforeAll(async () => {
    moto = await startMoto();
    s3 = new S3Client({ ...motoClientConfig(moto.endpoint), forcePathStyle: true });
    await s3.send(new CreateBucketCommand({ Bucket: 'assets' }));
    await s3.send(new CreateBucketCommand({ Bucket: 'models' }));
  });
  afterAll(async () => { s3?.destroy(); await moto?.stop(); });

  test('renders the template into a content-addressed key; same content, same key', async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'assets', Key: 't.json', Body: '{"Role":"@@cdkml:0@@"}' }));
    const props = { TemplateBucket: 'assets', TemplateKey: 't.json', Substitutions: { m0: 'arn:aws:iam::1:role/r' }, TargetBucket: 'models', TargetPrefix: 'pipelines/p/definitions/' };
    const first = await writeDefinition(props, s3);
    expect(first.Key).toMatch(/^pipelines\/p\/definitions\/definition-[0-9a-f]{64}\.json$/);
    const body = await (await s3.send(new GetObjectCommand({ Bucket: 'models', Key: first.Key }))).Body!.transformToString();
    expect(JSON.parse(body)).toEqual({ Role: 'arn:aws:iam::1:role/r' });
    expect((await writeDefinition(props, s3)).Key).toBe(first.Key);
    const changed = await writeDefinition({ ...props, Substitutions: { m0: 'arn:aws:iam::1:role/other' } }, s3);
    expect(changed.Key).not.toBe(first.Key);
  });

  test('Delete keeps the object and the physical id', async () => {
    await expect(handler({ RequestType: 'Delete', PhysicalResourceId: 's3://models/x', ResourceProperties: {} as any }))
      .resolves.toEqual({ PhysicalResourceId: 's3://models/x' });
  });
});
