import { ChildProcess, spawn, spawnSync } from 'child_process';
import * as net from 'net';

/** A running `moto_server` on 127.0.0.1. */
export interface MotoServer {
  readonly endpoint: string;
  stop(): Promise<void>;
}

/** Client settings for moto: local endpoint, fixed region, dummy credentials. */
export function motoClientConfig(endpoint: string) {
  return { endpoint, region: 'us-east-1', credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts `moto_server -H 127.0.0.1 -p <free port>` and waits until it answers.
 * Fails (never skips) when moto is not installed: `pip install 'moto[server]'`.
 */
export async function startMoto(): Promise<MotoServer> {
  const which = spawnSync('moto_server', ['--help'], { encoding: 'utf8' });
  if (which.error || which.status !== 0) {
    throw new Error(`moto_server is not available (${which.error?.message ?? which.stderr}); install it with pip install 'moto[server]'`);
  }
  const port = await freePort();
  const proc: ChildProcess = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr?.on('data', d => { stderr += String(d); });
  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (proc.exitCode !== null) { throw new Error(`moto_server exited with ${proc.exitCode}: ${stderr}`); }
    try {
      const res = await fetch(`${endpoint}/moto-api/`);
      if (res.ok || res.status < 500) { break; }
    } catch { /* not up yet */ }
    if (Date.now() > deadline) { proc.kill('SIGKILL'); throw new Error(`moto_server did not answer on ${endpoint} within 30 s: ${stderr}`); }
    await new Promise(r => setTimeout(r, 100));
  }
  return {
    endpoint,
    stop: () => new Promise<void>(resolve => {
      if (proc.exitCode !== null) { resolve(); return; }
      proc.once('exit', () => resolve());
      proc.kill('SIGTERM');
    }),
  };
}
