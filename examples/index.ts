import { App, AppProps, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, NIST80053R5Checks } from 'cdk-nag';
import { MlOpsChecks } from '../src';
import { EksKubeflowPlatformStack } from './eks-kubeflow-platform/platform-stack';
import { SageMakerPlatformStack } from './sagemaker-platform/platform-stack';

/**
 * Builds the app with every example stack, checked by cdk-nag (AwsSolutions, NIST 800-53 R5) and our MlOpsChecks:
 * synth fails on any finding our constructs do not acknowledge.
 */
export function createExamplesApp(props?: AppProps): App {
  const app = new App(props);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new NIST80053R5Checks(app), new MlOpsChecks(app));
  new SageMakerPlatformStack(app, 'SageMakerPlatform', {
    description: 'cdk-ml-platform example: ML platform on SageMaker (data lake, feature store, GPU training, registry, endpoint)',
  });
  new EksKubeflowPlatformStack(app, 'EksKubeflowPlatform', {
    description: 'cdk-ml-platform example: ML platform on EKS (data lake, GPU cluster, Karpenter GPU pool, Kubeflow PyTorchJob)',
  });
  return app;
}
