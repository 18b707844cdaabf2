// Process plumbing for the benchmark: cores, the compiled build, the proxy child, a throwaway redis-server, and
// how busy the machine is.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { availableParallelism } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { clockTicks } from '../src/cli/loadtest.js';

export const BENCH_DIR = fileURLToPath(new URL('.', import.meta.url));
export const REPO_DIR = join(BENCH_DIR, '..');

export function onPath(binary: string): string | null {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, binary), constants.X_OK);
      return join(dir, binary);
    } catch {
      // not here
    }
  }
  return null;
}

/** Where each party runs: the proxy alone on core 0, everything else on core 1, when pinning is possible. */
export interface Placement {
  pinned: boolean;
  proxyCpu: string;
  loadCpu: string;
  allCpus: string;
}

export function placement(wantPin: boolean): Placement {
  const cores = availableParallelism();
  const pinned = wantPin && cores >= 2 && onPath('taskset') !== null;
  return { pinned, proxyCpu: '0', loadCpu: '1', allCpus: `0-${cores - 1}` };
}

/** Moves every thread of this process onto `cpus` (a taskset list). */
export function pinSelf(place: Placement, cpus: string): void {
  if (!place.pinned) return;
  execFileSync('taskset', ['-a', '-p', '-c', cpus, String(process.pid)], { stdio: 'ignore' });
}

export interface ProxyChild {
  url: string;
  pid: number;
  /** Starts the V8 sampling profiler in the child. */
  startProfile(): Promise<void>;
  /** Stops it and writes the .cpuprofile to `file`. */
  stopProfile(file: string): Promise<void>;
  /** Runs a full garbage collection in the child and reports what it still holds. */
  collect(): Promise<{ heapUsed: number; rss: number }>;
  stop(): Promise<void>;
}

/** The compiled proxy of one bench run: the modules, and the `portcullis` command running them. */
export interface BenchBuild {
  /** The compiled src/ (what dist/ holds after `npm run build`). */
  dist: string;
  /** A copy of bin/portcullis.js beside it, so `node <cli>` is the shipped command on this build. */
  cli: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Compiles src/ the way `npm run build` does, into bench/results/build/<pid>/dist (inside the repository, so
 * packages still resolve from node_modules), so the proxy under test runs the code that ships. Each run builds
 * its own and removes it at exit, so two runs at once do not pull the modules from under each other. Null when
 * nothing could be emitted; the proxy then runs from src/ through tsx.
 */
export function buildForBench(): BenchBuild | null {
  const root = join(BENCH_DIR, 'results', 'build');
  mkdirSync(root, { recursive: true });
  for (const entry of readdirSync(root)) {
    if (/^\d+$/.test(entry) && !alive(Number(entry))) rmSync(join(root, entry), { recursive: true, force: true });
  }
  const runDir = join(root, String(process.pid));
  const dist = join(runDir, 'dist');
  rmSync(runDir, { recursive: true, force: true });
  process.once('exit', () => rmSync(runDir, { recursive: true, force: true }));
  try {
    execFileSync(process.execPath, [join(REPO_DIR, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(REPO_DIR, 'tsconfig.build.json'), '--outDir', dist, '--sourceMap', 'false'], { stdio: 'ignore' });
  } catch {
    // Type errors elsewhere in the tree still emit JavaScript; only a missing portcullis.js means no build.
  }
  if (!existsSync(join(dist, 'portcullis.js')) || !existsSync(join(dist, 'cli', 'main.js'))) return null;
  const cli = join(runDir, 'bin', 'portcullis.js');
  mkdirSync(dirname(cli), { recursive: true });
  copyFileSync(join(REPO_DIR, 'bin', 'portcullis.js'), cli);
  return { dist, cli };
}

export async function startProxyChild(options: { config: Record<string, unknown>; env: Record<string, string>; place: Placement; build: BenchBuild | null }): Promise<ProxyChild> {
  const nodeArgs = ['--expose-gc', '--import', 'tsx', join(BENCH_DIR, 'proxy-child.ts')];
  const [command, args] = options.place.pinned ? ['taskset', ['-c', options.place.proxyCpu, process.execPath, ...nodeArgs]] : [process.execPath, nodeArgs];
  const child: ChildProcess = spawn(command as string, args as string[], {
    cwd: REPO_DIR,
    // Request log lines go to /dev/null: written (so they cost what they cost in production) but not kept.
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    env: { ...process.env, ...options.env, BENCH_CONFIG: JSON.stringify(options.config), BENCH_BUILD_DIR: options.build?.dist ?? '', PORTCULLIS_LOG_LEVEL: '' },
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const reply = (cmd: string) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const onMessage = (message: Record<string, unknown>) => {
        if (message['cmd'] !== cmd) return;
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve(message);
      };
      const onExit = (code: number | null) => reject(new Error(`the proxy exited (${code}):\n${stderr}`));
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
  const ready = await reply('ready');
  return {
    url: ready['url'] as string,
    pid: ready['pid'] as number,
    async startProfile() {
      const started = reply('profile-started');
      child.send({ cmd: 'profile-start' });
      await started;
    },
    async stopProfile(file) {
      const stopped = reply('profile-stopped');
      child.send({ cmd: 'profile-stop', file });
      await stopped;
    },
    async collect() {
      const done = reply('gc-done');
      child.send({ cmd: 'gc' });
      const answer = await done;
      return { heapUsed: answer['heapUsed'] as number, rss: answer['rss'] as number };
    },
    async stop() {
      if (child.exitCode === null) {
        child.send({ cmd: 'stop' });
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      process.off('exit', killOnExit);
    },
  };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function pingRedis(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (chunk) => done(chunk.toString('latin1').startsWith('+PONG')));
  });
}

export interface RedisServer {
  url: string;
  pid: number | null;
  stop(): Promise<void>;
}

/** A redis-server without persistence on a free port, on the load generator's core; null when none is installed. */
export async function startRedis(place: Placement): Promise<RedisServer | null> {
  const binary = onPath('redis-server');
  if (binary === null) return null;
  const port = await freePort();
  const redisArgs = ['--save', '', '--appendonly', 'no', '--port', String(port), '--bind', '127.0.0.1'];
  const child = place.pinned ? spawn('taskset', ['-c', place.loadCpu, binary, ...redisArgs], { stdio: 'ignore' }) : spawn(binary, redisArgs, { stdio: 'ignore' });
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (await pingRedis(port)) {
      return {
        url: `redis://127.0.0.1:${port}`,
        pid: child.pid ?? null,
        async stop() {
          child.kill('SIGTERM');
          await exited;
          process.off('exit', killOnExit);
        },
      };
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGKILL');
  return null;
}

/** Busy CPU seconds of the whole machine so far (all cores), from /proc/stat; null where there is none. */
export function machineBusySeconds(): number | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
    const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
    return ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) / clockTicks();
  } catch {
    return null;
  }
}
