/**
 * Generates the README's architecture picture (docs/architecture.svg) from the construct tree of an app: every
 * MlPlatform with its shared parts (data lake, audit trail, personas, cost report, feature stores, EKS) and one
 * column per model (training pipeline → registry → endpoint → monitors → continuous-training loop).
 *
 * Plain string building, no dependencies: the output depends only on the tree (no timestamps, no random ids), so
 * a test can compare it with the committed file.
 *
 *   npx ts-node --transpile-only test/support/architecture-diagram.ts [out.svg]   (default docs/architecture.svg)
 *
 * It lives under test/ because test/tsconfig.json is the only generated tsconfig that type-checks and lints code
 * outside src/, and because the package never ships test/.
 */
import * as fs from 'fs';
import * as path from 'path';
import { App, AppProps, CfnResource, Stack, Token } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';
import { createExamplesApp } from '../../examples';
import { DataZone, MlPlatform, PlatformModel } from '../../src';

/** Context the CLI builds the examples with: read-only feature-schema lock, no git lookup (stable output). */
export const DIAGRAM_APP_PROPS: AppProps = {
  context: {
    'cdk-ml-platform:frozenFeatureSchemas': 'true',
    'cdk-ml-platform:codeVersion': 'architecture-diagram',
  },
};

/** Models drawn per platform; the rest are summarised in a "+N more" box. */
export const MAX_MODEL_COLUMNS = 6;

// ---------------------------------------------------------------------------------------------------------------
// Layout (pixels). Everything is a fixed grid computed from counts.
// ---------------------------------------------------------------------------------------------------------------
const MARGIN = 20; // outside the platform frames
const PAD = 20; // inside a platform frame
const PLATFORM_GAP = 24;
const HEADER_H = 56;
const CAPTION_H = 20;
const SERVICE_H = 60;
const SERVICE_GAP = 14;
const LAKE_GAP = 14;
const LAKE_H = 78;
const CHIP_GAP = 10;
const RAIL_MON_DY = 16; // below the lake: the capture rail into the monitoring zone
const RAIL_CUR_DY = 34; // below the lake: the training-data rail out of the curated zone
const COLUMNS_DY = 56; // lake bottom to the top of the model columns
const COL_W = 280;
const GUTTER = 44;
const LEFT_ROOM = 20; // left of the first column: its training-data lane
const LANE_ROOM = 30; // right of the last column: its capture lane
const CAPTURE_LANE_DX = 20; // column's right edge to its capture lane, in the gutter on the right
const DATA_LANE_DX = 10; // column's left edge to its training-data lane, in the gutter on the left
const INSET = 34; // column edge to its boxes: room for the retrain / promote lanes
const BOX_W = COL_W - 2 * INSET;
const COL_TITLE_H = 48;
const STAGE_GAP = 32; // between boxes joined by an arrow
const EXTRA_GAP = 14; // between trailing boxes without arrows
const FOOTER_H = 22;

const FONT = 'sans-serif';
const INK = '#1f2937';
const MUTED = '#6b7280';

interface Palette { readonly fill: string; readonly stroke: string }
const COLORS = {
  frame: { fill: '#f8fafc', stroke: '#cbd5e1' },
  column: { fill: '#ffffff', stroke: '#e2e8f0' },
  service: { fill: '#f1f5f9', stroke: '#64748b' },
  eks: { fill: '#fff7ed', stroke: '#ea580c' },
  lake: { fill: '#ecfeff', stroke: '#0e7490' },
  chip: { fill: '#ffffff', stroke: '#0e7490' },
  training: { fill: '#eff6ff', stroke: '#2563eb' },
  registry: { fill: '#f5f3ff', stroke: '#7c3aed' },
  endpoint: { fill: '#ecfdf5', stroke: '#059669' },
  monitor: { fill: '#fffbeb', stroke: '#d97706' },
  loop: { fill: '#fdf2f8', stroke: '#db2777' },
  extra: { fill: '#f9fafb', stroke: '#6b7280' },
  more: { fill: '#ffffff', stroke: '#9ca3af' },
} satisfies Record<string, Palette>;

/** Arrow kinds: colour of the line and of its marker. */
const ARROWS = {
  data: '#0e7490', // training data out of the lake
  capture: '#d97706', // captured traffic into the lake
  flow: '#475569', // the model's own pipeline
  control: '#db2777', // the loop acting on the pipeline and the endpoint
};
type ArrowKind = keyof typeof ARROWS;

// ---------------------------------------------------------------------------------------------------------------
// What is drawn: a view of the tree, read defensively (some properties are being added to the constructs).
// ---------------------------------------------------------------------------------------------------------------
interface ServiceView { readonly title: string; readonly lines: string[]; readonly chips?: string[]; readonly eks?: boolean }

interface ModelView {
  readonly id: string;
  readonly name?: string;
  readonly pipeline: boolean;
  /** The Train step runs as a Kubeflow job on the EKS training pool (kubeflow backend). */
  readonly kubeflow: boolean;
  readonly registry: boolean;
  /** How the model is served: a SageMaker endpoint, or a model server on the EKS serving pool. */
  readonly serving?: { readonly kind: 'endpoint' | 'server'; readonly detail: string; readonly name?: string };
  readonly drift: boolean;
  readonly health: boolean;
  readonly loop: boolean;
  readonly extras: { readonly title: string; readonly line: string }[];
}

interface PlatformView {
  readonly path: string;
  readonly name: string;
  readonly backend?: string;
  readonly lakePath: string;
  readonly services: ServiceView[];
  readonly models: ModelView[];
}

/** A plain string, or undefined for tokens and non-strings (never render `${Token[...]}`). */
function literal(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' && !Token.isUnresolved(value) ? value : undefined;
}

function isMlPlatform(c: IConstruct): c is MlPlatform {
  // Duck typing as well, in case the app was built against another copy of the library (lib/ vs src/).
  return c instanceof MlPlatform
    || (c.constructor?.name === 'MlPlatform' && 'dataLake' in c && Array.isArray((c as any).models));
}

function constructName(c: unknown): string {
  return (c as any)?.constructor?.name ?? 'Construct';
}

/**
 * The endpoint's rollout (`CANARY`, `LINEAR`, `ALL_AT_ONCE`, `ROLLING`): ModelEndpoint does not expose its
 * strategy, so read it from the endpoint's deployment config (a Lazy, resolved here read-only).
 */
function rolloutKind(endpoint: any): string | undefined {
  const direct = literal(endpoint?.deployment?.kind);
  if (direct) { return direct; }
  const cfn = endpoint?.node?.tryFindChild('Resource');
  if (!(cfn instanceof CfnResource) || cfn.cfnResourceType !== 'AWS::SageMaker::Endpoint') { return undefined; }
  try {
    const config = Stack.of(cfn).resolve((cfn as any).deploymentConfig);
    if (config?.rollingUpdatePolicy) { return 'ROLLING'; }
    return literal(config?.blueGreenUpdatePolicy?.trafficRoutingConfiguration?.type);
  } catch {
    return undefined;
  }
}

function modelView(model: PlatformModel): ModelView {
  const m = model as any;
  const endpoint = m.endpoint;
  const server = m.server;
  const kind = endpoint === undefined ? undefined : rolloutKind(endpoint);
  const extras: ModelView['extras'] = [];
  if (m.modelCard) { extras.push({ title: 'Model card', line: 'intended use · risk · lineage' }); }
  if (endpoint !== undefined && server !== undefined) {
    // Not built by PlatformModel today; shown rather than dropped if a model ever has both.
    extras.push({ title: 'Model server (EKS)', line: constructName(server) });
  }
  let serving: ModelView['serving'];
  if (endpoint !== undefined) {
    serving = {
      kind: 'endpoint',
      detail: `${kind ? kind.toLowerCase().replace(/_/g, '-') : 'safe rollout'} · capture`,
      name: literal(endpoint.endpointName),
    };
  } else if (server !== undefined) {
    serving = { kind: 'server', detail: 'serving pool · capture', name: literal(server.serverName) ?? literal(server.endpointName) };
  }
  return {
    // The platform puts each model under a host (nested stack or construct) named after the model id.
    id: model.node.scope?.node.id ?? model.node.id,
    name: literal(m.registry?.modelPackageGroupName) ?? literal(m.pipeline?.pipelineName),
    pipeline: m.pipeline !== undefined,
    kubeflow: m.launcher !== undefined,
    registry: m.registry !== undefined,
    serving,
    drift: m.driftMonitor !== undefined,
    health: m.predictionHealth !== undefined,
    loop: m.loop !== undefined,
    extras,
  };
}

function platformView(platform: MlPlatform): PlatformView {
  const p = platform as any;
  const services: ServiceView[] = [];
  if (p.auditTrail) { services.push({ title: 'Audit trail', lines: ['CloudTrail · Object Lock'] }); }
  if (p.personas) {
    const roles = [['dataScientist', 'data scientist'], ['mlEngineer', 'ML engineer'], ['dataEngineer', 'data engineer']]
      .filter(([prop]) => p.personas[prop] !== undefined).map(([, label]) => label);
    const lines = roles.length === 0 ? ['team roles'] : [roles.slice(0, 2).join(' · '), ...roles.length > 2 ? [roles.slice(2).join(' · ')] : []];
    services.push({ title: 'Personas', lines });
  }
  if (p.costReport) { services.push({ title: 'Cost report', lines: ['cost allocation · budgets'] }); }
  const stores: any[] = Array.isArray(p.featureStores) ? p.featureStores : [];
  if (stores.length > 0) {
    const names = stores.map(s => literal(s?.featureGroupName) ?? s?.node?.id ?? 'feature store');
    services.push({ title: `Feature stores (${stores.length})`, lines: [names.join(', ')] });
  }
  if (p.cluster) {
    const chips = [['trainingPool', 'training pool'], ['servingPool', 'serving pool']]
      .filter(([prop]) => p[prop] !== undefined).map(([, label]) => label);
    const clusterName = literal(p.cluster.clusterName) ?? literal(p.cluster.cluster?.clusterName) ?? p.cluster.node?.id ?? '';
    services.push({ title: 'EKS cluster', lines: [clusterName], chips, eks: true });
  }
  return {
    path: platform.node.path,
    name: platform.name,
    backend: literal(p.backend?.kind),
    lakePath: platform.dataLake.node.path,
    services,
    models: platform.models.map(modelView),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// SVG primitives
// ---------------------------------------------------------------------------------------------------------------

/** Escapes text for XML character data and attribute values. */
export function escapeXml(value: string): string {
  return value.replace(/[&<>"']/g, ch => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', '\'': '&apos;' })[ch]!);
}

/** A coordinate without floating-point noise. */
function n(value: number): string {
  return String(Math.round(value * 10) / 10);
}

/** Conservative width of sans-serif text (no font metrics available at generation time). */
function textWidth(value: string, size: number, bold: boolean): number {
  return [...value].length * size * (bold ? 0.62 : 0.57);
}

/** Cuts text to fit `maxWidth`, ending in an ellipsis. */
function fit(value: string, size: number, bold: boolean, maxWidth: number): string {
  if (textWidth(value, size, bold) <= maxWidth) { return value; }
  const chars = [...value];
  let keep = Math.max(1, Math.floor(maxWidth / (size * (bold ? 0.62 : 0.57))) - 1);
  while (keep > 1 && textWidth(chars.slice(0, keep).join('') + '…', size, bold) > maxWidth) { keep--; }
  return chars.slice(0, keep).join('') + '…';
}

interface TextOptions {
  readonly size?: number;
  readonly bold?: boolean;
  readonly anchor?: 'start' | 'middle' | 'end';
  readonly fill?: string;
  readonly maxWidth?: number;
  /** White outline behind the glyphs, so labels stay readable where they cross lines. */
  readonly halo?: boolean;
  readonly rotate?: boolean;
}

function text(x: number, y: number, content: string, o: TextOptions = {}): string {
  const size = o.size ?? 11;
  const bold = o.bold ?? false;
  const shown = o.maxWidth === undefined ? content : fit(content, size, bold, o.maxWidth);
  const attrs = [
    `x="${n(x)}"`, `y="${n(y)}"`, `font-size="${size}"`,
    ...bold ? ['font-weight="bold"'] : [],
    ...o.anchor && o.anchor !== 'start' ? [`text-anchor="${o.anchor}"`] : [],
    `fill="${o.fill ?? INK}"`,
    ...o.halo ? ['stroke="#ffffff" stroke-width="3" stroke-linejoin="round" paint-order="stroke"'] : [],
    ...o.rotate ? [`transform="rotate(-90 ${n(x)} ${n(y)})"`] : [],
  ];
  return `<text ${attrs.join(' ')}>${escapeXml(shown)}</text>`;
}

function rect(x: number, y: number, w: number, h: number, palette: Palette, extra = ''): string {
  return `<rect x="${n(x)}" y="${n(y)}" width="${n(w)}" height="${n(h)}" rx="6" fill="${palette.fill}" stroke="${palette.stroke}"${extra}/>`;
}

/** Splits a title into at most two lines that fit `maxWidth` (the second is cut if needed). */
function wrap(title: string, size: number, maxWidth: number): string[] {
  if (textWidth(title, size, true) <= maxWidth) { return [title]; }
  const words = title.split(' ');
  let first = words[0];
  let i = 1;
  while (i < words.length && textWidth(`${first} ${words[i]}`, size, true) <= maxWidth) { first += ` ${words[i++]}`; }
  return i < words.length ? [first, words.slice(i).join(' ')] : [first];
}

/** A labelled box: bold title (wrapped to two lines when narrow) and muted detail lines, centred. */
function box(x: number, y: number, w: number, h: number, palette: Palette, title: string, lines: string[] = []): string[] {
  const titleLines = wrap(title, 12, w - 12);
  const rows = [...titleLines.map(t => ({ t, bold: true })), ...lines.map(t => ({ t, bold: false }))];
  const lineH = 14;
  const top = y + h / 2 - (rows.length * lineH) / 2 + 11;
  return [
    rect(x, y, w, h, palette),
    ...rows.map((r, i) => text(x + w / 2, top + i * lineH, r.t, {
      size: r.bold ? 12 : 10.5, bold: r.bold, anchor: 'middle', fill: r.bold ? INK : MUTED, maxWidth: w - 12,
    })),
  ];
}

function polyline(points: [number, number][], kind: ArrowKind, arrowhead = true, dashed = false): string {
  const pts = points.map(([x, y]) => `${n(x)},${n(y)}`).join(' ');
  return `<polyline points="${pts}" fill="none" stroke="${ARROWS[kind]}" stroke-width="1.5"`
    + `${dashed ? ' stroke-dasharray="5 3"' : ''}${arrowhead ? ` marker-end="url(#arrow-${kind})"` : ''}/>`;
}

function dot(x: number, y: number, kind: ArrowKind): string {
  return `<circle cx="${n(x)}" cy="${n(y)}" r="2.5" fill="${ARROWS[kind]}"/>`;
}

function markers(): string {
  return (Object.keys(ARROWS) as ArrowKind[]).map(kind =>
    `<marker id="arrow-${kind}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">`
    + `<path d="M0,0 L10,5 L0,10 z" fill="${ARROWS[kind]}"/></marker>`).join('');
}

// ---------------------------------------------------------------------------------------------------------------
// Geometry
// ---------------------------------------------------------------------------------------------------------------
const SERVICE_W = 190;
const EKS_W = 262;

function serviceWidth(s: ServiceView): number {
  return s.eks ? EKS_W : SERVICE_W;
}

/** Vertical positions of a model's boxes inside its column (relative to the column top). */
interface ColumnLayout {
  readonly pipeline?: number;
  readonly registry?: number;
  readonly endpoint?: number;
  readonly monitors?: number;
  readonly loop?: number;
  readonly extras: number[];
  readonly height: number;
}
const H = { pipeline: 56, registry: 44, endpoint: 56, monitors: 50, loop: 52, extra: 40 };

function columnLayout(m: ModelView): ColumnLayout {
  let y = COL_TITLE_H;
  let previousLinked = false;
  const place = (present: boolean, height: number): number | undefined => {
    if (!present) { return undefined; }
    const at = y + (previousLinked ? STAGE_GAP : 0);
    y = at + height;
    previousLinked = true;
    return at;
  };
  const pipeline = place(m.pipeline, H.pipeline);
  const registry = place(m.registry, H.registry);
  const endpoint = place(m.serving !== undefined, H.endpoint);
  const monitors = place(m.drift || m.health, H.monitors);
  const loop = place(m.loop, H.loop);
  const extras = m.extras.map(() => {
    const at = y + EXTRA_GAP;
    y = at + H.extra;
    return at;
  });
  return { pipeline, registry, endpoint, monitors, loop, extras, height: y + 16 };
}

interface Point { readonly x: number; readonly y: number }

/** Where a column's lines meet the lake's: the training-data inlet and the capture outlet, each with its lane. */
interface ColumnPorts {
  readonly dataIn?: Point;
  readonly dataLane: number;
  readonly captureFrom?: Point;
  readonly captureLane: number;
}

function drawColumn(out: string[], x: number, top: number, height: number, m: ModelView, layout: ColumnLayout): ColumnPorts {
  out.push(`<g data-model="${escapeXml(m.id)}">`);
  out.push(rect(x, top, COL_W, height, COLORS.column));
  const bx = x + INSET;
  const titleW = COL_W - 24;
  // Model ids have up to 40 characters: shrink the title before cutting it.
  let titleSize = 13;
  while (titleSize > 9.5 && textWidth(m.id, titleSize, true) > titleW) { titleSize -= 0.5; }
  out.push(text(x + 12, top + 20, m.id, { size: titleSize, bold: true, maxWidth: titleW }));
  if (m.name) { out.push(text(x + 12, top + 36, m.name, { size: 10.5, fill: MUTED, maxWidth: titleW })); }

  const cx = bx + BOX_W / 2;
  const abs = (rel?: number) => rel === undefined ? undefined : top + rel;
  const pipelineY = abs(layout.pipeline);
  const registryY = abs(layout.registry);
  const endpointY = abs(layout.endpoint);
  const monitorsY = abs(layout.monitors);
  const loopY = abs(layout.loop);
  const ports: { dataIn?: Point; dataLane: number; captureFrom?: Point; captureLane: number } = {
    dataLane: x - DATA_LANE_DX, captureLane: x + COL_W + CAPTURE_LANE_DX,
  };

  /** A straight flow arrow between two stacked boxes, labelled beside it. */
  const down = (fromBottom: number, toTop: number, label: string, atX = cx, labelLeft = false) => {
    out.push(polyline([[atX, fromBottom], [atX, toTop - 1]], 'flow'));
    out.push(text(atX + (labelLeft ? -6 : 6), (fromBottom + toTop) / 2 + 4, label,
      { size: 10, fill: MUTED, anchor: labelLeft ? 'end' : 'start', halo: true }));
  };

  if (pipelineY !== undefined) {
    out.push(...box(bx, pipelineY, BOX_W, H.pipeline, COLORS.training, 'Training pipeline',
      ['train → evaluate → compare', ...m.kubeflow ? ['train: Kubeflow job on EKS'] : []]));
    // Training data enters on the left, above the retrain arrow.
    ports.dataIn = { x: bx, y: pipelineY + H.pipeline / 3 };
  }
  if (registryY !== undefined) {
    out.push(...box(bx, registryY, BOX_W, H.registry, COLORS.registry, 'Model registry', ['versions · approval']));
    if (pipelineY !== undefined) { down(pipelineY + H.pipeline, registryY, 'register'); }
  }
  if (endpointY !== undefined && m.serving) {
    out.push(...box(bx, endpointY, BOX_W, H.endpoint, m.serving.kind === 'endpoint' ? COLORS.endpoint : COLORS.eks,
      m.serving.kind === 'endpoint' ? 'Endpoint' : 'Model server (EKS)', [m.serving.detail, ...m.serving.name ? [m.serving.name] : []]));
    if (registryY !== undefined) { down(registryY + H.registry, endpointY, m.serving.kind === 'endpoint' ? 'latest approved' : 'promoter: newest approved'); }
    ports.captureFrom = { x: bx + BOX_W, y: endpointY + H.endpoint / 3 };
    out.push(polyline([[ports.captureFrom.x, ports.captureFrom.y], [ports.captureLane, ports.captureFrom.y]], 'capture', false));
    // Below the line and right of the promote / approve lane, which the line may cross.
    out.push(text(x + COL_W - INSET / 2 + 5, ports.captureFrom.y + 12, 'capture', { size: 10, fill: ARROWS.capture, halo: true }));
  }
  if (monitorsY !== undefined) {
    const both = m.drift && m.health;
    const w = both ? (BOX_W - 10) / 2 : BOX_W;
    const monitors: { x: number; title: string; line: string }[] = [];
    if (m.drift) { monitors.push({ x: bx, title: 'Drift monitor', line: 'input PSI' }); }
    if (m.health) { monitors.push({ x: both ? bx + w + 10 : bx, title: 'Prediction health', line: 'output checks' }); }
    for (const mon of monitors) {
      out.push(...box(mon.x, monitorsY, w, H.monitors, COLORS.monitor, mon.title, [fit(mon.line, 10.5, false, w - 12)]));
    }
    const centers = monitors.map(mon => mon.x + w / 2);
    /** Parallel arrows into (or out of) the monitors, labelled once: between them, or beside a single one. */
    const fan = (from: number, to: number, label: string) => {
      centers.forEach(mx => out.push(polyline([[mx, from], [mx, to - 1]], 'flow')));
      const labelX = centers.length > 1 ? (centers[0] + centers[1]) / 2 : centers[0] + 6;
      out.push(text(labelX, (from + to) / 2 + 4, label,
        { size: 10, fill: MUTED, halo: true, anchor: centers.length > 1 ? 'middle' : 'start' }));
    };
    if (endpointY !== undefined) { fan(endpointY + H.endpoint, monitorsY, 'reads capture'); }
    if (loopY !== undefined) { fan(monitorsY + H.monitors, loopY, 'alarms'); }
  }
  if (loopY !== undefined) {
    out.push(...box(bx, loopY, BOX_W, H.loop, COLORS.loop, 'Continuous training', ['retrain · compare · promote']));
    const mid = loopY + H.loop / 2;
    if (pipelineY !== undefined) {
      const lane = x + INSET / 2;
      const target = pipelineY + H.pipeline / 2;
      out.push(polyline([[bx, mid], [lane, mid], [lane, target], [bx - 1, target]], 'control', true, true));
      out.push(text(lane + 3.5, (mid + target) / 2, 'retrain', { size: 10, fill: ARROWS.control, anchor: 'middle', halo: true, rotate: true }));
    }
    // The loop deploys to an endpoint; for a Kubernetes server it approves, and the promoter rolls the version out.
    const promoteTo = m.serving?.kind === 'endpoint' && endpointY !== undefined
      ? { y: endpointY + (H.endpoint * 2) / 3, label: 'promote / rollback' }
      : registryY !== undefined ? { y: registryY + H.registry / 2, label: 'approve' } : undefined;
    if (promoteTo) {
      const lane = x + COL_W - INSET / 2;
      out.push(polyline([[bx + BOX_W, mid], [lane, mid], [lane, promoteTo.y], [bx + BOX_W + 1, promoteTo.y]], 'control', true, true));
      out.push(text(lane + 3.5, (mid + promoteTo.y) / 2, promoteTo.label, { size: 10, fill: ARROWS.control, anchor: 'middle', halo: true, rotate: true }));
    }
  }
  layout.extras.forEach((rel, i) => {
    const e = m.extras[i];
    out.push(...box(bx, top + rel, BOX_W, H.extra, COLORS.extra, e.title, [e.line]));
  });
  out.push('</g>');
  return ports;
}

function drawMore(out: string[], x: number, top: number, height: number, hidden: ModelView[]): void {
  out.push('<g data-more="">');
  out.push(rect(x, top, COL_W, height, COLORS.more, ' stroke-dasharray="6 4"'));
  out.push(text(x + COL_W / 2, top + 40, `+${hidden.length} more`, { size: 16, bold: true, anchor: 'middle', fill: MUTED }));
  const maxRows = Math.max(0, Math.floor((height - 70) / 15));
  const shown = hidden.length > maxRows ? hidden.slice(0, Math.max(0, maxRows - 1)) : hidden;
  shown.forEach((m, i) => out.push(text(x + COL_W / 2, top + 66 + i * 15, m.id, { size: 10.5, anchor: 'middle', fill: MUTED, maxWidth: COL_W - 24 })));
  if (shown.length < hidden.length && maxRows > 0) {
    out.push(text(x + COL_W / 2, top + 66 + shown.length * 15, '…', { size: 10.5, anchor: 'middle', fill: MUTED }));
  }
  out.push('</g>');
}

interface PlatformGeometry { readonly innerW: number; readonly height: number; readonly columns: number; readonly colH: number }

function measure(p: PlatformView): PlatformGeometry {
  const drawn = p.models.slice(0, MAX_MODEL_COLUMNS);
  const columns = drawn.length + (p.models.length > drawn.length ? 1 : 0);
  const servicesW = p.services.reduce((sum, s) => sum + serviceWidth(s), 0) + Math.max(0, p.services.length - 1) * SERVICE_GAP;
  const lakeW = 5 * 96 + 4 * CHIP_GAP + 24;
  const colsW = columns === 0 ? 0 : LEFT_ROOM + columns * COL_W + (columns - 1) * GUTTER + LANE_ROOM;
  const colH = Math.max(0, ...drawn.map(m => columnLayout(m).height), columns > drawn.length ? 160 : 0);
  const servicesH = p.services.length > 0 ? SERVICE_H + LAKE_GAP : 0;
  const lakeBottom = HEADER_H + CAPTION_H + servicesH + LAKE_H;
  const height = columns === 0 ? lakeBottom + PAD : lakeBottom + COLUMNS_DY + colH + PAD;
  return { innerW: Math.max(servicesW, lakeW, colsW, 360), height, columns, colH };
}

function drawPlatform(out: string[], p: PlatformView, fx: number, fy: number, frameW: number, g: PlatformGeometry): void {
  const ix = fx + PAD;
  const innerW = frameW - 2 * PAD;
  out.push(`<g data-platform="${escapeXml(p.path)}">`);
  out.push(rect(fx, fy, frameW, g.height, COLORS.frame));
  out.push(text(ix, fy + 26, `MlPlatform ‘${p.name}’`, { size: 16, bold: true, maxWidth: innerW }));
  const count = `${p.models.length} model${p.models.length === 1 ? '' : 's'}`;
  out.push(text(ix, fy + 44, [p.path, ...p.backend ? [`backend: ${p.backend}`] : [], count].join('  ·  '),
    { size: 11, fill: MUTED, maxWidth: innerW }));

  // Shared row: services, then the lake spanning the frame.
  let y = fy + HEADER_H;
  out.push(text(ix, y + 12, 'SHARED', { size: 9.5, bold: true, fill: MUTED }));
  y += CAPTION_H;
  let sx = ix;
  for (const s of p.services) {
    const w = serviceWidth(s);
    if (s.eks) {
      out.push(rect(sx, y, w, SERVICE_H, COLORS.eks));
      out.push(text(sx + 10, y + 18, s.title, { size: 12, bold: true }));
      out.push(text(sx + w - 10, y + 18, s.lines[0] ?? '', { size: 10.5, fill: MUTED, anchor: 'end', maxWidth: w - 110 }));
      const chips = s.chips ?? [];
      const chipW = chips.length > 0 ? (w - 20 - (chips.length - 1) * 8) / chips.length : 0;
      chips.forEach((c, i) => {
        const cx = sx + 10 + i * (chipW + 8);
        out.push(rect(cx, y + 28, chipW, 22, { fill: '#ffffff', stroke: COLORS.eks.stroke }));
        out.push(text(cx + chipW / 2, y + 43, c, { size: 10.5, anchor: 'middle', maxWidth: chipW - 8 }));
      });
    } else {
      out.push(...box(sx, y, w, SERVICE_H, COLORS.service, s.title, s.lines.map(l => fit(l, 10.5, false, w - 12))));
    }
    sx += w + SERVICE_GAP;
  }
  if (p.services.length > 0) { y += SERVICE_H + LAKE_GAP; }

  const lakeTop = y;
  const lakeBottom = lakeTop + LAKE_H;
  out.push(rect(ix, lakeTop, innerW, LAKE_H, COLORS.lake));
  out.push(text(ix + 12, lakeTop + 19, 'Data lake', { size: 12, bold: true }));
  out.push(text(ix + 80, lakeTop + 19, p.lakePath, { size: 10.5, fill: MUTED, maxWidth: innerW - 92 }));
  const zones = Object.values(DataZone) as string[];
  const chipW = Math.min(130, (innerW - 24 - (zones.length - 1) * CHIP_GAP) / zones.length);
  const chipTop = lakeTop + 30;
  const chipBottom = chipTop + 36;
  const zoneX: Record<string, number> = {};
  zones.forEach((zone, i) => {
    const cx = ix + 12 + i * (chipW + CHIP_GAP);
    zoneX[zone] = cx + chipW / 2;
    out.push(rect(cx, chipTop, chipW, 36, COLORS.chip));
    out.push(text(cx + chipW / 2, chipTop + 22, `${zone}/`, { size: 11, anchor: 'middle', maxWidth: chipW - 8 }));
  });

  // Model columns.
  const drawn = p.models.slice(0, MAX_MODEL_COLUMNS);
  const colTop = lakeBottom + COLUMNS_DY;
  const colX = (i: number) => ix + LEFT_ROOM + i * (COL_W + GUTTER);
  const ports: ColumnPorts[] = [];
  drawn.forEach((m, i) => {
    ports.push(drawColumn(out, colX(i), colTop, g.colH, m, columnLayout(m)));
  });
  if (p.models.length > drawn.length) {
    drawMore(out, colX(drawn.length), colTop, g.colH, p.models.slice(drawn.length));
  }

  // Rails between the lake and the columns: curated → every pipeline; every endpoint's capture → monitoring.
  const railCur = lakeBottom + RAIL_CUR_DY;
  const railMon = lakeBottom + RAIL_MON_DY;
  const inlets = ports.filter(pt => pt.dataIn);
  if (inlets.length > 0) {
    const cur = zoneX[DataZone.CURATED];
    const xs = [cur, ...inlets.map(pt => pt.dataLane)];
    out.push(polyline([[cur, chipBottom], [cur, railCur]], 'data', false));
    out.push(polyline([[Math.min(...xs), railCur], [Math.max(...xs), railCur]], 'data', false));
    for (const pt of inlets) {
      const to = pt.dataIn!;
      out.push(dot(pt.dataLane, railCur, 'data'));
      out.push(polyline([[pt.dataLane, railCur], [pt.dataLane, to.y], [to.x - 1, to.y]], 'data'));
      out.push(text(pt.dataLane + 3.5, (railCur + to.y) / 2, 'training data',
        { size: 10, fill: ARROWS.data, anchor: 'middle', halo: true, rotate: true }));
    }
  }
  const outlets = ports.filter(pt => pt.captureFrom);
  if (outlets.length > 0) {
    const mon = zoneX[DataZone.MONITORING];
    const xs = [mon, ...outlets.map(pt => pt.captureLane)];
    out.push(polyline([[Math.min(...xs), railMon], [Math.max(...xs), railMon]], 'capture', false));
    out.push(dot(mon, railMon, 'capture'));
    out.push(polyline([[mon, railMon], [mon, chipBottom + 1]], 'capture'));
    for (const pt of outlets) {
      out.push(polyline([[pt.captureLane, pt.captureFrom!.y], [pt.captureLane, railMon]], 'capture', false));
      out.push(dot(pt.captureLane, railMon, 'capture'));
    }
  }
  out.push('</g>');
}

/**
 * Renders the architecture of every MlPlatform in `app` (construct-tree order) as a standalone SVG document.
 * The app does not need to be synthesized. Throws when the app contains no MlPlatform.
 */
export function renderArchitecture(app: App): string {
  const platforms = app.node.findAll().filter(isMlPlatform).map(platformView);
  if (platforms.length === 0) {
    throw new Error(`renderArchitecture: the app contains no MlPlatform (searched ${app.node.findAll().length} constructs); `
      + 'the diagram is drawn from MlPlatform and its models');
  }
  const geometries = platforms.map(measure);
  const frameW = Math.max(...geometries.map(g => g.innerW)) + 2 * PAD;
  const width = frameW + 2 * MARGIN;
  const height = MARGIN + geometries.reduce((sum, g) => sum + g.height, 0)
    + (platforms.length - 1) * PLATFORM_GAP + FOOTER_H + MARGIN / 2;

  const body: string[] = [];
  let y = MARGIN;
  platforms.forEach((p, i) => {
    drawPlatform(body, p, MARGIN, y, frameW, geometries[i]);
    y += geometries[i].height + PLATFORM_GAP;
  });
  body.push(text(width - MARGIN, height - MARGIN / 2 - 6, 'generated from the construct tree by test/support/architecture-diagram.ts',
    { size: 9.5, fill: MUTED, anchor: 'end' }));

  const summary = platforms.map(p => `${p.name} (${p.models.map(m => m.id).join(', ') || 'no models'})`).join('; ');
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<svg xmlns="http://www.w3.org/2000/svg" width="${n(width)}" height="${n(height)}" viewBox="0 0 ${n(width)} ${n(height)}" `
      + `font-family="${FONT}" role="img" aria-labelledby="title">`,
    `<title id="title">${escapeXml(`cdk-ml-platform architecture: ${summary}`)}</title>`,
    `<defs>${markers()}</defs>`,
    `<rect x="0" y="0" width="${n(width)}" height="${n(height)}" rx="12" fill="#ffffff"/>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}

/** CLI: renders the examples app into `out` (default docs/architecture.svg). */
export function main(args: string[] = process.argv.slice(2)): string {
  const out = path.resolve(args[0] ?? path.join(__dirname, '..', '..', 'docs', 'architecture.svg'));
  const svg = renderArchitecture(createExamplesApp(DIAGRAM_APP_PROPS));
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, svg);
  return out;
}

if (require.main === module) {
  const written = main();
  process.stdout.write(`wrote ${path.relative(process.cwd(), written)}\n`);
}
