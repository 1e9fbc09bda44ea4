import * as fs from 'fs';
import * as path from 'path';
import { Annotations, CfnResource, Stack, Stage } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { mlError, ValidationErrors } from '../core/errors';
import { lookupInstanceType } from '../core/gpu-catalog';
import {
  ec2HourlyUsd, FIXED_PRICES_USD, HOURS_PER_MONTH, PRICE_REGION, PRICES_AS_OF, sageMakerHostingHourlyUsd, ZERO_IDLE_RESOURCE_TYPES,
} from '../core/price-table';

/** Properties for a {@link CostReport}. */
export interface CostReportProps {
  /**
   * Budget for the idle monthly cost (no traffic, no training) of the stack, in USD.
   * Synthesis fails with `CostReport.IdleBudgetExceeded` when the estimate is higher.
   * @default - no budget: the estimate is reported only
   */
  readonly maxIdleMonthlyUsd?: number;
  /**
   * Budget for the hourly cost of every GPU and accelerator instance the stack can run at once
   * (endpoints at their autoscaling maximum, node groups at max size, Karpenter pools at their GPU limit), in USD.
   * Synthesis fails with `CostReport.GpuBudgetExceeded` when the estimate is higher.
   * @default - no budget: the estimate is reported only
   */
  readonly maxGpuHourlyUsd?: number;
  /**
   * Hours in a month, for monthly figures.
   * @default 730 (the figure AWS pricing pages use)
   */
  readonly hoursPerMonth?: number;
}

/** Name of the report file written into the cloud assembly directory (one file per app, one entry per stack). */
const REPORT_FILE = 'ml-platform-cost.json';

/** One priced item of the report. */
interface CostLine {
  readonly path: string;
  readonly type: string;
  readonly what: string;
  readonly quantity: number;
  /** Price of one unit, in USD per {@link unit}. */
  readonly unitUsd: number;
  readonly unit: string;
  /** Set on idle lines. */
  readonly monthlyUsd?: number;
  /** Set on GPU exposure lines. */
  readonly hourlyUsd?: number;
}

/** An item the report could not price (never counted as 0 silently). */
interface UnknownItem {
  readonly path: string;
  readonly type: string;
  readonly what: string;
  readonly reason: string;
}

/** The report for one stack. */
interface StackCostReport {
  readonly hoursPerMonth: number;
  readonly idleMonthlyUsd: number;
  readonly maxGpuHourlyUsd: number;
  readonly lines: CostLine[];
  readonly unknown: UnknownItem[];
  /** Resource types present but not priced: assumed free while idle. */
  readonly notPriced: string[];
}

interface Res {
  readonly cfn: CfnResource;
  readonly logicalId: string;
  readonly type: string;
  readonly props: any;
}

/** Reports collected so far per stage (app), so one file holds every stack of the app. */
const REPORTS = new WeakMap<Stage, Record<string, StackCostReport>>();

/**
 * Estimates, at synth, what the stack costs while idle (per month) and its largest hourly GPU exposure,
 * from the synthesized CloudFormation resources and a dated us-east-1 on-demand price table.
 *
 * - Idle monthly: SageMaker endpoint instances at their autoscaling minimum (or initial count), EKS control
 *   planes, managed node groups at min size, NAT gateways, public IPv4 addresses, interface VPC endpoints,
 *   KMS keys, CloudWatch alarms and dashboards, provisioned DynamoDB capacity. Pay-per-use resources
 *   (S3, Lambda, Step Functions, EventBridge, on-demand DynamoDB, serverless endpoints) count 0; storage and
 *   data transfer depend on data and are not estimated.
 * - Max GPU hourly: GPU/accelerator endpoint variants at their autoscaling maximum, GPU managed node groups
 *   at max size, Karpenter NodePools (`nvidia.com/gpu` limit) at their limit, each at the most expensive
 *   allowed instance type (an upper bound). SageMaker training jobs are not included.
 *
 * Instance types without a price are listed under `unknown` in the report. The report is written to
 * `ml-platform-cost.json` in the cloud assembly directory (under `stacks.<stackName>`) and printed as an
 * info annotation on the stack. Figures are list-price estimates, not a bill.
 *
 * One `CostReport` per stack; it covers the whole stack wherever it is added, including its nested stacks (their
 * lines are listed with their construct paths and count toward the stack's totals and budgets).
 */
export class CostReport extends Construct {
  /** The idle monthly budget, if any. */
  public readonly maxIdleMonthlyUsd?: number;
  /** The hourly GPU budget, if any. */
  public readonly maxGpuHourlyUsd?: number;
  /** Hours in a month used for monthly figures. */
  public readonly hoursPerMonth: number;

  constructor(scope: Construct, id: string, props: CostReportProps = {}) {
    super(scope, id);
    const stack = Stack.of(this);
    const errors = new ValidationErrors(this, 'CostReport');
    for (const [name, value] of [['maxIdleMonthlyUsd', props.maxIdleMonthlyUsd], ['maxGpuHourlyUsd', props.maxGpuHourlyUsd]] as const) {
      if (value !== undefined) {
        errors.check(Number.isFinite(value) && value >= 0, {
          code: 'InvalidBudget', what: `${name} must be a finite amount of USD, zero or more`, got: value, fix: `pass a number >= 0, or omit ${name}`,
        });
      }
    }
    if (props.hoursPerMonth !== undefined) {
      errors.check(Number.isFinite(props.hoursPerMonth) && props.hoursPerMonth > 0 && props.hoursPerMonth <= 744, {
        code: 'InvalidHoursPerMonth', what: 'hoursPerMonth must be above 0 and at most 744', got: props.hoursPerMonth, fix: 'omit it for the usual 730',
      });
    }
    const other = stack.node.findAll().find(c => c !== this && c instanceof CostReport && Stack.of(c) === stack);
    errors.check(other === undefined, {
      code: 'DuplicateReport', what: 'a stack takes one CostReport', got: other?.node.path, fix: 'remove one; a CostReport covers its whole stack',
    });
    errors.throwIfAny();

    this.maxIdleMonthlyUsd = props.maxIdleMonthlyUsd;
    this.maxGpuHourlyUsd = props.maxGpuHourlyUsd;
    this.hoursPerMonth = props.hoursPerMonth ?? HOURS_PER_MONTH;

    this.node.addValidation({ validate: () => this.report() });
  }

  /** Runs at synth, once the tree is complete: estimates, writes the file, annotates, checks budgets. */
  private report(): string[] {
    const stack = Stack.of(this);
    const result = mergeReports([stack, ...nestedStacksOf(stack)].map(s => estimateStack(s, this.hoursPerMonth)), this.hoursPerMonth);
    writeReport(stack, result);

    const idle = usd(result.idleMonthlyUsd);
    const gpu = usd(result.maxGpuHourlyUsd);
    const unknownNote = result.unknown.length > 0 ? `; ${result.unknown.length} item(s) without a price (see "unknown")` : '';
    Annotations.of(stack).addInfo(
      `Cost estimate (${PRICE_REGION} on-demand list prices as of ${PRICES_AS_OF}): idle $${idle}/month, `
      + `max GPU exposure $${gpu}/hour${unknownNote}; details in ${REPORT_FILE}`);
    if (result.unknown.length > 0 && (this.maxIdleMonthlyUsd !== undefined || this.maxGpuHourlyUsd !== undefined)) {
      Annotations.of(this).addWarningV2('@cdk-ml-platform/cost:UnknownPrices',
        `Cost budgets are checked without ${result.unknown.length} unpriced item(s): `
        + result.unknown.map(u => `${u.what} (${u.reason})`).join(', '));
    }

    const problems: string[] = [];
    if (this.maxIdleMonthlyUsd !== undefined && exceeds(result.idleMonthlyUsd, this.maxIdleMonthlyUsd)) {
      const top = topLines(result.lines, l => l.monthlyUsd).map(l => `${l.what} $${usd(l.monthlyUsd!)}`).join(', ');
      problems.push(mlError(this, 'CostReport', {
        code: 'IdleBudgetExceeded',
        what: `the idle monthly estimate exceeds maxIdleMonthlyUsd ${this.maxIdleMonthlyUsd}`,
        got: `$${idle}/month (largest: ${top})`,
        fix: 'lower minimum capacities or instance sizes, or raise maxIdleMonthlyUsd',
      }).message);
    }
    if (this.maxGpuHourlyUsd !== undefined && exceeds(result.maxGpuHourlyUsd, this.maxGpuHourlyUsd)) {
      const top = topLines(result.lines, l => l.hourlyUsd).map(l => `${l.what} $${usd(l.hourlyUsd!)}`).join(', ');
      problems.push(mlError(this, 'CostReport', {
        code: 'GpuBudgetExceeded',
        what: `the maximum hourly GPU exposure exceeds maxGpuHourlyUsd ${this.maxGpuHourlyUsd}`,
        got: `$${gpu}/hour (largest: ${top})`,
        fix: 'lower maximum capacities, node group sizes or Karpenter GPU limits, or raise maxGpuHourlyUsd',
      }).message);
    }
    return problems;
  }
}

/** Every stack nested (at any depth) in `stack`. */
function nestedStacksOf(stack: Stack): Stack[] {
  return stack.node.findAll().filter((c): c is Stack => Stack.isStack(c) && c !== stack && c.nested && isUnder(c, stack));
}

function isUnder(nested: Stack, stack: Stack): boolean {
  for (let p = nested.nestedStackParent; p; p = p.nestedStackParent) {
    if (p === stack) { return true; }
  }
  return false;
}

/** One report from a stack's and its nested stacks' reports (lines keep their construct paths). */
function mergeReports(reports: StackCostReport[], hoursPerMonth: number): StackCostReport {
  if (reports.length === 1) { return reports[0]; }
  return {
    hoursPerMonth,
    idleMonthlyUsd: round(reports.reduce((sum, r) => sum + r.idleMonthlyUsd, 0)),
    maxGpuHourlyUsd: round(reports.reduce((sum, r) => sum + r.maxGpuHourlyUsd, 0)),
    lines: reports.flatMap(r => r.lines),
    unknown: reports.flatMap(r => r.unknown),
    notPriced: [...new Set(reports.flatMap(r => r.notPriced))].sort(),
  };
}

/** Over budget by more than floating-point noise (a millionth of a dollar). */
function exceeds(estimate: number, budget: number): boolean {
  return estimate - budget > 1e-6;
}

function usd(n: number): string {
  return n.toFixed(2);
}

function round(n: number): number {
  return Math.round(n * 1e6) / 1e6;
}

function topLines(lines: CostLine[], value: (l: CostLine) => number | undefined): CostLine[] {
  return lines.filter(l => (value(l) ?? 0) > 0).sort((a, b) => value(b)! - value(a)!).slice(0, 3);
}

function writeReport(stack: Stack, result: StackCostReport): void {
  const stage = Stage.of(stack);
  if (!stage) { return; }
  const reports = REPORTS.get(stage) ?? {};
  REPORTS.set(stage, reports);
  reports[stack.stackName] = result;
  const all = Object.values(reports);
  const doc = {
    format: 'cdk-ml-platform/cost-report',
    version: 1,
    pricesAsOf: PRICES_AS_OF,
    region: PRICE_REGION,
    currency: 'USD',
    note: 'Estimates from on-demand list prices; excludes storage, requests, data transfer, training jobs and discounts.',
    idleMonthlyUsd: round(all.reduce((s, r) => s + r.idleMonthlyUsd, 0)),
    maxGpuHourlyUsd: round(all.reduce((s, r) => s + r.maxGpuHourlyUsd, 0)),
    stacks: reports,
  };
  fs.mkdirSync(stage.outdir, { recursive: true });
  fs.writeFileSync(path.join(stage.outdir, REPORT_FILE), JSON.stringify(doc, undefined, 2) + '\n');
}

/** Builds the report of one stack from its resolved CloudFormation resources. */
function estimateStack(stack: Stack, hours: number): StackCostReport {
  const lines: CostLine[] = [];
  const unknown: UnknownItem[] = [];
  const notPriced = new Set<string>();
  const resources: Res[] = [];
  for (const c of stack.node.findAll()) {
    if (!CfnResource.isCfnResource(c) || Stack.of(c) !== stack) { continue; }
    const logicalId = stack.resolve(c.logicalId) as string;
    try {
      const tpl = stack.resolve(c._toCloudFormation()) as { Resources: Record<string, { Properties?: unknown }> };
      resources.push({ cfn: c, logicalId, type: c.cfnResourceType, props: tpl.Resources[logicalId]?.Properties ?? {} });
    } catch (e) {
      unknown.push({ path: c.node.path, type: c.cfnResourceType, what: logicalId, reason: `could not be resolved: ${(e as Error).message}` });
    }
  }
  const byId = new Map(resources.map(r => [r.logicalId, r]));
  const idle = (r: Res, what: string, quantity: number, unitUsd: number, unit: string, monthlyUsd: number) =>
    lines.push({ path: r.cfn.node.path, type: r.type, what, quantity, unitUsd, unit, monthlyUsd: round(monthlyUsd) });
  const gpu = (r: Res, what: string, quantity: number, unitUsd: number, hourlyUsd: number) =>
    lines.push({ path: r.cfn.node.path, type: r.type, what, quantity, unitUsd, unit: 'instance-hour', hourlyUsd: round(hourlyUsd) });
  const miss = (r: Res, what: string, reason: string) => unknown.push({ path: r.cfn.node.path, type: r.type, what, reason });

  const handled = new Set<string>([
    'AWS::SageMaker::EndpointConfig', 'AWS::SageMaker::Endpoint', 'AWS::ApplicationAutoScaling::ScalableTarget',
    'AWS::EKS::Cluster', 'AWS::EKS::Nodegroup', 'Custom::AWSCDK-EKS-KubernetesResource', 'AWS::EC2::NatGateway', 'AWS::EC2::EIP',
    'AWS::EC2::VPCEndpoint', 'AWS::KMS::Key', 'AWS::CloudWatch::Alarm', 'AWS::CloudWatch::CompositeAlarm', 'AWS::CloudWatch::Dashboard',
    'AWS::DynamoDB::Table', 'AWS::EC2::LaunchTemplate', ...ZERO_IDLE_RESOURCE_TYPES,
  ]);

  estimateEndpoints(resources, hours, idle, gpu, miss);

  for (const r of resources) {
    const p = r.props;
    switch (r.type) {
      case 'AWS::EKS::Cluster':
        idle(r, `EKS control plane ${r.logicalId}`, 1, FIXED_PRICES_USD.eksControlPlaneHourly, 'hour', FIXED_PRICES_USD.eksControlPlaneHourly * hours);
        break;
      case 'AWS::EKS::Nodegroup':
        estimateNodegroup(r, byId, hours, idle, gpu, miss);
        break;
      case 'Custom::AWSCDK-EKS-KubernetesResource':
        estimateKarpenter(r, gpu, miss);
        break;
      case 'AWS::EC2::NatGateway':
        idle(r, `NAT gateway ${r.logicalId}`, 1, FIXED_PRICES_USD.natGatewayHourly, 'hour', FIXED_PRICES_USD.natGatewayHourly * hours);
        break;
      case 'AWS::EC2::EIP':
        idle(r, `public IPv4 address ${r.logicalId}`, 1, FIXED_PRICES_USD.publicIpv4Hourly, 'hour', FIXED_PRICES_USD.publicIpv4Hourly * hours);
        break;
      case 'AWS::EC2::VPCEndpoint': {
        if (p.VpcEndpointType !== 'Interface') { break; }
        if (!Array.isArray(p.SubnetIds)) { miss(r, `interface endpoint ${r.logicalId}`, 'subnet count unknown at synth'); break; }
        const azs = p.SubnetIds.length;
        idle(r, `interface endpoint ${r.logicalId}`, azs, FIXED_PRICES_USD.interfaceEndpointAzHourly, 'AZ-hour', azs * FIXED_PRICES_USD.interfaceEndpointAzHourly * hours);
        break;
      }
      case 'AWS::KMS::Key':
        idle(r, `KMS key ${r.logicalId}`, 1, FIXED_PRICES_USD.kmsKeyMonthly, 'month', FIXED_PRICES_USD.kmsKeyMonthly);
        break;
      case 'AWS::CloudWatch::Alarm': {
        const metrics = Array.isArray(p.Metrics) ? Math.max(1, p.Metrics.filter((m: any) => m.MetricStat).length) : 1;
        const periods: unknown[] = Array.isArray(p.Metrics) ? p.Metrics.map((m: any) => m.MetricStat?.Period) : [p.Period];
        const highRes = periods.some(x => typeof x === 'number' && x < 60);
        const unit = highRes ? FIXED_PRICES_USD.alarmHighResolutionMetricMonthly : FIXED_PRICES_USD.alarmStandardMetricMonthly;
        idle(r, `${highRes ? 'high-resolution ' : ''}alarm ${r.logicalId}`, metrics, unit, 'metric-month', metrics * unit);
        break;
      }
      case 'AWS::CloudWatch::CompositeAlarm':
        idle(r, `composite alarm ${r.logicalId}`, 1, FIXED_PRICES_USD.compositeAlarmMonthly, 'month', FIXED_PRICES_USD.compositeAlarmMonthly);
        break;
      case 'AWS::CloudWatch::Dashboard':
        idle(r, `dashboard ${r.logicalId}`, 1, FIXED_PRICES_USD.dashboardMonthly, 'month', FIXED_PRICES_USD.dashboardMonthly);
        break;
      case 'AWS::DynamoDB::Table': {
        if (p.BillingMode === 'PAY_PER_REQUEST') { break; }
        const t = p.ProvisionedThroughput;
        const rcu = t?.ReadCapacityUnits; const wcu = t?.WriteCapacityUnits;
        if (typeof rcu !== 'number' || typeof wcu !== 'number') { miss(r, `DynamoDB table ${r.logicalId}`, 'provisioned capacity unknown at synth'); break; }
        // Global secondary indexes with their own provisioned throughput are added in the same units.
        const gsis: any[] = Array.isArray(p.GlobalSecondaryIndexes) ? p.GlobalSecondaryIndexes : [];
        const rAll = rcu + gsis.reduce((s, g) => s + (g.ProvisionedThroughput?.ReadCapacityUnits ?? 0), 0);
        const wAll = wcu + gsis.reduce((s, g) => s + (g.ProvisionedThroughput?.WriteCapacityUnits ?? 0), 0);
        idle(r, `DynamoDB table ${r.logicalId} read capacity`, rAll, FIXED_PRICES_USD.dynamoDbRcuHourly, 'RCU-hour', rAll * FIXED_PRICES_USD.dynamoDbRcuHourly * hours);
        idle(r, `DynamoDB table ${r.logicalId} write capacity`, wAll, FIXED_PRICES_USD.dynamoDbWcuHourly, 'WCU-hour', wAll * FIXED_PRICES_USD.dynamoDbWcuHourly * hours);
        break;
      }
      default:
        if (!handled.has(r.type)) { notPriced.add(r.type); }
    }
  }

  return {
    hoursPerMonth: hours,
    idleMonthlyUsd: round(lines.reduce((s, l) => s + (l.monthlyUsd ?? 0), 0)),
    maxGpuHourlyUsd: round(lines.reduce((s, l) => s + (l.hourlyUsd ?? 0), 0)),
    lines,
    unknown,
    notPriced: [...notPriced].sort(),
  };
}

type IdleFn = (r: Res, what: string, quantity: number, unitUsd: number, unit: string, monthlyUsd: number) => void;
type GpuFn = (r: Res, what: string, quantity: number, unitUsd: number, hourlyUsd: number) => void;
type MissFn = (r: Res, what: string, reason: string) => void;

/** Whether an instance type (EC2 or `ml.` name) carries a GPU or other accelerator per the catalog. */
function isAccelerated(instanceType: string): boolean {
  return (lookupInstanceType(instanceType)?.acceleratorCount ?? 0) > 0;
}

/** Logical id for `{Ref}` / `{Fn::GetAtt}`, else undefined. */
function referencedId(v: any): string | undefined {
  if (v && typeof v === 'object') {
    if (typeof v.Ref === 'string') { return v.Ref; }
    if (Array.isArray(v['Fn::GetAtt'])) { return v['Fn::GetAtt'][0]; }
  }
  return undefined;
}

/** A resolved string expression as text, references written `{{LogicalId}}`; undefined when not flattenable. */
function flatten(v: any): string | undefined {
  if (typeof v === 'string') { return v; }
  const ref = referencedId(v);
  if (ref !== undefined) { return `{{${ref}}}`; }
  if (v && typeof v === 'object' && Array.isArray(v['Fn::Join'])) {
    const [sep, parts] = v['Fn::Join'];
    if (typeof sep !== 'string' || !Array.isArray(parts)) { return undefined; }
    const flat = parts.map(flatten);
    return flat.every(x => x !== undefined) ? flat.join(sep) : undefined;
  }
  return undefined;
}

function estimateEndpoints(resources: Res[], hours: number, idle: IdleFn, gpu: GpuFn, miss: MissFn): void {
  // Autoscaling bounds by "endpoint-key|variant".
  const scaling = new Map<string, { min?: number; max?: number }>();
  for (const r of resources.filter(x => x.type === 'AWS::ApplicationAutoScaling::ScalableTarget')) {
    if (r.props.ScalableDimension !== 'sagemaker:variant:DesiredInstanceCount') { continue; }
    const m = /^endpoint\/(.+)\/variant\/(.+)$/.exec(flatten(r.props.ResourceId) ?? '');
    if (!m) { continue; }
    scaling.set(`${m[1]}|${m[2]}`, { min: r.props.MinCapacity, max: r.props.MaxCapacity });
  }
  const configs = resources.filter(x => x.type === 'AWS::SageMaker::EndpointConfig');
  const configIdByName = new Map(configs.filter(c => typeof c.props.EndpointConfigName === 'string').map(c => [c.props.EndpointConfigName as string, c.logicalId]));
  const endpoints = resources.filter(x => x.type === 'AWS::SageMaker::Endpoint');
  for (const config of configs) {
    const users = endpoints.filter(e => {
      const ref = e.props.EndpointConfigName;
      return referencedId(ref) === config.logicalId || (typeof ref === 'string' && configIdByName.get(ref) === config.logicalId);
    });
    // A config no endpoint of this stack uses is counted once, as if deployed (another stack may use it).
    const targets: Array<Res | undefined> = users.length > 0 ? users : [undefined];
    const variants: any[] = Array.isArray(config.props.ProductionVariants) ? config.props.ProductionVariants : [];
    for (const endpoint of targets) {
      const keys = endpoint ? [`{{${endpoint.logicalId}}}`, ...(typeof endpoint.props.EndpointName === 'string' ? [endpoint.props.EndpointName] : [])] : [];
      const label = endpoint ? `endpoint ${endpoint.logicalId}` : `endpoint config ${config.logicalId}`;
      const owner = endpoint ?? config;
      for (const v of variants) {
        const what = `${label} variant ${v.VariantName ?? '?'}`;
        if (v.ServerlessConfig) {
          // Pay per request: no idle cost, except provisioned concurrency, which the table does not price.
          const pc = v.ServerlessConfig.ProvisionedConcurrency;
          if (pc !== undefined && pc !== 0) { miss(owner, `${what} (serverless)`, `provisioned concurrency ${typeof pc === 'number' ? pc : '(token)'} is not priced`); }
          continue;
        }
        const type = v.InstanceType;
        if (typeof type !== 'string') { miss(owner, what, 'instance type unknown at synth'); continue; }
        const initial = typeof v.InitialInstanceCount === 'number' ? v.InitialInstanceCount : 1;
        const managed = v.ManagedInstanceScaling?.Status === 'ENABLED' ? v.ManagedInstanceScaling : undefined;
        const bounds = keys.map(k => scaling.get(`${k}|${v.VariantName}`)).find(b => b !== undefined);
        const min = bounds?.min ?? managed?.MinInstanceCount ?? initial;
        const max = Math.max(bounds?.max ?? managed?.MaxInstanceCount ?? initial, min);
        const price = sageMakerHostingHourlyUsd(type);
        if (price === undefined) { miss(owner, `${what} (${type})`, `no SageMaker hosting price for ${type} in the table`); continue; }
        if (min > 0) { idle(owner, `${what} ${min} x ${type}`, min, price, 'instance-hour', min * price * hours); }
        if (isAccelerated(type) && max > 0) { gpu(owner, `${what} ${max} x ${type}`, max, price, max * price); }
      }
    }
  }
}

function estimateNodegroup(r: Res, byId: Map<string, Res>, hours: number, idle: IdleFn, gpu: GpuFn, miss: MissFn): void {
  const p = r.props;
  const what = `node group ${r.logicalId}`;
  let types: unknown[] | undefined = Array.isArray(p.InstanceTypes) && p.InstanceTypes.length > 0 ? p.InstanceTypes : undefined;
  if (!types && p.LaunchTemplate) {
    const lt = byId.get(referencedId(p.LaunchTemplate.Id) ?? referencedId(p.LaunchTemplate.Name) ?? '');
    const t = lt?.props.LaunchTemplateData?.InstanceType;
    types = typeof t === 'string' ? [t] : undefined;
  } else if (!types) {
    types = ['t3.medium']; // EKS default for managed node groups without a type
  }
  if (!types || types.some(t => typeof t !== 'string')) { miss(r, what, 'instance types unknown at synth'); return; }
  const names = types as string[];
  const unpriced = names.filter(t => ec2HourlyUsd(t) === undefined);
  for (const t of unpriced) { miss(r, `${what} (${t})`, `no EC2 price for ${t} in the table`); }
  const priced = names.filter(t => ec2HourlyUsd(t) !== undefined);
  if (priced.length === 0) { return; }
  // Most expensive allowed type: an upper bound when several types are allowed.
  const top = priced.reduce((a, b) => (ec2HourlyUsd(b)! > ec2HourlyUsd(a)! ? b : a));
  const price = ec2HourlyUsd(top)!;
  const min = typeof p.ScalingConfig?.MinSize === 'number' ? p.ScalingConfig.MinSize : 1;
  const max = Math.max(typeof p.ScalingConfig?.MaxSize === 'number' ? p.ScalingConfig.MaxSize : 2, min);
  const spot = p.CapacityType === 'SPOT' ? ' (spot, priced on-demand)' : '';
  if (min > 0) { idle(r, `${what} ${min} x ${top}${spot}`, min, price, 'instance-hour', min * price * hours); }
  if (names.some(isAccelerated) && max > 0) { gpu(r, `${what} ${max} x ${top}${spot}`, max, price, max * price); }
}

/** Parses a resolved `Manifest` property (a JSON string, or an `Fn::Join` of one with tokens inside strings). */
function manifestText(v: any): string | undefined {
  if (typeof v === 'string') { return v; }
  if (v && typeof v === 'object' && Array.isArray(v['Fn::Join'])) {
    const [sep, parts] = v['Fn::Join'];
    if (typeof sep !== 'string' || !Array.isArray(parts)) { return undefined; }
    return parts.map((x: unknown) => (typeof x === 'string' ? x : 'CDK_TOKEN')).join(sep);
  }
  return undefined;
}

function estimateKarpenter(r: Res, gpu: GpuFn, miss: MissFn): void {
  const text = manifestText(r.props.Manifest);
  if (text === undefined || !text.includes('NodePool')) { return; }
  let docs: any[];
  try {
    const parsed = JSON.parse(text);
    docs = Array.isArray(parsed) ? parsed : [parsed];
  } catch {
    miss(r, `Kubernetes manifest ${r.logicalId}`, 'mentions a NodePool but could not be parsed at synth');
    return;
  }
  for (const d of docs) {
    if (!d || d.kind !== 'NodePool' || typeof d.apiVersion !== 'string' || !d.apiVersion.startsWith('karpenter.sh/')) { continue; }
    const what = `Karpenter NodePool ${d.metadata?.name ?? '?'}`;
    const reqs: any[] = d.spec?.template?.spec?.requirements ?? [];
    const typeReq = reqs.find(q => q.key === 'node.kubernetes.io/instance-type' && q.operator === 'In');
    const types: string[] = (typeReq?.values ?? []).filter((t: unknown) => typeof t === 'string');
    const rawLimit = d.spec?.limits?.['nvidia.com/gpu'];
    const limit = typeof rawLimit === 'number' ? rawLimit : (typeof rawLimit === 'string' && /^\d+$/.test(rawLimit) ? Number(rawLimit) : undefined);
    const gpuTypes = types.filter(isAccelerated);
    if (gpuTypes.length === 0) {
      if (limit !== undefined) { miss(r, what, 'has a GPU limit but no listed GPU instance types (node.kubernetes.io/instance-type In [...])'); }
      continue;
    }
    if (limit === undefined) { miss(r, what, 'no nvidia.com/gpu limit: GPU exposure is unbounded'); continue; }
    for (const t of gpuTypes.filter(x => ec2HourlyUsd(x) === undefined)) { miss(r, `${what} (${t})`, `no EC2 price for ${t} in the table`); }
    // Upper bound: the fleet of a single type that costs most while staying within the GPU limit.
    let best: { type: string; nodes: number; cost: number } | undefined;
    for (const t of gpuTypes.filter(x => ec2HourlyUsd(x) !== undefined)) {
      const nodes = Math.ceil(limit / lookupInstanceType(t)!.acceleratorCount);
      const cost = nodes * ec2HourlyUsd(t)!;
      if (!best || cost > best.cost) { best = { type: t, nodes, cost }; }
    }
    const capReq = reqs.find(q => q.key === 'karpenter.sh/capacity-type' && q.operator === 'In');
    const spot = Array.isArray(capReq?.values) && !capReq.values.includes('on-demand') ? ', spot, priced on-demand' : '';
    if (best && best.nodes > 0) { gpu(r, `${what} ${best.nodes} x ${best.type} (limit ${limit} GPUs${spot})`, best.nodes, ec2HourlyUsd(best.type)!, best.cost); }
  }
}
