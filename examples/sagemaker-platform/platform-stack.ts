import { Duration, Stack, StackProps } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
// In your own app: import { DataLake } from 'cdk-ml-platform';
import { DataLake } from '../../src';

/**
 * The SageMaker flavour of the platform: a fraud-detection team's lake today; later issues add the
 * feature store, GPU training, the registry, endpoints, drift monitoring and the continuous-training loop.
 *
 * Environment-agnostic (no account or Region), so `cdk synth` needs no credentials.
 */
export class SageMakerPlatformStack extends Stack {
  /** The platform's data lake. */
  public readonly lake: DataLake;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);

    this.lake = new DataLake(this, 'Lake', {
      // Training data that produced a model stays unaltered for a year (governance mode: admins can lift it).
      curatedObjectLock: s3.ObjectLockRetention.governance(Duration.days(365)),
      // Endpoint data capture is read mostly in its first month.
      monitoringTransition: { storageClass: s3.StorageClass.INFREQUENT_ACCESS, transitionAfter: Duration.days(30) },
      monitoringExpiration: Duration.days(730),
    });
  }
}
