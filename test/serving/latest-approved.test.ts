import {
  CreateModelPackageCommand, CreateModelPackageGroupCommand, ModelApprovalStatus, SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { isValidTagValue } from '../../src/core/tag-value';
import { LatestApprovedEvent, UNKNOWN, lineageOf, onEvent } from '../../src/serving/latest-approved.lambda';
import { MotoServer, motoClientConfig, startMoto } from '../support/moto';

/**
 * The latest-approved custom resource handler against moto_server (model package groups and packages through the
 * real SDK client): which package it resolves, and the lineage (inference image, data version) it returns as tag values.
 */
let moto: MotoServer;
let sagemaker: SageMakerClient;
let counter = 0;

beforeAll(async () => {
  moto = await startMoto();
  sagemaker = new SageMakerClient(motoClientConfig(moto.endpoint));
});
afterAll(async () => { await moto?.stop(); });

const IMAGE = '763104351884.dkr.ecr.us-east-1.amazonaws.com/xgboost-inference:1.7-1';
const SHA = 'a'.repeat(64);

async function group(): Promise<string> {
  const name = `fraud-models-${++counter}`;
  await sagemaker.send(new CreateModelPackageGroupCommand({ ModelPackageGroupName: name }));
  return name;
}

interface PackageOptions {
  readonly status?: ModelApprovalStatus;
  readonly image?: string;
  readonly metadata?: Record<string, string>;
}

async function register(groupName: string, opts: PackageOptions = {}): Promise<string> {
  const res = await sagemaker.send(new CreateModelPackageCommand({
    ModelPackageGroupName: groupName,
    ModelApprovalStatus: opts.status ?? 'Approved',
    InferenceSpecification: {
      Containers: [{ Image: opts.image ?? IMAGE, ModelDataUrl: `s3://models/${groupName}/model.tar.gz` }],
      SupportedContentTypes: ['text/csv'],
      SupportedResponseMIMETypes: ['text/csv'],
    },
    CustomerMetadataProperties: opts.metadata,
  }));
  return res.ModelPackageArn!;
}

const create = (props: LatestApprovedEvent['ResourceProperties']): LatestApprovedEvent => ({ RequestType: 'Create', ResourceProperties: props });

describe('latest-approved custom resource', () => {
  test('resolves the newest approved package and returns its image and data version (the pipeline\'s manifest hash)', async () => {
    const g = await group();
    await register(g, { metadata: { dataset_manifest_sha256: 'b'.repeat(64) } });
    const newest = await register(g, { metadata: { dataset_manifest_sha256: SHA, code_version: 'abc1234' } });
    await register(g, { status: 'PendingManualApproval', metadata: { dataset_manifest_sha256: 'c'.repeat(64) } });

    const res = await onEvent(create({ ModelPackageGroupName: g }), sagemaker);
    expect(res).toEqual({
      PhysicalResourceId: newest,
      Data: { ModelPackageArn: newest, Image: IMAGE, DataVersion: SHA },
    });
  });

  test('a fixed package (ModelSource.fromModelPackage) is described, not resolved', async () => {
    const g = await group();
    const first = await register(g, { metadata: { data_version: 'fraud-2026-11-01', dataset_manifest_sha256: SHA } });
    await register(g);
    const res = await onEvent(create({ ModelPackageArn: first }), sagemaker);
    expect(res).toEqual({ PhysicalResourceId: first, Data: { ModelPackageArn: first, Image: IMAGE, DataVersion: 'fraud-2026-11-01' } });
  });

  test('an update that keeps the group keeps the package resolved before (new attributes never move the endpoint)', async () => {
    const g = await group();
    const before = await register(g, { metadata: { dataset_manifest_sha256: SHA } });
    await register(g);
    const res = await onEvent({
      RequestType: 'Update',
      PhysicalResourceId: before,
      ResourceProperties: { ModelPackageGroupName: g },
      OldResourceProperties: { ModelPackageGroupName: g },
    }, sagemaker);
    expect(res.PhysicalResourceId).toBe(before);
    expect(res.Data?.DataVersion).toBe(SHA);

    // A new group resolves again.
    const other = await group();
    const newest = await register(other);
    const moved = await onEvent({
      RequestType: 'Update',
      PhysicalResourceId: before,
      ResourceProperties: { ModelPackageGroupName: other },
      OldResourceProperties: { ModelPackageGroupName: g },
    }, sagemaker);
    expect(moved.PhysicalResourceId).toBe(newest);
  });

  test('a package without lineage metadata gets data version "unknown"', async () => {
    const g = await group();
    const arn = await register(g);
    const res = await onEvent(create({ ModelPackageGroupName: g }), sagemaker);
    expect(res.Data).toEqual({ ModelPackageArn: arn, Image: IMAGE, DataVersion: UNKNOWN });
  });

  test('no approved package: fails with the fix', async () => {
    const g = await group();
    await register(g, { status: 'PendingManualApproval' });
    await expect(onEvent(create({ ModelPackageGroupName: g }), sagemaker)).rejects.toThrow(/No approved model package in model package group .*ModelSource\.fromImage/);
  });

  test('delete does nothing', async () => {
    expect(await onEvent({ RequestType: 'Delete', PhysicalResourceId: 'arn:x', ResourceProperties: {} }, sagemaker)).toEqual({ PhysicalResourceId: 'arn:x' });
  });

  test('values are sanitized to valid tag values of at most 256 characters', () => {
    const long = `123456789012.dkr.ecr.us-east-1.amazonaws.com/${'team/'.repeat(60)}model@sha256:${SHA}`;
    const l = lineageOf('arn:p', {
      InferenceSpecification: { Containers: [{ Image: long }] },
      CustomerMetadataProperties: { data_version: 's3://lake/curated/fraud (v2)/*.parquet' },
    });
    expect(Array.from(l.Image)).toHaveLength(256);
    expect(isValidTagValue(l.Image)).toBe(true);
    expect(l.Image.startsWith('123456789012.dkr.ecr.us-east-1.amazonaws.com/team/')).toBe(true);
    expect(l.DataVersion).toBe('s3://lake/curated/fraud _v2_/_.parquet');
    // The metadata's inference image when the package has no container image.
    expect(lineageOf('arn:p', { CustomerMetadataProperties: { inference_image: IMAGE } }).Image).toBe(IMAGE);
    expect(lineageOf('arn:p', {}).Image).toBe(UNKNOWN);
  });
});
