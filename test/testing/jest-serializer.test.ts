import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { MlPlatformContext, ModelRegistry } from '../../src';
import * as serializer from '../../src/testing/jest-serializer';

/** A registry (tagged with the code version) and the user's own Lambda, whose asset hash follows `body`. */
function stack(body: string, codeVersion: string): Stack {
  const app = new App({ postCliContext: { [MlPlatformContext.CODE_VERSION]: codeVersion } });
  const s = new Stack(app, 'Kit');
  new ModelRegistry(s, 'Registry');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kit-serializer-'));
  fs.writeFileSync(path.join(dir, 'index.js'), `exports.handler = async () => ${body};\n`);
  new lambda.Function(s, 'Scorer', { runtime: lambda.Runtime.NODEJS_24_X, handler: 'index.handler', code: lambda.Code.fromAsset(dir) });
  return s;
}

/** What Jest prints through the serializer, with JSON standing in for Jest's own printer. */
const print = (val: unknown) => serializer.serialize(val, {}, '', 0, [], v => JSON.stringify(v, null, 2));

describe('jest serializer', () => {
  expect.addSnapshotSerializer(serializer);

  test('snapshot of a template with assets and a code version', () => {
    expect(Template.fromStack(stack('1', 'abcdef0123456789')).toJSON()).toMatchSnapshot();
  });

  test('prints the same for an unrelated asset change and another code version', () => {
    const a = Template.fromStack(stack('1', 'abcdef0123456789')).toJSON();
    const b = Template.fromStack(stack('"other"', '9876543210fedcba-dirty')).toJSON();
    expect(JSON.stringify(a)).not.toEqual(JSON.stringify(b));
    expect(print(b)).toEqual(print(a));
    expect(print(a)).toContain('"S3Key": "[ASSET HASH].zip"');
    expect(print(a)).toContain('"Value": "[CODE VERSION]"');
  });

  test('recognizes templates and assertions Templates, nothing else', () => {
    const t = Template.fromStack(stack('1', 'abcdef0123456789'));
    expect(serializer.test(t.toJSON())).toBe(true);
    expect(serializer.test(t)).toBe(true);
    expect(print(t)).toEqual(print(t.toJSON()));
    expect(serializer.test({ Resources: [] })).toBe(false);
    expect(serializer.test({ Type: 'AWS::S3::Bucket' })).toBe(false);
    expect(serializer.test(null)).toBe(false);
    expect(serializer.test('Resources')).toBe(false);
  });
});
