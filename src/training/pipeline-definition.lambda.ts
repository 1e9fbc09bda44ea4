// Custom resource handler: renders a SageMaker pipeline definition template (shipped as an asset, with
// markers where deploy-time values go) and writes the result to S3 under a content-addressed key, so the
// AWS::SageMaker::Pipeline resource changes (and updates the pipeline) exactly when the definition does.
import { createHash } from 'crypto';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';

/** Properties the construct passes. */
export interface DefinitionProperties {
  readonly TemplateBucket: string;
  readonly TemplateKey: string;
  /** Marker id (`m0`, `m1`, …) → deploy-time value. */
  readonly Substitutions?: Record<string, string>;
  readonly TargetBucket: string;
  /** Key prefix; the object is written as `<prefix>/definition-<sha256>.json`. */
  readonly TargetPrefix: string;
}

const MARKER = /@@cdkml:(\d+)@@/g;

/** Replaces every marker by its value, escaped for its place inside a JSON string, and checks the result parses. */
export function renderDefinition(template: string, substitutions: Record<string, string>): string {
  const rendered = template.replace(MARKER, (_m, i: string) => {
    const value = substitutions[`m${i}`];
    if (value === undefined) {
      throw new Error(`The pipeline definition template has marker m${i} but no value for it was passed`);
    }
    // The marker always sits inside a JSON string literal.
    return JSON.stringify(String(value)).slice(1, -1);
  });
  try {
    JSON.parse(rendered);
  } catch (e) {
    throw new Error(`The rendered pipeline definition is not valid JSON: ${(e as Error).message}`);
  }
  return rendered;
}

/** Renders and writes the definition; returns where it went. */
export async function writeDefinition(props: DefinitionProperties, s3: S3Client): Promise<{ Bucket: string; Key: string; Sha256: string }> {
  const template = await s3.send(new GetObjectCommand({ Bucket: props.TemplateBucket, Key: props.TemplateKey }));
  const text = await template.Body!.transformToString('utf-8');
  const rendered = renderDefinition(text, props.Substitutions ?? {});
  const sha256 = createHash('sha256').update(rendered).digest('hex');
  const key = `${props.TargetPrefix.replace(/\/+$/, '')}/definition-${sha256}.json`;
  await s3.send(new PutObjectCommand({ Bucket: props.TargetBucket, Key: key, Body: rendered, ContentType: 'application/json' }));
  return { Bucket: props.TargetBucket, Key: key, Sha256: sha256 };
}

/** The subset of the CloudFormation custom resource event this handler reads. */
export interface DefinitionEvent {
  readonly RequestType: 'Create' | 'Update' | 'Delete';
  readonly PhysicalResourceId?: string;
  readonly ResourceProperties: DefinitionProperties;
}

let client: S3Client | undefined;

/** Provider-framework onEvent handler. */
export async function handler(event: DefinitionEvent) {
  if (event.RequestType === 'Delete') {
    // Definitions are kept (versioned, content-addressed): past executions stay explainable.
    return { PhysicalResourceId: event.PhysicalResourceId };
  }
  client ??= new S3Client({});
  const result = await writeDefinition(event.ResourceProperties, client);
  console.log(JSON.stringify({ wrote: `s3://${result.Bucket}/${result.Key}` }));
  return { PhysicalResourceId: `s3://${result.Bucket}/${result.Key}`, Data: result };
}
