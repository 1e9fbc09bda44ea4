import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/**
 * A self-signed certificate for a fake Kubernetes API server on 127.0.0.1, made by openssl at test time (the
 * handlers under test trust only this CA, as they trust only the cluster CA in production).
 */
export function selfSigned(): { key: string; cert: string } {
  const which = spawnSync('openssl', ['version'], { encoding: 'utf8' });
  if (which.status !== 0) { throw new Error('openssl is needed to make the fake API server certificate (apt-get install openssl)'); }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubeapi-'));
  try {
    const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'),
      '-days', '1', '-subj', '/CN=kube-apiserver', '-addext', 'subjectAltName=IP:127.0.0.1'], { encoding: 'utf8' });
    if (r.status !== 0) { throw new Error(`openssl failed: ${r.stderr}`); }
    return { key: fs.readFileSync(path.join(dir, 'key.pem'), 'utf8'), cert: fs.readFileSync(path.join(dir, 'cert.pem'), 'utf8') };
  } finally { fs.rmSync(dir, { recursive: true, force: true }); }
}
