import { Size } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';

/** @internal */
export interface NodeLaunchTemplateOptions {
  readonly volumeKey: kms.IKey;
  readonly rootVolumeSize: Size;
  /** Bottlerocket: small OS volume on /dev/xvda, container data on /dev/xvdb. */
  readonly bottlerocket: boolean;
  /** Hop limit 2 so pods (not only the host) reach IMDS. */
  readonly podImdsAccess: boolean;
}

/**
 * A launch template for EKS managed node groups: IMDSv2 required (hop limit 1 unless pods need IMDS) and
 * encrypted gp3 volumes with the cluster's node key. No AMI and no user data: EKS supplies both from the AMI type.
 *
 * @internal
 */
export function nodeLaunchTemplate(scope: Construct, id: string, options: NodeLaunchTemplateOptions): ec2.LaunchTemplate {
  const ebs = (size: number) => ec2.BlockDeviceVolume.ebs(size, {
    encrypted: true, kmsKey: options.volumeKey, volumeType: ec2.EbsDeviceVolumeType.GP3, deleteOnTermination: true,
  });
  const size = options.rootVolumeSize.toGibibytes();
  const blockDevices: ec2.BlockDevice[] = options.bottlerocket
    ? [{ deviceName: '/dev/xvda', volume: ebs(4) }, { deviceName: '/dev/xvdb', volume: ebs(size) }]
    : [{ deviceName: '/dev/xvda', volume: ebs(size) }];
  const template = new ec2.LaunchTemplate(scope, id, {
    httpEndpoint: true,
    httpTokens: ec2.LaunchTemplateHttpTokens.REQUIRED,
    httpPutResponseHopLimit: options.podImdsAccess ? 2 : 1,
    blockDevices,
  });
  return template;
}

