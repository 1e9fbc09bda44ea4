import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { MlPlatformContext } from '../../src';
import { CODE_VERSION_TAG, COMPONENT_TAG, applyLineageTags, codeVersion } from '../../src/core/lineage';

function tagged(context?: Record<string, unknown>) {
  const stack = new Stack(new App({ context }), 'Stack');
  new sqs.Queue(stack, 'Queue', { enforceSSL: true });
  applyLineageTags(stack, 'training');
  return Template.fromStack(stack).findResources('AWS::SQS::Queue');
}

describe('lineage tags', () => {
  test('adds the component tag and no code version when the context key is unset', () => {
    const [queue] = Object.values(tagged()) as any[];
    expect(queue.Properties.Tags).toEqual([{ Key: COMPONENT_TAG, Value: 'training' }]);
  });

  test('adds the code version from context', () => {
    const [queue] = Object.values(tagged({ [MlPlatformContext.CODE_VERSION]: 'v1.4.2+9f8e7d6' })) as any[];
    expect(queue.Properties.Tags).toEqual(expect.arrayContaining([
      { Key: COMPONENT_TAG, Value: 'training' },
      { Key: CODE_VERSION_TAG, Value: 'v1.4.2+9f8e7d6' },
    ]));
  });

  test('treats an empty code version as unset', () => {
    const stack = new Stack(new App({ context: { [MlPlatformContext.CODE_VERSION]: '' } }), 'S');
    expect(codeVersion(stack)).toBeUndefined();
  });

  test.each([['a character tags reject', 'v1;rm -rf'], ['more than 256 characters', 'a'.repeat(257)]])('rejects a code version with %s', (_n, value) => {
    expect(() => tagged({ [MlPlatformContext.CODE_VERSION]: value }))
      .toThrow(/\[Lineage\.InvalidCodeVersion\] context 'cdk-ml-platform:codeVersion' must be a valid AWS tag value.*\(at Stack\)/);
  });
});
