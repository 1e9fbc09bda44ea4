import { Duration, Stack, StackProps } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
// In your own app: import { DataLake, Feature, FeatureStore } from 'cdk-ml-platform';
import { DataLake, Feature, FeatureStore } from '../../src';

/**
 * The SageMaker flavour of the platform for a fraud-detection team: the data lake and the transaction
 * feature store today; later issues add GPU training, the registry, endpoints, drift monitoring and the
 * continuous-training loop.
 *
 * Environment-agnostic (no account or Region), so `cdk synth` needs no credentials.
 */
export class SageMakerPlatformStack extends Stack {
  /** The platform's data lake. */
  public readonly lake: DataLake;
  /** Transaction features for fraud detection, online for inference and offline for training. */
  public readonly transactionFeatures: FeatureStore;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);

    this.lake = new DataLake(this, 'Lake', {
      // Training data that produced a model stays unaltered for a year (governance mode: admins can lift it).
      curatedObjectLock: s3.ObjectLockRetention.governance(Duration.days(365)),
      // Endpoint data capture is read mostly in its first month.
      monitoringTransition: { storageClass: s3.StorageClass.INFREQUENT_ACCESS, transitionAfter: Duration.days(30) },
      monitoringExpiration: Duration.days(730),
    });

    // The schema each feature group was created with is recorded in feature-schemas.lock.json (committed);
    // adding a feature here later is applied in place, never by replacing the group.
    this.transactionFeatures = new FeatureStore(this, 'TransactionFeatures', {
      dataLake: this.lake,
      description: 'Card transactions with merchant and card context, for fraud scoring',
      recordIdentifier: 'transaction_id',
      eventTime: 'event_time',
      features: [
        Feature.string('transaction_id'),
        Feature.string('event_time'),
        Feature.string('card_id'),
        Feature.string('merchant_id'),
        Feature.string('merchant_category'),
        Feature.string('country'),
        Feature.fractional('amount'),
        Feature.string('currency'),
        Feature.integral('is_card_present'),
        Feature.integral('card_txn_count_24h'),
        Feature.fractional('card_amount_sum_24h'),
      ],
      // Inference only needs recent context; history stays in the offline store.
      onlineStoreTtl: Duration.days(30),
    });
  }
}
