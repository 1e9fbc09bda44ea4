import { IConstruct } from 'constructs';

/** What a monitor needs an endpoint to capture. */
export interface CaptureRequirement {
  /** Path of the monitor that reads the capture. */
  readonly monitorPath: string;
  /** Capture modes the monitor reads: `Input`, `Output`. */
  readonly modes: string[];
}

const REQUIREMENTS = new WeakMap<IConstruct, CaptureRequirement[]>();

/**
 * Records that `monitor` reads the data capture of `endpoint` (a construct that owns the endpoint config),
 * so governance rules (MlOpsChecks) can check the capture is on for every watched endpoint.
 */
export function requireCapture(endpoint: IConstruct, monitor: IConstruct, modes: string[]): void {
  const list = REQUIREMENTS.get(endpoint) ?? [];
  list.push({ monitorPath: monitor.node.path, modes: [...modes] });
  REQUIREMENTS.set(endpoint, list);
}

/** The capture requirements recorded on `endpoint` itself (not its ancestors). */
export function captureRequirementsOf(endpoint: IConstruct): CaptureRequirement[] {
  return REQUIREMENTS.get(endpoint) ?? [];
}
