import { Duration, Stack, StackProps } from 'aws-cdk-lib';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
// In your own app: import { ... } from 'cdk-ml-platform';
import {
  AuditTrail, CostReport, ContinuousTraining, DataLake, DataZone,
  DeploymentStrategy, DriftMonitor, EndpointVariant, Feature, FeatureStore, GpuInstanceType,
  GpuTrainingPipeline, ModelCard, ModelCardRiskRating, ModelEndpoint, ModelRegistry, ModelSource, Objective, Personas, PredictionHealthMonitor,
  RetrainTrigger, TrainingData, TrainingImage,
} from '../../src';

/**
 * The SageMaker flavour of the platform for a fraud-detection team: the data lake, the transaction feature
 * store, GPU training from its offline data into a registry that only accepts better models, and a safe
 * endpoint serving the approved model, drift and prediction-health monitors on it, and the continuous-training
 * loop that retrains on drift (or weekly, or on request), promotes a better challenger and rolls back on alarms.
 *
 * Environment-agnostic (no account or Region), so `cdk synth` needs no credentials.
 */
export class SageMakerPlatformStack extends Stack {
  /** The platform's data lake. */
  public readonly lake: DataLake;
  /** Transaction features for fraud detection, online for inference and offline for training. */
  public readonly transactionFeatures: FeatureStore;
  /** The fraud model's registry: only challengers that beat the champion get in. */
  public readonly registry: ModelRegistry;
  /** GPU training from the feature store's offline data, gated on validation AUC. */
  public readonly training: GpuTrainingPipeline;
  /** The fraud scoring endpoint: the approved model, captured for drift monitoring, rolled out by canary. */
  public readonly endpoint: ModelEndpoint;
  /** Input drift of the endpoint against the champion's training data. */
  public readonly drift: DriftMonitor;
  /** What the model answers: NaN/Infinity, constant or out-of-range fraud scores. */
  public readonly predictionHealth: PredictionHealthMonitor;
  /** Drift → retrain → compare → promote or keep → bake → roll back on alarms. */
  public readonly loop: ContinuousTraining;
  /** Roles for the team: data scientist, ML engineer, data engineer, with separation of duties. */
  public readonly personas: Personas;
  /** What the fraud model is for, its risk and its lineage (SageMaker model card). */
  public readonly modelCard: ModelCard;
  /** Who did what: CloudTrail (with the lake's data events) and every registry, pipeline, endpoint and loop event. */
  public readonly audit: AuditTrail;

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

    this.registry = new ModelRegistry(this, 'Registry', { description: 'Card fraud detector' });

    // The training image lives in ECR, pinned by digest: the digest is part of every model's lineage.
    const trainImage = TrainingImage.fromEcrRepository(
      ecr.Repository.fromRepositoryName(this, 'TrainImageRepo', 'fraud-train'),
      'sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef',
    );
    this.training = new GpuTrainingPipeline(this, 'Training', {
      dataLake: this.lake,
      registry: this.registry,
      image: trainImage,
      instanceType: GpuInstanceType.ML_G5_2XLARGE,
      trainingData: TrainingData.fromFeatureStore(this.transactionFeatures),
      // A held-out, labelled month that training never sees: the champion gate scores on it.
      evaluationData: TrainingData.fromDataLake(this.lake, DataZone.CURATED, 'datasets/fraud/holdout/'),
      // Registered only when it beats the approved model by at least 0.005 AUC.
      objective: Objective.maximize('validation:auc', 0.005),
      evaluation: { metrics: ['validation:auc', 'validation:precision_at_1pct_fpr'] },
      spot: true,
      maxRuntime: Duration.hours(6),
      hyperparameters: { 'epochs': '20', 'batch-size': '1024' },
      metricDefinitions: [{ name: 'train:loss', regex: 'loss=([0-9.]+)' }],
    });

    // Serves the newest approved model (deploy this after the first one is approved); every request and
    // response lands in the lake's monitoring zone; new models take 10 % of traffic for 10 minutes first and
    // roll back on 5xx errors or p99 latency above 200 ms.
    this.endpoint = new ModelEndpoint(this, 'Endpoint', {
      dataLake: this.lake,
      model: ModelSource.fromLatestApproved(this.registry),
      variants: [EndpointVariant.instance({ instanceType: 'ml.g5.xlarge', initialInstanceCount: 2, maxCapacity: 6, targetInvocationsPerInstance: 600 })],
      deployment: DeploymentStrategy.canary({ percent: 10, bake: Duration.minutes(10) }),
      rollbackThresholds: { maxP99LatencyMs: 200 },
      dataCapture: { samplingPercentage: 100 },
    });

    // Hourly drift check of the captured requests against the baseline of the model in production (its training
    // data's statistics, recorded with the model package); the amount feature gets its own, tighter alarm.
    this.drift = new DriftMonitor(this, 'Drift', {
      endpoint: this.endpoint,
      featureThresholds: [{ feature: 'amount', psiAlarm: 0.15 }],
    });

    // Fraud scores are probabilities: NaN, Infinity, values outside [0, 1] or one constant score roll a
    // deployment back. A fraud model predicts "not fraud" almost always, so class collapse is not alarmed.
    this.predictionHealth = new PredictionHealthMonitor(this, 'PredictionHealth', {
      endpoint: this.endpoint,
      minScore: 0,
      maxScore: 1,
    });

    // Retrain on drift, weekly, or when someone asks; at most 4 runs a week and one every 6 hours. A better
    // challenger is approved and canaried; alarms within an hour after it is live restore the previous model.
    this.loop = new ContinuousTraining(this, 'Loop', {
      pipeline: this.training,
      endpoint: this.endpoint,
      triggers: [RetrainTrigger.onDrift(this.drift), RetrainTrigger.every(Duration.days(7)), RetrainTrigger.manual()],
      minInterval: Duration.hours(6),
      maxRunsPerPeriod: 4,
      bakeTime: Duration.hours(1),
    });

    // The team's roles, from the constructs' grants: data scientists train and read, ML engineers approve and
    // deploy (and can register nothing), data engineers write the data; explicit denies keep the duties apart.
    this.personas = new Personas(this, 'Personas', {
      dataLake: this.lake,
      featureStores: [this.transactionFeatures],
      pipelines: [this.training],
      endpoints: [this.endpoint],
      continuousTraining: [this.loop],
    });

    // The model card reviewers read: intended use and risk from the team, training and serving facts from the
    // constructs (images, data, objective, registry, endpoint, code version).
    this.modelCard = new ModelCard(this, 'ModelCard', {
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
      pipeline: this.training,
      registry: this.registry,
      endpoint: this.endpoint,
    });

    // CloudTrail with the lake's object reads and writes and the feature store's record operations, into a
    // write-once (Object Lock) bucket; model package, pipeline, endpoint and loop decisions filed next to it.
    this.audit = new AuditTrail(this, 'Audit', { dataLake: this.lake });

    // What this platform costs idle and at most per hour of GPUs, at synth: cdk.out/ml-platform-cost.json.
    new CostReport(this, 'Cost');
  }
}
