import { Duration, Stack, StackProps } from 'aws-cdk-lib';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
// In your own app: import { ... } from 'cdk-ml-platform';
import {
  DataZone, DeploymentStrategy, EndpointVariant, Feature, FeatureStore, GpuInstanceType, MlPlatform, ModelCardRiskRating,
  Objective, PlatformModel, TrainingBackend, TrainingData, TrainingImage,
} from '../../src';

/**
 * The SageMaker flavour of the platform for a fraud-detection team, as one `MlPlatform`: the data lake, audit trail,
 * team personas and cost report; the transaction feature store; and the fraud model (in a nested stack of its own):
 * GPU training from the feature store's offline data into a registry that only accepts better models, a safe
 * endpoint serving the approved model, drift and prediction-health monitors on it, and the continuous-training loop
 * that retrains on drift (or weekly, or on request), promotes a better challenger and rolls back on alarms.
 *
 * Environment-agnostic (no account or Region), so `cdk synth` needs no credentials.
 */
export class SageMakerPlatformStack extends Stack {
  /** The platform: data lake, audit trail, personas (with the grants of every model and feature store), cost report. */
  public readonly platform: MlPlatform;
  /** Transaction features for fraud detection, online for inference and offline for training. */
  public readonly features: FeatureStore;
  /**
   * The fraud scoring model: registry, training pipeline, endpoint, drift and prediction-health monitors,
   * continuous-training loop and model card.
   */
  public readonly model: PlatformModel;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);

    // Every SageMaker name of the platform starts with `fraud-` (the scoring model's are `fraud-scoring`), which
    // scopes the personas' grants to the platform with one statement however many models it gets.
    this.platform = new MlPlatform(this, 'Platform', {
      name: 'fraud',
      backend: TrainingBackend.sagemaker(),
      dataLake: {
        // Training data that produced a model stays unaltered for a year (governance mode: admins can lift it).
        curatedObjectLock: s3.ObjectLockRetention.governance(Duration.days(365)),
        // Endpoint data capture is read mostly in its first month.
        monitoringTransition: { storageClass: s3.StorageClass.INFREQUENT_ACCESS, transitionAfter: Duration.days(30) },
        monitoringExpiration: Duration.days(730),
      },
    });

    // The schema each feature group was created with is recorded in feature-schemas.lock.json (committed);
    // adding a feature here later is applied in place, never by replacing the group.
    this.features = this.platform.addFeatureStore('TransactionFeatures', {
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

    // The training image lives in ECR, pinned by digest: the digest is part of every model's lineage.
    const trainImage = TrainingImage.fromEcrRepository(
      ecr.Repository.fromRepositoryName(this, 'TrainImageRepo', 'fraud-train'),
      'sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef',
    );

    this.model = this.platform.addModel('scoring', {
      description: 'Card fraud detector',
      image: trainImage,
      instanceType: GpuInstanceType.ML_G5_2XLARGE,
      trainingData: TrainingData.fromFeatureStore(this.features),
      // A held-out, labelled month that training never sees: the champion gate scores on it.
      evaluationData: TrainingData.fromDataLake(this.platform.dataLake, DataZone.CURATED, 'datasets/fraud/holdout/'),
      // Registered only when it beats the approved model by at least 0.005 AUC.
      objective: Objective.maximize('validation:auc', 0.005),
      evaluation: { metrics: ['validation:auc', 'validation:precision_at_1pct_fpr'] },
      spot: true,
      maxRuntime: Duration.hours(6),
      hyperparameters: { 'epochs': '20', 'batch-size': '1024' },
      metricDefinitions: [{ name: 'train:loss', regex: 'loss=([0-9.]+)' }],

      // Serves the newest approved model (deploy this after the first one is approved); every request and
      // response lands in the lake's monitoring zone; new models take 10 % of traffic for 10 minutes first and
      // roll back on 5xx errors or p99 latency above 200 ms.
      serving: {
        variants: [EndpointVariant.instance({ instanceType: 'ml.g5.xlarge', initialInstanceCount: 2, maxCapacity: 6, targetInvocationsPerInstance: 600 })],
        deployment: DeploymentStrategy.canary({ percent: 10, bake: Duration.minutes(10) }),
        rollbackThresholds: { maxP99LatencyMs: 200 },
        dataCapture: { samplingPercentage: 100 },
      },

      // Hourly drift check of the captured requests against the baseline of the model in production (its training
      // data's statistics, recorded with the model package); the amount feature gets its own, tighter alarm.
      // Fraud scores are probabilities: NaN, Infinity, values outside [0, 1] or one constant score roll a
      // deployment back. A fraud model predicts "not fraud" almost always, so class collapse is not alarmed.
      monitoring: {
        featureThresholds: [{ feature: 'amount', psiAlarm: 0.15 }],
        minScore: 0,
        maxScore: 1,
      },

      // Retrain on drift, weekly, or when someone asks (the default triggers); at most 4 runs a week and one every
      // 6 hours. A better challenger is approved and canaried; alarms within an hour after it is live restore the
      // previous model.
      retraining: {
        minInterval: Duration.hours(6),
        maxRunsPerPeriod: 4,
        bakeTime: Duration.hours(1),
      },

      // The model card reviewers read: intended use and risk from the team, training and serving facts from the
      // platform (images, data, objective, registry, endpoint, code version).
      modelCard: {
        description: 'Scores card transactions for fraud in real time',
        owner: 'fraud-detection team',
        problemType: 'Binary classification',
        algorithmType: 'Gradient-boosted trees',
        intendedUses: {
          purpose: 'Flag likely fraudulent card transactions for review before settlement',
          intendedUses: 'Ranking transactions for the fraud review queue; not for declining payments without human review',
          factors: 'Merchant category mix and seasonal spending shift the score distribution (watched by the drift monitor)',
        },
        riskRating: ModelCardRiskRating.HIGH,
        riskRatingExplanation: 'Affects whether a cardholder\'s payment is held; false positives inconvenience customers',
        ethicalConsiderations: 'Country and merchant features can proxy for protected attributes; reviewed each quarter',
      },
    });

    // The rest comes with the platform: data scientists train and read, ML engineers approve and deploy (and can
    // register nothing), data engineers write the data, with explicit denies keeping the duties apart (personas);
    // CloudTrail with the lake's object and feature-record events into a write-once bucket, with every registry,
    // pipeline, endpoint and loop decision filed next to it (audit trail); and what the platform costs idle and at
    // most per hour of GPUs, at synth: cdk.out/ml-platform-cost.json (cost report).
  }
}
