import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Stack, Token } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { MlPlatformContext } from '../../src';
import {
  CODE_VERSION_TAG, COMPONENT_TAG, DATA_VERSION_TAG, IMAGE_TAG, MODEL_PACKAGE_TAG, applyLineageTags, applyModelLineageTags, codeVersion,
  dataVersionOfUrl, gitCodeVersion, lineageTagValue,
} from '../../src/core/lineage';
import { isValidTagValue, sanitizeTagValue } from '../../src/core/tag-value';

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

describe('code version from git', () => {
  const repoRoot = path.join(__dirname, '..', '..');
  const git = (...args: string[]) => execFileSync('git', args, { cwd: repoRoot, encoding: 'utf8' }).trim();

  test('the jest run turns the fallback off through CDK_CONTEXT_JSON, so templates do not depend on the commit', () => {
    expect(JSON.parse(process.env.CDK_CONTEXT_JSON!)).toEqual(expect.objectContaining({ [MlPlatformContext.CODE_VERSION_FROM_GIT]: false }));
    // This checkout is a git repository, yet a plain App in this worker gets no code version.
    expect(git('rev-parse', 'HEAD')).toMatch(/^[0-9a-f]{40}$/);
    expect(codeVersion(new Stack(new App(), 'S'))).toBeUndefined();
    const [queue] = Object.values(tagged()) as any[];
    expect(queue.Properties.Tags).toEqual([{ Key: COMPONENT_TAG, Value: 'training' }]);
  });

  test('enabled explicitly, the code version is the real `git rev-parse HEAD` (with -dirty for uncommitted changes)', () => {
    const sha = git('rev-parse', 'HEAD');
    const app = new App({ postCliContext: { [MlPlatformContext.CODE_VERSION_FROM_GIT]: true } });
    const version = codeVersion(new Stack(app, 'S'));
    expect(version).toMatch(new RegExp(`^${sha}(-dirty)?$`));
    expect(version).toBe(gitCodeVersion(process.cwd()));
    expect(isValidTagValue(version!)).toBe(true);
  });

  test('the git fallback tags resources; the context key wins over git', () => {
    const stack = new Stack(new App({ postCliContext: { [MlPlatformContext.CODE_VERSION_FROM_GIT]: 'true' } }), 'S');
    new sqs.Queue(stack, 'Queue', { enforceSSL: true });
    applyLineageTags(stack, 'serving');
    const [queue] = Object.values(Template.fromStack(stack).findResources('AWS::SQS::Queue')) as any[];
    expect(queue.Properties.Tags).toEqual(expect.arrayContaining([{ Key: CODE_VERSION_TAG, Value: gitCodeVersion() }]));

    const pinned = new App({ postCliContext: { [MlPlatformContext.CODE_VERSION_FROM_GIT]: true, [MlPlatformContext.CODE_VERSION]: 'v2.0.0' } });
    expect(codeVersion(new Stack(pinned, 'S'))).toBe('v2.0.0');
  });

  test('dirty detection: a changed tracked file marks the version -dirty, untracked files do not', () => {
    const dir = fs.mkdtempSync(path.join(process.env.ORIGINAL_TMPDIR ?? os.tmpdir(), 'lineage-git-'));
    try {
      const run = (...args: string[]) => execFileSync('git', args, { cwd: dir, stdio: 'ignore' });
      run('init', '-q');
      fs.writeFileSync(path.join(dir, 'app.ts'), 'one');
      run('add', 'app.ts');
      run('-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-q', '-m', 'one');
      const sha = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: dir, encoding: 'utf8' }).trim();
      fs.writeFileSync(path.join(dir, 'untracked.txt'), 'x');
      expect(gitCodeVersion(dir)).toBe(sha);
      // Computed once per process and directory: later changes in the same directory are not seen.
      fs.writeFileSync(path.join(dir, 'app.ts'), 'two');
      expect(gitCodeVersion(dir)).toBe(sha);
      const sub = path.join(dir, 'sub');
      fs.mkdirSync(sub);
      expect(gitCodeVersion(sub)).toBe(`${sha}-dirty`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('no repository, no commit yet, or no git: undefined, never an error', () => {
    const dir = fs.mkdtempSync(path.join(process.env.ORIGINAL_TMPDIR ?? os.tmpdir(), 'lineage-nogit-'));
    try {
      // Git must not find a repository above the temp directory.
      process.env.GIT_CEILING_DIRECTORIES = path.dirname(dir);
      expect(gitCodeVersion(dir)).toBeUndefined();
      const empty = path.join(dir, 'empty');
      fs.mkdirSync(empty);
      execFileSync('git', ['init', '-q'], { cwd: empty, stdio: 'ignore' });
      expect(gitCodeVersion(empty)).toBeUndefined();
      expect(gitCodeVersion(dir, path.join(dir, 'no-such-git'))).toBeUndefined();
    } finally {
      delete process.env.GIT_CEILING_DIRECTORIES;
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('model lineage tags', () => {
  test('values are sanitized to the tag charset and 256 characters; tokens stay', () => {
    expect(sanitizeTagValue('s3://b/k (1).tar.gz')).toBe('s3://b/k _1_.tar.gz');
    const long = sanitizeTagValue(`123456789012.dkr.ecr.us-east-1.amazonaws.com/${'r'.repeat(300)}:1`);
    expect(Array.from(long)).toHaveLength(256);
    expect(long).toMatch(/\+sha256:[0-9a-f]{64}$/);
    expect(isValidTagValue(long)).toBe(true);
    expect(sanitizeTagValue('ok:v1')).toBe('ok:v1');
    const token = Token.asString({ Ref: 'X' });
    expect(lineageTagValue(token)).toBe(token);
  });

  test('data version of a URL: the URL when tag-safe, else its digest', () => {
    expect(dataVersionOfUrl('s3://models/fraud/model.tar.gz')).toBe('s3://models/fraud/model.tar.gz');
    expect(dataVersionOfUrl('s3://models/fraud (copy)/model.tar.gz')).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(dataVersionOfUrl(`s3://models/${'k'.repeat(300)}`)).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  test('image, data version and model package on the given resources only', () => {
    const stack = new Stack(new App(), 'S');
    const a = new sqs.Queue(stack, 'A', { enforceSSL: true });
    new sqs.Queue(stack, 'B', { enforceSSL: true });
    applyModelLineageTags([a], { image: 'img:1', dataVersion: 'sha256:ab', modelPackage: 'arn:aws:sagemaker:us-east-1:1:model-package/g/1' });
    const queues = Template.fromStack(stack).findResources('AWS::SQS::Queue') as any;
    const tagsOf = (prefix: string) => Object.entries(queues).find(([id]) => id.startsWith(prefix))![1] as any;
    expect(tagsOf('A').Properties.Tags).toEqual(expect.arrayContaining([
      { Key: IMAGE_TAG, Value: 'img:1' }, { Key: DATA_VERSION_TAG, Value: 'sha256:ab' },
      { Key: MODEL_PACKAGE_TAG, Value: 'arn:aws:sagemaker:us-east-1:1:model-package/g/1' },
    ]));
    expect(tagsOf('B').Properties?.Tags).toBeUndefined();
  });
});
