import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Stage } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/**
 * A fresh directory for files a construct generates at synth and hands to an S3 asset (pipeline definitions, Helm
 * charts). It lives in the cloud assembly's output directory (`cdk.out/.cdk-ml-platform/`), next to the staged
 * assets, so nothing is left behind in the system temp directory; outside an app, in the temp directory.
 */
export function scratchDirectory(scope: IConstruct, prefix: string): string {
  const outdir = Stage.of(scope)?.outdir;
  const base = outdir ? path.join(outdir, '.cdk-ml-platform') : os.tmpdir();
  fs.mkdirSync(base, { recursive: true });
  return fs.mkdtempSync(path.join(base, prefix));
}
