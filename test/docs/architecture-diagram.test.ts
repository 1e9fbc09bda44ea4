import * as fs from 'fs';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { createExamplesApp } from '../../examples';
import {
  DataZone, GpuInstanceType, MlPlatform, MlPlatformProps, Objective, PlatformModelOptions, TrainingData, TrainingImage,
} from '../../src';
import { DIAGRAM_APP_PROPS, escapeXml, MAX_MODEL_COLUMNS, renderArchitecture } from '../support/architecture-diagram';

process.env.JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION = '20';

const IMAGE = '123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud-train@sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef';
const COMMITTED = path.join(__dirname, '..', '..', 'docs', 'architecture.svg');

function modelOptions(platform: MlPlatform, dataset: string): PlatformModelOptions {
  return {
    image: TrainingImage.fromUri(IMAGE),
    instanceType: GpuInstanceType.ML_G5_2XLARGE,
    objective: Objective.maximize('validation:auc', 0.005),
    trainingData: TrainingData.fromDataLake(platform.dataLake, DataZone.CURATED, `datasets/${dataset}/train/`),
  };
}

/** A stack with one platform; `scope` wraps it in a construct of that id (to put odd characters in its path). */
function build(props: MlPlatformProps = { name: 'demo' }, scope?: string) {
  const app = new App({ context: { 'cdk-ml-platform:codeVersion': 'v1.0.0' } });
  const stack = new Stack(app, 'Ml');
  const platform = new MlPlatform(scope ? new Construct(stack, scope) : stack, 'Platform', props);
  return { app, platform };
}

/** The platform `fraud` with `fraud-scoring` (served) and `chargeback` (trained and registered only). */
function fraudApp(): App {
  const { app, platform } = build({ name: 'fraud' });
  platform.addModel('fraud-scoring', modelOptions(platform, 'fraud-scoring'));
  platform.addModel('chargeback', { ...modelOptions(platform, 'chargeback'), serving: { enabled: false } });
  return app;
}

const ENTITY = /^&(amp|lt|gt|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);/;

/**
 * A small XML well-formedness check (no parser among the dependencies): one root element, balanced and properly
 * nested tags, quoted and unique attributes, and `<` and `&` only as markup or entities. Returns the problems.
 */
function xmlProblems(xml: string): string[] {
  const problems: string[] = [];
  const stack: string[] = [];
  const roots: string[] = [];
  const checkEntities = (chunk: string, where: number) => {
    for (let i = chunk.indexOf('&'); i >= 0; i = chunk.indexOf('&', i + 1)) {
      if (!ENTITY.test(chunk.slice(i))) { problems.push(`bare & at ${where + i}`); }
    }
  };
  let pos = 0;
  const prolog = /^<\?xml[^?]*\?>\s*/.exec(xml);
  if (prolog) { pos = prolog[0].length; }
  const tag = /<(\/?)([A-Za-z_][\w:.-]*)((?:\s+[A-Za-z_][\w:.-]*\s*=\s*"[^"]*")*)\s*(\/?)>/y;
  while (pos < xml.length) {
    if (xml.startsWith('<!--', pos)) {
      const end = xml.indexOf('-->', pos);
      if (end < 0) { problems.push(`unclosed comment at ${pos}`); break; }
      pos = end + 3;
      continue;
    }
    if (xml[pos] === '<') {
      tag.lastIndex = pos;
      const m = tag.exec(xml);
      if (!m) { problems.push(`malformed tag at ${pos}: ${xml.slice(pos, pos + 40)}`); break; }
      const [whole, closing, name, attrs, selfClosing] = m;
      const names = [...attrs.matchAll(/([A-Za-z_][\w:.-]*)\s*=\s*"([^"]*)"/g)];
      if (new Set(names.map(a => a[1])).size !== names.length) { problems.push(`duplicate attribute in <${name}> at ${pos}`); }
      for (const a of names) {
        if (a[2].includes('<')) { problems.push(`< in attribute ${a[1]} at ${pos}`); }
        checkEntities(a[2], pos);
      }
      if (closing) {
        if (attrs || selfClosing) { problems.push(`closing tag with attributes at ${pos}`); }
        const open = stack.pop();
        if (open !== name) { problems.push(`</${name}> closes <${open ?? 'nothing'}> at ${pos}`); }
      } else {
        if (stack.length === 0) { roots.push(name); }
        if (!selfClosing) { stack.push(name); }
      }
      pos += whole.length;
      continue;
    }
    const next = xml.indexOf('<', pos);
    const chunk = xml.slice(pos, next < 0 ? xml.length : next);
    if (stack.length === 0 && chunk.trim() !== '') { problems.push(`text outside the root at ${pos}`); }
    checkEntities(chunk, pos);
    pos += chunk.length;
  }
  if (stack.length > 0) { problems.push(`unclosed <${stack.join('>, <')}>`); }
  if (roots.length !== 1) { problems.push(`${roots.length} root elements (${roots.join(', ')})`); }
  return problems;
}

const unescape = (s: string) => s.replace(/&(lt|gt|quot|apos|amp);/g, (_, e: string) =>
  ({ lt: '<', gt: '>', quot: '"', apos: '\'', amp: '&' })[e]!);

/** The text of every <text> element, unescaped. */
function texts(svg: string): string[] {
  return [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map(m => unescape(m[1]));
}

/** The markup of the column of model `id`. */
function column(svg: string, id: string): string {
  const start = svg.indexOf(`<g data-model="${escapeXml(id)}">`);
  expect(start).toBeGreaterThanOrEqual(0);
  return svg.slice(start, svg.indexOf('</g>', start));
}

function rects(svg: string): { x: number; y: number; w: number; h: number }[] {
  return [...svg.matchAll(/<rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)"/g)]
    .map(m => ({ x: +m[1], y: +m[2], w: +m[3], h: +m[4] }));
}

describe('renderArchitecture', () => {
  test('renders a standalone, well-formed SVG with a white background and defined arrowheads', () => {
    // GIVEN
    const app = fraudApp();
    // WHEN
    const svg = renderArchitecture(app);
    // THEN
    expect(xmlProblems(svg)).toEqual([]);
    const root = /<svg ([^>]*)>/.exec(svg)![1];
    expect(root).toContain('xmlns="http://www.w3.org/2000/svg"');
    expect(root).toMatch(/width="(\d+)" height="(\d+)" viewBox="0 0 \1 \2"/);
    expect(root).toContain('font-family="sans-serif"');
    expect(svg).toMatch(/<rect x="0" y="0" width="[\d.]+" height="[\d.]+" rx="\d+" fill="#ffffff"\/>/);
    const used = new Set([...svg.matchAll(/marker-end="url\(#([\w-]+)\)"/g)].map(m => m[1]));
    const defined = new Set([...svg.matchAll(/<marker id="([\w-]+)"/g)].map(m => m[1]));
    expect(used.size).toBeGreaterThan(0);
    for (const id of used) { expect(defined).toContain(id); }
  });

  test('draws the platform, its shared parts and every model with its parts and labelled data flow', () => {
    // GIVEN
    const app = fraudApp();
    // WHEN
    const svg = renderArchitecture(app);
    const all = texts(svg);
    // THEN: header and shared row
    expect(all).toEqual(expect.arrayContaining([
      'MlPlatform ‘fraud’', 'Audit trail', 'Personas', 'Cost report', 'Data lake',
      ...Object.values(DataZone).map(zone => `${zone}/`),
    ]));
    expect(all.some(t => t.startsWith('Ml/Platform') && t.includes('backend: sagemaker') && t.includes('2 models'))).toBe(true);
    // THEN: the served model, with every part and arrow label
    const scoring = texts(column(svg, 'fraud-scoring'));
    expect(scoring).toEqual(expect.arrayContaining([
      'fraud-scoring', 'fraud-fraud-scoring', 'Training pipeline', 'train → evaluate → compare', 'Model registry', 'register',
      'Endpoint', 'canary · capture', 'latest approved', 'capture', 'Drift', 'monitor', 'Prediction', 'health', 'reads capture',
      'alarms', 'Continuous training', 'retrain', 'promote / rollback',
    ]));
    expect(column(svg, 'fraud-scoring')).toMatch(/marker-end="url\(#arrow-control\)"/);
    // THEN: lake → pipelines and endpoint capture → the lake's monitoring zone
    expect(all.filter(t => t === 'training data')).toHaveLength(2);
    expect(svg).toMatch(/marker-end="url\(#arrow-capture\)"/);
  });

  test('omits the parts a model turns off', () => {
    // GIVEN: chargeback is trained and registered only; churn is served without monitors or retraining
    const { app, platform } = build({ name: 'demo', auditTrail: false, personas: false });
    platform.addModel('chargeback', { ...modelOptions(platform, 'chargeback'), serving: { enabled: false } });
    platform.addModel('churn', {
      ...modelOptions(platform, 'churn'),
      monitoring: { drift: false, predictionHealth: false },
      retraining: { enabled: false },
    });
    // WHEN
    const svg = renderArchitecture(app);
    // THEN
    const chargeback = texts(column(svg, 'chargeback'));
    expect(chargeback).toEqual(expect.arrayContaining(['Training pipeline', 'Model registry', 'register']));
    for (const absent of ['Endpoint', 'capture', 'Drift', 'Prediction', 'Continuous training', 'retrain', 'promote / rollback']) {
      expect(chargeback).not.toContain(absent);
    }
    const churn = texts(column(svg, 'churn'));
    expect(churn).toEqual(expect.arrayContaining(['Endpoint', 'capture']));
    for (const absent of ['Drift', 'Prediction', 'reads capture', 'Continuous training', 'retrain']) {
      expect(churn).not.toContain(absent);
    }
    expect(texts(svg)).not.toContain('Audit trail');
    expect(texts(svg)).not.toContain('Personas');
    expect(xmlProblems(svg)).toEqual([]);
  });

  test('draws feature stores and the EKS cluster with its pools when the platform has them', () => {
    // GIVEN: read defensively by the generator, so stand-ins on the instance are enough
    const { app, platform } = build();
    platform.addModel('scoring', modelOptions(platform, 'scoring'));
    Object.defineProperty(platform, 'featureStores', { value: [{ featureGroupName: 'transactions', node: { id: 'Transactions' } }] });
    Object.defineProperty(platform, 'cluster', { value: { clusterName: 'ml-gpu', node: { id: 'Cluster' } } });
    Object.defineProperty(platform, 'trainingPool', { value: { node: { id: 'Training' } } });
    Object.defineProperty(platform, 'servingPool', { value: undefined });
    // WHEN
    const all = texts(renderArchitecture(app));
    // THEN
    expect(all).toEqual(expect.arrayContaining(['Feature stores (1)', 'transactions', 'EKS cluster', 'ml-gpu', 'training pool']));
    expect(all).not.toContain('serving pool');
  });

  test('is deterministic', () => {
    // GIVEN
    const app = fraudApp();
    // WHEN
    const first = renderArchitecture(app);
    // THEN: the same app twice, and an identical app built again
    expect(renderArchitecture(app)).toBe(first);
    expect(renderArchitecture(fraudApp())).toBe(first);
  });

  test('escapes construct paths for XML', () => {
    // GIVEN
    const hostile = 'Team <script>&"x" \'y\'';
    const { app, platform } = build({ name: 'demo' }, hostile);
    platform.addModel('scoring', modelOptions(platform, 'scoring'));
    // WHEN
    const svg = renderArchitecture(app);
    // THEN
    expect(xmlProblems(svg)).toEqual([]);
    expect(svg).not.toContain('<script>');
    expect(svg).toContain('Team &lt;script&gt;&amp;&quot;x&quot; &apos;y&apos;');
    expect(texts(svg).some(t => t.startsWith(`Ml/${hostile}/Platform`))).toBe(true);
    expect(escapeXml('a & b < c > d " e \' f')).toBe('a &amp; b &lt; c &gt; d &quot; e &apos; f');
  });

  test('throws when the app has no MlPlatform', () => {
    // GIVEN
    const app = new App();
    new Stack(app, 'Empty');
    // THEN
    expect(() => renderArchitecture(app)).toThrow(/no MlPlatform/);
  });

  test(`draws ${MAX_MODEL_COLUMNS} models and a "+N more" box beyond, without overlapping boxes`, () => {
    // GIVEN
    const { app, platform } = build();
    const ids = Array.from({ length: 8 }, (_, i) => `model-${i + 1}`);
    for (const id of ids) { platform.addModel(id, modelOptions(platform, id)); }
    // WHEN
    const svg = renderArchitecture(app);
    // THEN
    const columns = [...svg.matchAll(/<g data-model="([^"]*)">/g)].map(m => m[1]);
    expect(columns).toEqual(ids.slice(0, MAX_MODEL_COLUMNS));
    expect(texts(svg)).toEqual(expect.arrayContaining(['+2 more', 'model-7', 'model-8']));
    expect(xmlProblems(svg)).toEqual([]);
    // Any two boxes are apart or one holds the other.
    const boxes = rects(svg);
    const inside = (a: typeof boxes[0], b: typeof boxes[0]) => a.x <= b.x && a.y <= b.y && a.x + a.w >= b.x + b.w && a.y + a.h >= b.y + b.h;
    const apart = (a: typeof boxes[0], b: typeof boxes[0]) => a.x + a.w <= b.x || b.x + b.w <= a.x || a.y + a.h <= b.y || b.y + b.h <= a.y;
    const clashes = boxes.flatMap((a, i) => boxes.slice(i + 1).filter(b => !apart(a, b) && !inside(a, b) && !inside(b, a)).map(b => [a, b]));
    expect(clashes).toEqual([]);
  });
});

describe('docs/architecture.svg', () => {
  test('is the rendering of the examples app', () => {
    // The examples are moving onto MlPlatform: until they build one, there is nothing to draw.
    const app = createExamplesApp(DIAGRAM_APP_PROPS);
    const hasPlatform = app.node.findAll().some(c => c instanceof MlPlatform);
    if (!hasPlatform) {
      expect(() => renderArchitecture(app)).toThrow(/no MlPlatform/);
      return;
    }
    const committed = fs.existsSync(COMMITTED) ? fs.readFileSync(COMMITTED, 'utf8') : undefined;
    if (committed !== renderArchitecture(app)) {
      throw new Error('docs/architecture.svg is stale: run npx projen diagram');
    }
  });
});
