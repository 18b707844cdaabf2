// The proxy started the way operators start it: the `portcullis` command with a config file, so `workers: N`
// runs through node:cluster as in production (a primary that forks N workers sharing one port). The config goes
// to a file in the run's temp dir, the signing key through the environment. Log lines go to a file there too
// (written, so they cost what they cost in production, and truncated as the run goes so it stays small); the
// URL comes from the `listening` line, which a cluster primary writes once every worker listens.

import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BENCH_DIR, REPO_DIR, type BenchBuild } from './harness.js';
import { processTree } from './process-tree.js';

export interface CliProxy {
  url: string;
  /** The primary (or the only process with one worker); readTree(pid) covers its workers. */
  pid: number;
  stop(): Promise<void>;
}

function listeningUrl(log: string, workers: number): string | null {
  for (const line of log.split('\n')) {
    if (!line.includes('"listening"')) continue;
    try {
      const entry = JSON.parse(line) as { msg?: string; url?: string; worker?: number; workers?: number };
      // Each worker logs its own line too; the primary's (with `workers`) says all of them listen.
      const done = workers > 1 ? entry.workers === workers : entry.worker === undefined;
      if (entry.msg === 'listening' && done && typeof entry.url === 'string') return entry.url;
    } catch {
      // a line cut short by the poll
    }
  }
  return null;
}

export async function startCliProxy(options: { name: string; dir: string; config: Record<string, unknown>; env: Record<string, string>; build: BenchBuild | null; workers: number }): Promise<CliProxy> {
  const configFile = join(options.dir, `${options.name}.json`);
  const logFile = join(options.dir, `${options.name}.log`);
  writeFileSync(configFile, JSON.stringify(options.config, null, 2));
  const entry = options.build === null ? ['--import', 'tsx', join(BENCH_DIR, 'cli-entry.ts')] : [options.build.cli];
  const env: NodeJS.ProcessEnv = { ...process.env, ...options.env };
  delete env['PORTCULLIS_LOG_LEVEL'];
  delete env['PORTCULLIS_CONFIG'];
  const out = openSync(logFile, 'a');
  const child = spawn(process.execPath, [...entry, '--config', configFile], { cwd: REPO_DIR, stdio: ['ignore', out, 'pipe'], env });
  closeSync(out);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const killTree = () => {
    for (const pid of child.pid === undefined ? [] : processTree(child.pid).reverse()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  };
  process.once('exit', killTree);
  const deadline = Date.now() + 60_000;
  let url: string | null = null;
  while (url === null) {
    if (child.exitCode !== null || Date.now() > deadline) {
      killTree();
      throw new Error(`the proxy (${options.name}) did not start:\n${stderr}\n${readFileSync(logFile, 'utf8').slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
    url = listeningUrl(readFileSync(logFile, 'utf8'), options.workers);
  }
  // The file is opened for appending, so cutting it back to nothing is safe while the proxy writes.
  const truncator = setInterval(() => truncateSync(logFile, 0), 2000);
  truncator.unref();
  return {
    url,
    pid: child.pid!,
    async stop() {
      clearInterval(truncator);
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(killTree, 20_000);
        await exited;
        clearTimeout(timer);
      }
      process.off('exit', killTree);
    },
  };
}
