// A Redis Sentinel deployment owned by one test file: one master, one replica and three sentinels on free loopback
// ports, with short failure detection, so failover tests can kill the master and watch a replica take over.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { findRedisServerBinary, freePort, pingRedis, redisRequired } from '../setup/global-redis.js';
import { eventually } from './redis.js';

export const SENTINEL_MASTER_NAME = 'portcullis-test';

/** How long the sentinels wait before they call an unanswering master down, and the failover's bound. */
const DOWN_AFTER_MS = 1000;
const FAILOVER_TIMEOUT_MS = 5000;

export interface RedisNode {
  host: string;
  port: number;
}

export interface SentinelDeployment {
  name: string;
  /** The three sentinels, as `store.sentinel.nodes` takes them. */
  sentinels: RedisNode[];
  /** The master and the replica as started (which one is master changes on failover). */
  dataNodes: RedisNode[];
  /** The master the sentinels report now. */
  currentMaster(): Promise<RedisNode>;
  /** SIGKILLs the current master's process; returns the node that was killed. */
  killMaster(): Promise<RedisNode>;
  /** Waits until the sentinels report a master other than `old` and that node accepts writes. */
  waitForNewMaster(old: RedisNode, timeoutMs?: number): Promise<RedisNode>;
  /**
   * Starts a killed data node again on its port, empty, as a replica of `master` (what the sentinels would make
   * of it too, only later). Resolves once it is in sync.
   */
  restart(node: RedisNode, master: RedisNode): Promise<void>;
  /** Freezes a data node (SIGSTOP), so it neither answers nor replicates, until `resume`. */
  pause(node: RedisNode): void;
  resume(node: RedisNode): void;
  /** Stops every process and removes the directory; safe to call more than once. */
  stop(): Promise<void>;
}

interface Started {
  port: number;
  child: ChildProcess;
  exited: Promise<void>;
}

const everyChild = new Set<ChildProcess>();
let exitHookInstalled = false;

/** A test run interrupted before its teardown must not leave servers behind. */
function killAllOnExit(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of everyChild) child.kill('SIGKILL');
  });
}

function startProcess(binary: string, args: string[], port: number): Started {
  const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  everyChild.add(child);
  child.stderr?.resume();
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      everyChild.delete(child);
      resolve();
    });
    child.once('error', () => {
      everyChild.delete(child);
      resolve();
    });
  });
  return { port, child, exited };
}

async function untilAnswers(port: number, what: string): Promise<void> {
  await eventually(async () => {
    if (!(await pingRedis(port))) throw new Error(`${what} on port ${port} does not answer`);
  }, 10_000, 25);
}

/**
 * Starts the deployment, or returns null when redis-server is missing and Redis is not required (the caller then
 * skips, saying so). With CI / PORTCULLIS_REQUIRE_REDIS=1 a missing binary is an error.
 */
export async function startSentinelDeployment(): Promise<SentinelDeployment | null> {
  const binary = findRedisServerBinary();
  if (!binary) {
    if (redisRequired()) throw new Error('redis-server is required for the Sentinel tests but is not on PATH');
    console.warn('SKIPPED: Redis Sentinel tests need redis-server on PATH');
    return null;
  }
  killAllOnExit();
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-sentinel-'));
  const started: Started[] = [];
  const byPort = new Map<number, Started>();
  let stopped = false;

  const stop = async () => {
    if (stopped) return;
    stopped = true;
    for (const s of started) {
      s.child.kill('SIGCONT');
      s.child.kill('SIGKILL');
    }
    await Promise.all(started.map((s) => s.exited));
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    const dataArgs = (port: number) => ['--save', '', '--appendonly', 'no', '--port', String(port), '--bind', '127.0.0.1', '--dir', dir];
    const masterPort = await freePort();
    const master = startProcess(binary, dataArgs(masterPort), masterPort);
    started.push(master);
    byPort.set(masterPort, master);
    await untilAnswers(masterPort, 'master');
    const replicaPort = await freePort();
    const replica = startProcess(binary, [...dataArgs(replicaPort), '--replicaof', '127.0.0.1', String(masterPort)], replicaPort);
    started.push(replica);
    byPort.set(replicaPort, replica);
    await untilAnswers(replicaPort, 'replica');

    const sentinelPorts: number[] = [];
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      // Sentinel rewrites its config file with what it learns, so each gets its own writable copy.
      const file = join(dir, `sentinel-${i}.conf`);
      writeFileSync(
        file,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          `dir ${dir}`,
          'sentinel resolve-hostnames no',
          `sentinel monitor ${SENTINEL_MASTER_NAME} 127.0.0.1 ${masterPort} 2`,
          `sentinel down-after-milliseconds ${SENTINEL_MASTER_NAME} ${DOWN_AFTER_MS}`,
          `sentinel failover-timeout ${SENTINEL_MASTER_NAME} ${FAILOVER_TIMEOUT_MS}`,
          `sentinel parallel-syncs ${SENTINEL_MASTER_NAME} 1`,
          '',
        ].join('\n'),
      );
      started.push(startProcess(binary, [file, '--sentinel'], port));
      sentinelPorts.push(port);
    }
    for (const port of sentinelPorts) await untilAnswers(port, 'sentinel');

    const sentinels = sentinelPorts.map((port) => ({ host: '127.0.0.1', port }));
    const ask = async <T>(port: number, run: (client: Redis) => Promise<T>): Promise<T> => {
      const client = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1000, commandTimeout: 1000 });
      client.on('error', () => {});
      try {
        await client.connect();
        return await run(client);
      } finally {
        client.disconnect();
      }
    };
    const reportedMaster = async (port: number): Promise<RedisNode> => {
      const reply = (await ask(port, (c) => c.call('SENTINEL', 'get-master-addr-by-name', SENTINEL_MASTER_NAME))) as [string, string] | null;
      if (!reply) throw new Error(`sentinel ${port} knows no master`);
      return { host: reply[0], port: Number(reply[1]) };
    };

    // Every sentinel must know the replica and the other sentinels before a failover can be agreed on.
    await eventually(async () => {
      for (const port of sentinelPorts) {
        const replicas = (await ask(port, (c) => c.call('SENTINEL', 'replicas', SENTINEL_MASTER_NAME))) as string[][];
        if (replicas.length < 1) throw new Error(`sentinel ${port} sees no replica yet`);
        const peers = (await ask(port, (c) => c.call('SENTINEL', 'sentinels', SENTINEL_MASTER_NAME))) as unknown[];
        if (peers.length < 2) throw new Error(`sentinel ${port} sees ${peers.length} other sentinels`);
      }
      const link = await ask(replicaPort, (c) => c.info('replication'));
      if (!/master_link_status:up/.test(link)) throw new Error('the replica is not in sync yet');
    }, 20_000, 100);

    const currentMaster = async (): Promise<RedisNode> => {
      let lastError: unknown;
      for (const port of sentinelPorts) {
        try {
          return await reportedMaster(port);
        } catch (err) {
          lastError = err;
        }
      }
      throw lastError;
    };

    return {
      name: SENTINEL_MASTER_NAME,
      sentinels,
      dataNodes: [
        { host: '127.0.0.1', port: masterPort },
        { host: '127.0.0.1', port: replicaPort },
      ],
      currentMaster,
      async killMaster() {
        const node = await currentMaster();
        const proc = byPort.get(node.port);
        if (!proc) throw new Error(`no process of this deployment listens on ${node.port}`);
        proc.child.kill('SIGKILL');
        await proc.exited;
        return node;
      },
      async restart(node, current) {
        const old = byPort.get(node.port);
        if (old && old.child.exitCode === null && old.child.signalCode === null) throw new Error(`${node.port} is still running`);
        const again = startProcess(binary, [...dataArgs(node.port), '--replicaof', current.host, String(current.port)], node.port);
        started.push(again);
        byPort.set(node.port, again);
        await untilAnswers(node.port, 'restarted node');
        await eventually(async () => {
          const info = await ask(node.port, (c) => c.info('replication'));
          if (!info.includes('role:slave') || !info.includes(`master_port:${current.port}`) || !/master_link_status:up/.test(info)) {
            throw new Error(`${node.port} is not replicating from ${current.port} yet`);
          }
        }, 30_000, 100);
      },
      pause(node) {
        byPort.get(node.port)?.child.kill('SIGSTOP');
      },
      resume(node) {
        byPort.get(node.port)?.child.kill('SIGCONT');
      },
      async waitForNewMaster(old, timeoutMs = 20_000) {
        return eventually(async () => {
          const node = await currentMaster();
          if (node.port === old.port) throw new Error('the sentinels still report the old master');
          const role = await ask(node.port, (c) => c.info('replication'));
          if (!/role:master/.test(role)) throw new Error(`${node.port} is not master yet`);
          return node;
        }, timeoutMs, 100);
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
