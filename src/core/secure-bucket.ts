import { Duration, Validations } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { StatefulRemoval } from './removal-policy';

/**
 * The hardening every data bucket of the library shares (DataLake zones, the audit bucket): SSE-KMS with the given
 * key and S3 Bucket Keys, no public access, bucket-owner-enforced ownership, TLS 1.2+ only, versioning, and server
 * access logs into `accessLogs` under `logPrefix` with date-partitioned keys.
 */
export function hardenedBucketProps(key: kms.IKey, accessLogs: s3.IBucket, logPrefix: string): s3.BucketProps {
  return {
    encryption: s3.BucketEncryption.KMS,
    encryptionKey: key,
    bucketKeyEnabled: true,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    enforceSSL: true,
    minimumTLSVersion: 1.2,
    versioned: true,
    serverAccessLogsBucket: accessLogs,
    serverAccessLogsPrefix: logPrefix,
    targetObjectKeyFormat: s3.TargetObjectKeyFormat.partitionedPrefix(s3.PartitionDateSource.EVENT_TIME),
  };
}

/** Lifecycle of an access log bucket. */
export interface AccessLogLifecycle {
  /** Rule id. */
  readonly id: string;
  /** Noncurrent versions expire after this. */
  readonly noncurrentVersionExpiration: Duration;
  /** Log objects expire after this, if at all. */
  readonly expiration?: Duration;
}

/**
 * A bucket for S3 server access logs (SSE-S3: the only encryption log delivery supports), hardened like the data
 * buckets otherwise, with its inherent cdk-nag findings acknowledged.
 */
export function accessLogBucket(scope: Construct, id: string, lifecycle: AccessLogLifecycle, removal: StatefulRemoval): s3.Bucket {
  const bucket = new s3.Bucket(scope, id, {
    // S3 server access log delivery only supports SSE-S3 on the target bucket.
    encryption: s3.BucketEncryption.S3_MANAGED,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    enforceSSL: true,
    minimumTLSVersion: 1.2,
    versioned: true,
    lifecycleRules: [{
      id: lifecycle.id,
      expiration: lifecycle.expiration,
      noncurrentVersionExpiration: lifecycle.noncurrentVersionExpiration,
      abortIncompleteMultipartUploadAfter: Duration.days(7),
    }],
    removalPolicy: removal.policy,
    autoDeleteObjects: removal.deleteData ? true : undefined,
  });
  Validations.of(bucket).acknowledge(
    {
      id: 'NIST.800.53.R5::NIST.800.53.R5-S3DefaultEncryptionKMS',
      reason: 'S3 server access log delivery only supports SSE-S3 on the destination bucket.',
    },
    {
      id: 'NIST.800.53.R5::NIST.800.53.R5-S3BucketReplicationEnabled',
      reason: 'Access logs are kept in the Region they describe; cross-Region replication needs a second-Region stack.',
    },
  );
  return bucket;
}
