// Applying a cdk8s chart to an aws-eks-v2 cluster in pieces that each stay under the kubectl handler's limits.
//
// `cluster.addCdk8sChart` puts the whole chart into ONE `Custom::AWSCDK-EKS-KubernetesResource` whose `Manifest`
// property travels inline: in the CloudFormation template (1 MB per template), in the custom-resource request to the
// kubectl Lambda (about 256 KB is the practical ceiling of one request we design for), and, per object, in the
// `kubectl.kubernetes.io/last-applied-configuration` annotation that `kubectl create --save-config` / `kubectl apply`
// write (all annotations of one object together must stay below 256 KiB). A large chart therefore has to be split,
// and a single object above the budget cannot be applied this way at all: it belongs in a Helm chart asset (S3), as
// KubeflowTrainingOperator does for the 644 KB PyTorchJob CRD.
import { Token } from 'aws-cdk-lib';
import * as eks from 'aws-cdk-lib/aws-eks-v2';
import * as cdk8s from 'cdk8s';
import { Construct } from 'constructs';
import { mlError, ValidationErrors } from '../core/errors';

/** The request-size ceiling of one manifest sent to the kubectl handler that {@link ChunkedChartManifest} designs for. */
export const KUBECTL_PAYLOAD_LIMIT_BYTES = 256 * 1024;
/** Default byte budget of one {@link ChunkedChartManifest} chunk: 200 KiB, leaving room below {@link KUBECTL_PAYLOAD_LIMIT_BYTES}. */
export const DEFAULT_MANIFEST_CHUNK_BYTES = 200 * 1024;
/**
 * Bytes added to each object's size for what aws-eks-v2 injects after we measured it: the prune label
 * (`aws.cdk.eks/prune-<42-char address>`) and the list separator.
 */
const PER_OBJECT_OVERHEAD_BYTES = 128;
/** Most chart bytes (JSON, before template escaping) one construct may put into its stack's template. */
const MAX_TEMPLATE_SHARE_BYTES = 700 * 1024;
/** Kinds applied before everything else, in this order. */
const FIRST_KINDS = ['Namespace', 'CustomResourceDefinition'];

/** Properties for a {@link ChunkedChartManifest}. */
export interface ChunkedChartManifestProps {
  /** The cluster the chart is applied to. */
  readonly cluster: eks.ICluster;

  /** The cdk8s chart whose objects are applied. */
  readonly chart: cdk8s.Chart;

  /**
   * Byte budget of one chunk: the JSON size of its objects plus a small allowance per object for the prune label
   * aws-eks-v2 injects. At most 256 KiB ({@link KUBECTL_PAYLOAD_LIMIT_BYTES}).
   *
   * @default 204800 - 200 KiB
   */
  readonly maxChunkBytes?: number;

  /**
   * Use `kubectl apply` instead of `kubectl create` when a chunk is created, so existing objects are taken over.
   *
   * @default false
   */
  readonly overwrite?: boolean;
}

/**
 * Applies a cdk8s chart to an EKS cluster as one or more `KubernetesManifest`s, each within a byte budget.
 *
 * Namespaces come first, then CustomResourceDefinitions, then every other object in chart order. Objects are packed
 * into chunks in that order without reordering, and each chunk depends on the one before it, so CloudFormation
 * applies them in sequence. A dependency added to this construct (`node.addDependency`) applies to every chunk.
 *
 * A single object above the budget is an error: apply it through a Helm chart asset instead (see
 * {@link KubeflowTrainingOperator}, which ships the PyTorchJob CRD that way).
 *
 * Sizes are measured on the synthesized JSON. An object holding CDK tokens (e.g. an IAM role ARN) is measured with
 * the token's placeholder, which can be shorter than the deployed value: the default budget keeps 56 KiB in reserve.
 *
 * @example
 * const chart = new cdk8s.Chart(new cdk8s.App(), 'training', { namespace: 'training' });
 * new KubeflowTrainingJob(chart, 'Job', { placement: pool.placement, image });
 * new ChunkedChartManifest(stack, 'TrainingManifests', { cluster: gpuCluster.cluster, chart });
 */
export class ChunkedChartManifest extends Construct {
  /** The manifests, in apply order; each depends on the one before. */
  public readonly manifests: eks.KubernetesManifest[];
  /** The byte budget each chunk was packed to. */
  public readonly maxChunkBytes: number;

  constructor(scope: Construct, id: string, props: ChunkedChartManifestProps) {
    super(scope, id);
    this.maxChunkBytes = props.maxChunkBytes ?? DEFAULT_MANIFEST_CHUNK_BYTES;
    const errors = new ValidationErrors(this, 'ChunkedChartManifest');
    errors.check(Number.isInteger(this.maxChunkBytes) && this.maxChunkBytes >= 1024 && this.maxChunkBytes <= KUBECTL_PAYLOAD_LIMIT_BYTES, {
      code: 'InvalidChunkBudget',
      what: `maxChunkBytes must be a whole number of bytes from 1024 to ${KUBECTL_PAYLOAD_LIMIT_BYTES} (the kubectl payload limit)`,
      got: this.maxChunkBytes,
      fix: `leave it unset for ${DEFAULT_MANIFEST_CHUNK_BYTES} bytes (200 KiB)`,
    });
    errors.throwIfAny();

    const objects = props.chart.toJson() as Array<Record<string, any>>;
    const chunks = planManifestChunks(objects, this.maxChunkBytes);
    for (const oversized of chunks.oversized) {
      errors.add({
        code: 'ObjectTooLarge',
        what: `${oversized.description} is ${oversized.bytes} bytes of JSON, more than one manifest may carry (budget ${this.maxChunkBytes} bytes)`,
        fix: 'ship it as a local Helm chart S3 asset (cluster.addHelmChart with chartAsset), as KubeflowTrainingOperator does for '
          + 'the 644 KB PyTorchJob CRD; kubectl cannot apply objects near 256 KiB anyway (last-applied-configuration annotation limit)',
      });
    }
    const total = chunks.chunks.reduce((sum, c) => sum + c.bytes, 0);
    errors.check(total <= MAX_TEMPLATE_SHARE_BYTES, {
      code: 'ChartTooLarge',
      what: `the chart is ${total} bytes of JSON in ${chunks.chunks.length} manifests, too much for one CloudFormation template `
        + `(1 MB, and the JSON is escaped inside it); at most ${MAX_TEMPLATE_SHARE_BYTES} bytes are allowed per construct`,
      fix: 'split the chart and define the parts in separate (nested) stacks, or ship it as a Helm chart asset',
    });
    errors.throwIfAny();

    if (chunks.chunks.length === 0) {
      throw mlError(this, 'ChunkedChartManifest', {
        code: 'EmptyChart',
        what: 'the chart has no Kubernetes objects',
        got: props.chart.node.path,
        fix: 'add objects to the chart before handing it over, or do not create this construct',
      });
    }

    this.manifests = [];
    chunks.chunks.forEach((chunk, i) => {
      const manifest = new eks.KubernetesManifest(this, `Chunk${i}`, {
        cluster: props.cluster,
        manifest: chunk.objects,
        overwrite: props.overwrite,
      });
      const previous = this.manifests[this.manifests.length - 1];
      if (previous) { manifest.node.addDependency(previous); }
      this.manifests.push(manifest);
    });
  }
}

/** One planned chunk. */
export interface PlannedChunk {
  /** Objects of the chunk, in apply order. */
  readonly objects: Array<Record<string, any>>;
  /** Estimated bytes: JSON size of the objects plus the per-object allowance. */
  readonly bytes: number;
}

/** An object that fits no chunk. */
export interface OversizedObject {
  /** `apiVersion Kind/name` of the object. */
  readonly description: string;
  /** Its estimated size in bytes. */
  readonly bytes: number;
}

/**
 * Orders `objects` (Namespaces, then CRDs, then the rest in their order) and packs them into chunks of at most
 * `maxBytes` each, never reordering. Objects over `maxBytes` are reported in `oversized` and left out.
 */
export function planManifestChunks(objects: Array<Record<string, any>>, maxBytes: number): {
  chunks: PlannedChunk[]; oversized: OversizedObject[];
} {
  const rank = (o: Record<string, any>) => {
    const i = FIRST_KINDS.indexOf(String(o?.kind));
    return i < 0 ? FIRST_KINDS.length : i;
  };
  const ordered = objects.map((o, i) => ({ o, i })).sort((a, b) => rank(a.o) - rank(b.o) || a.i - b.i).map(x => x.o);
  const chunks: PlannedChunk[] = [];
  const oversized: OversizedObject[] = [];
  let current: Array<Record<string, any>> = [];
  let bytes = 0;
  for (const o of ordered) {
    const size = objectBytes(o);
    if (size > maxBytes) {
      oversized.push({ description: describeObject(o), bytes: size });
      continue;
    }
    if (current.length > 0 && bytes + size > maxBytes) {
      chunks.push({ objects: current, bytes });
      current = [];
      bytes = 0;
    }
    current.push(o);
    bytes += size;
  }
  if (current.length > 0) { chunks.push({ objects: current, bytes }); }
  return { chunks, oversized };
}

/** Estimated bytes of one object in a manifest: its JSON plus the prune-label and separator allowance. */
export function objectBytes(o: Record<string, any>): number {
  return Buffer.byteLength(JSON.stringify(o), 'utf8') + PER_OBJECT_OVERHEAD_BYTES;
}

function describeObject(o: Record<string, any>): string {
  const name = o?.metadata?.name;
  return `${o?.apiVersion ?? '?'} ${o?.kind ?? '?'}/${Token.isUnresolved(name) ? '(token)' : name ?? '?'}`;
}
