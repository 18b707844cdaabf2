// `workers: N`: several Portcullis processes serving one port through node:cluster. The primary serves no
// requests: it forks the workers, hands them one shared development key when none is configured, restarts a
// worker that dies, forwards signals and prints the banner once. Each worker is an ordinary proxy process.

import cluster, { type Worker } from 'node:cluster';
import { availableParallelism } from 'node:os';
import type { Config, ConfigOverrides } from '../config/load.js';
import type { Logger } from '../log/logger.js';
import { generateSigningKey } from '../tokens/keyring.js';

// The key travels in the environment the primary gives its own workers, never through the config file.
const KEY_ENV = 'PORTCULLIS_WORKER_SIGNING_KEY';
const KID_ENV = 'PORTCULLIS_WORKER_SIGNING_KID';
const LISTENING = 'portcullis:listening';

/** First restart delay after a crash; doubled per crash in a row, up to the maximum. */
const RESTART_BASE_MS = 250;
const RESTART_MAX_MS = 30_000;
/** A worker that ran this long before dying counts as a fresh crash, not one more in a row. */
const HEALTHY_AFTER_MS = 30_000;
/** Added to the workers' own shutdown timeout before the primary kills what is left. */
const KILL_GRACE_MS = 5_000;

export interface ListeningInfo {
  url: string;
  admin: string;
  /** The demo backend's URL when the upstream is the built-in demo. */
  demo: string | null;
}

export function workerCount(setting: number | 'auto'): number {
  return setting === 'auto' ? availableParallelism() : setting;
}

/** The cluster worker id of this process, or null in a primary or a single-process run. */
export function workerId(): number | null {
  return cluster.isWorker && cluster.worker ? cluster.worker.id : null;
}

/** In a worker: use the primary's development key whenever the config file names no signing key. */
export function workerOverrides(env: NodeJS.ProcessEnv = process.env): Pick<ConfigOverrides, 'fallbackSigningKey'> {
  const kid = env[KID_ENV];
  if (!cluster.isWorker || kid === undefined || env[KEY_ENV] === undefined) return {};
  return { fallbackSigningKey: { kid, env: KEY_ENV } };
}

/** In a worker: tells the primary that this worker serves. */
export function announceListening(info: ListeningInfo): void {
  process.send?.({ type: LISTENING, ...info });
}

export function memoryStoreRefusal(count: number): string {
  return (
    `portcullis: workers: ${count} needs the Redis store (store.type: redis, or --store redis://HOST:PORT). ` +
    'With the in-memory store every worker would keep its own sessions, token families and revocations, so a ' +
    'logout or revocation handled by one worker would not reach the others. Use workers: 1 or configure Redis.'
  );
}

/**
 * Why `count` workers cannot run on this store, or null when they can. The memory and SQLite stores serve one
 * process: their revocation events never leave it, and each process trusts its own view of a session.
 */
export function singleProcessStoreRefusal(store: Config['parsed']['store']['type'], count: number): string | null {
  if (count <= 1 || store === 'redis') return null;
  if (store === 'memory') return memoryStoreRefusal(count);
  return (
    `portcullis: workers: ${count} needs the Redis store (store.type: redis, or --store redis://HOST:PORT). ` +
    'The SQLite store serves one process: the workers would share the file, but a logout or revocation handled by ' +
    'one worker would not reach the sessions and tokens the others hold in memory. Use workers: 1 or configure Redis.'
  );
}

export interface PrimaryOptions {
  config: Config;
  count: number;
  logger: Logger;
  /** The workers' listen.shutdownTimeout; the primary waits that long (and a little more) before killing them. */
  shutdownTimeoutMs: number;
  /** Prints the startup banner, once every worker of the first start listens. */
  banner(info: ListeningInfo): Promise<void> | void;
}

/**
 * glibc's allocator settings for the workers, unless the operator set them. Each scrypt check (16 MiB) runs on a
 * libuv thread; after the first, glibc raises its mmap threshold above that size, so every thread keeps its 16
 * MiB in its own arena for good (64 MiB per process with the four default threads, measured). A fixed threshold
 * keeps such blocks mmapped and returns them when the check ends, for one mapping per check, which is nothing
 * beside scrypt's own cost. The container image sets the same for single-process runs.
 */
export function workerAllocatorEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  return env[MALLOC_MMAP_THRESHOLD] === undefined ? { [MALLOC_MMAP_THRESHOLD]: String(4 * 2 ** 20) } : {};
}
const MALLOC_MMAP_THRESHOLD = 'MALLOC_MMAP_THRESHOLD_';

/** Runs the primary until every worker has exited after a signal; resolves with the process exit code. */
export function runPrimary(options: PrimaryOptions): Promise<number> {
  const { config, count, logger } = options;
  // Checked here, where the workers are forked, so no way into multi-worker mode skips it.
  const refusal = singleProcessStoreRefusal(config.parsed.store.type, count);
  if (refusal !== null) {
    console.error(refusal);
    return Promise.resolve(1);
  }
  const env: Record<string, string> = { ...workerAllocatorEnv() };
  if (config.signingKeys.length === 0) {
    const key = generateSigningKey(config.parsed.tokens.algorithm);
    env[KEY_ENV] = key.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
    env[KID_ENV] = key.kid;
    logger.warn(
      { kid: key.kid, workers: count },
      'NO SIGNING KEY CONFIGURED: the workers of this process share a throw-away key generated at start. Tokens will not survive a restart and will not be accepted by other replicas. Configure tokens.signingKeys for production.',
    );
  }

  return new Promise<number>((resolve) => {
    const live = new Map<Worker, { startedAt: number; listening: boolean }>();
    const restartTimers = new Set<NodeJS.Timeout>();
    let started = false;
    let stopping = false;
    let exitCode = 0;
    let crashesInARow = 0;
    let killTimer: NodeJS.Timeout | undefined;

    const onListening = (worker: Worker, info: ListeningInfo) => {
      const state = live.get(worker);
      if (state === undefined || state.listening) return;
      state.listening = true;
      if (started) {
        logger.info({ worker: worker.id, pid: worker.process.pid }, 'worker restarted');
        return;
      }
      if (stopping || [...live.values()].some((s) => !s.listening) || live.size < count) return;
      started = true;
      const store = config.parsed.store.type;
      logger.info({ url: info.url, admin: info.admin, upstream: info.demo ? 'demo' : new URL(config.parsed.upstream.url).origin, store, workers: count }, 'listening');
      void Promise.resolve(options.banner(info)).catch((error: unknown) => logger.warn({ err: (error as Error).message }, 'could not print the banner'));
    };

    const fork = () => {
      const worker = cluster.fork(env);
      live.set(worker, { startedAt: Date.now(), listening: false });
      worker.on('message', (message: unknown) => {
        const m = message as { type?: unknown } & Partial<ListeningInfo>;
        if (m?.type === LISTENING && typeof m.url === 'string' && typeof m.admin === 'string') {
          onListening(worker, { url: m.url, admin: m.admin, demo: typeof m.demo === 'string' ? m.demo : null });
        }
      });
      // Without a listener an 'error' (a signal to an already gone process) would crash the primary.
      worker.on('error', (error) => logger.warn({ worker: worker.id, err: error.message }, 'worker error'));
      worker.once('exit', (code, signal) => onExit(worker, code, signal));
    };

    const onExit = (worker: Worker, code: number | null, signal: string | null) => {
      const state = live.get(worker);
      live.delete(worker);
      if (stopping) {
        if (live.size === 0) finish();
        return;
      }
      if (!started && signal === null) {
        // The worker gave up starting (config, Redis, port): the same config would fail the same way again, so
        // stop like a single process that cannot start. One killed from outside is restarted like a crash.
        logger.error({ worker: worker.id, code, signal }, 'a worker failed to start; stopping the others');
        exitCode = 1;
        stop('SIGTERM');
        return;
      }
      const lived = Date.now() - (state?.startedAt ?? 0);
      crashesInARow = lived >= HEALTHY_AFTER_MS ? 1 : crashesInARow + 1;
      const delay = Math.min(RESTART_BASE_MS * 2 ** (crashesInARow - 1), RESTART_MAX_MS);
      logger.error({ worker: worker.id, pid: worker.process.pid, code, signal, restartInMs: delay }, 'worker exited unexpectedly; restarting it');
      const timer = setTimeout(() => {
        restartTimers.delete(timer);
        if (!stopping) fork();
      }, delay);
      restartTimers.add(timer);
    };

    const forward = (signal: NodeJS.Signals) => {
      for (const worker of live.keys()) {
        try {
          worker.process.kill(signal);
        } catch {
          // Already gone; its exit event is on its way.
        }
      }
    };

    const stop = (signal: NodeJS.Signals) => {
      if (!stopping) {
        stopping = true;
        for (const timer of restartTimers) clearTimeout(timer);
        restartTimers.clear();
        killTimer = setTimeout(() => forward('SIGKILL'), options.shutdownTimeoutMs + KILL_GRACE_MS);
      }
      // Forwarded again on a repeated signal, so an impatient second Ctrl-C still reaches every worker.
      forward(signal);
      if (live.size === 0) finish();
    };

    const onTerm = () => {
      logger.info({ signal: 'SIGTERM' }, 'shutting down');
      stop('SIGTERM');
    };
    const onInt = () => {
      logger.info({ signal: 'SIGINT' }, 'shutting down');
      stop('SIGINT');
    };
    // Each worker reloads its config on SIGHUP; the primary's own copy only decided how many workers to run.
    const onHup = () => forward('SIGHUP');
    process.on('SIGTERM', onTerm);
    process.on('SIGINT', onInt);
    process.on('SIGHUP', onHup);

    const finish = () => {
      process.off('SIGTERM', onTerm);
      process.off('SIGINT', onInt);
      process.off('SIGHUP', onHup);
      clearTimeout(killTimer);
      logger.info({ exitCode }, 'all workers exited');
      logger.flush(() => resolve(exitCode));
    };

    for (let i = 0; i < count; i++) fork();
  });
}
