// A throwaway Redis Cluster for tests: six redis-server nodes on loopback (three masters, one replica each),
// created with `redis-cli --cluster create`, able to lose a master to SIGKILL and to report the topology the
// survivors agree on afterwards. Every node is killed when the cluster stops or the test process exits.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { findOnPath } from '../setup/external-tools.js';
import { findRedisServerBinary, freePort, pingRedis, redisRequired } from '../setup/global-redis.js';
import { eventually } from './redis.js';

/** Redis puts a node's cluster bus on its port plus this, so both must be free. */
const CLUSTER_BUS_OFFSET = 10_000;
const NODES = 6;
/** How long a silent master takes to be declared failed; small, so a failover fits in a test. */
export const CLUSTER_NODE_TIMEOUT_MS = 1000;
const HOST = '127.0.0.1';

export interface ClusterNodeInfo {
  port: number;
  role: 'master' | 'replica';
  /** The slot ranges a master serves, as [first, last] pairs. */
  slots: [number, number][];
}

export interface RedisClusterHandle {
  /** What `store.cluster.nodes` takes: every node, so a client can start from any survivor. */
  readonly nodes: { host: string; port: number }[];
  /** The slot the key hashes to (hash tags respected). */
  keySlot(key: string): Promise<number>;
  /** The port of the master serving `slot`, as the surviving nodes see it. */
  masterOf(slot: number): Promise<number>;
  /** SIGKILLs the master serving `slot` (no chance to hand over) and returns its port. */
  killMasterOf(slot: number): Promise<number>;
  /** SIGKILLs the node on `port`, master or replica. */
  killNode(port: number): Promise<void>;
  /** The ports of the running nodes that hold at least one pub/sub subscriber connection. */
  subscriberNodes(): Promise<number[]>;
  /** Waits until every surviving node says `cluster_state:ok` and names a live master for `slot`; returns the topology. */
  waitForFailover(killedPort: number, slot: number, timeoutMs?: number): Promise<ClusterNodeInfo[]>;
  /** The topology as a surviving node sees it. */
  topology(): Promise<ClusterNodeInfo[]>;
  /** Deletes every key under `prefix` on every master. */
  flushKeyPrefix(prefix: string): Promise<void>;
  /** Kills every node and removes their files; safe to call more than once. */
  stop(): Promise<void>;
}

export function redisClusterToolsAvailable(): boolean {
  return findRedisServerBinary() !== null && findOnPath('redis-cli') !== null;
}

/** True when both `port` and its cluster bus port can be bound on loopback right now. */
async function portPairFree(port: number): Promise<boolean> {
  const canBind = (p: number) =>
    new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(p, HOST, () => server.close(() => resolve(true)));
    });
  return (await canBind(port)) && (await canBind(port + CLUSTER_BUS_OFFSET));
}

/** A port below 65535 - 10000 whose cluster bus port is free too; random ports are drawn from a band first. */
async function freeClusterPort(taken: Set<number>): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const candidate = attempt % 2 === 0 ? 20_000 + Math.floor(Math.random() * 25_000) : await freePort();
    if (candidate + CLUSTER_BUS_OFFSET >= 65_535 || taken.has(candidate) || taken.has(candidate + CLUSTER_BUS_OFFSET)) continue;
    if (await portPairFree(candidate)) return candidate;
  }
  throw new Error('no free port pair for a cluster node');
}

interface NodeProcess {
  port: number;
  child: ChildProcess;
  exited: Promise<void>;
  isRunning(): boolean;
}

function startNode(binary: string, dir: string, port: number): NodeProcess {
  const child = spawn(
    binary,
    [
      '--port', String(port),
      '--bind', HOST,
      '--dir', dir,
      '--cluster-enabled', 'yes',
      '--cluster-config-file', join(dir, `nodes-${port}.conf`),
      '--cluster-node-timeout', String(CLUSTER_NODE_TIMEOUT_MS),
      '--appendonly', 'no',
      '--save', '',
    ],
    { stdio: 'ignore' },
  );
  let running = true;
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const exited = new Promise<void>((resolve) => {
    const done = () => {
      running = false;
      process.off('exit', killOnExit);
      resolve();
    };
    child.once('exit', done);
    child.once('error', done);
  });
  return { port, child, exited, isRunning: () => running };
}

async function waitForPing(node: NodeProcess, timeoutMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && node.isRunning()) {
    if (await pingRedis(node.port)) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return false;
}

function runRedisCli(binary: string, args: string[], timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(output);
      else reject(new Error(`redis-cli ${args.join(' ')} exited with ${code}:\n${output.slice(-3000)}`));
    });
  });
}

/** One short-lived standalone connection to one node, never retried, so a dead node fails fast. */
async function withNode<T>(port: number, fn: (client: Redis) => Promise<T>): Promise<T> {
  const client = new Redis({
    host: HOST,
    port,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 1000,
    commandTimeout: 2000,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    return await fn(client);
  } finally {
    client.disconnect();
  }
}

/** Parses CLUSTER NODES: every node that is not marked failed, with its role and slots. */
function parseClusterNodes(text: string): ClusterNodeInfo[] {
  const out: ClusterNodeInfo[] = [];
  for (const line of text.trim().split('\n')) {
    const [, address, flags, , , , , linkState, ...slotSpecs] = line.trim().split(' ');
    if (!address || !flags || flags.includes('fail') || flags.includes('noaddr') || linkState === 'disconnected') continue;
    const port = Number(address.split('@')[0]!.split(':').pop());
    const slots: [number, number][] = [];
    for (const spec of slotSpecs) {
      if (spec.startsWith('[')) continue;
      const [first, last] = spec.split('-').map(Number);
      slots.push([first!, last ?? first!]);
    }
    out.push({ port, role: flags.includes('master') ? 'master' : 'replica', slots });
  }
  return out.sort((a, b) => a.port - b.port);
}

/**
 * Starts the cluster, or returns null when redis-server or redis-cli is missing and Redis is not required (the
 * caller then skips loudly). With CI / PORTCULLIS_REQUIRE_REDIS=1 a missing tool is an error.
 */
export async function startRedisCluster(): Promise<RedisClusterHandle | null> {
  const server = findRedisServerBinary();
  const cli = findOnPath('redis-cli');
  if (!server || !cli) {
    const missing = [server ? null : 'redis-server', cli ? null : 'redis-cli'].filter(Boolean).join(' and ');
    if (redisRequired()) throw new Error(`${missing} required for the Redis Cluster tests (CI or PORTCULLIS_REQUIRE_REDIS=1) but not on PATH`);
    console.warn(`Redis Cluster tests skipped: ${missing} not on PATH`);
    return null;
  }
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-redis-cluster-'));
  const running: NodeProcess[] = [];
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    for (const node of running) node.child.kill('SIGKILL');
    await Promise.all(running.map((node) => node.exited));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const taken = new Set<number>();
    while (running.length < NODES) {
      // A port found free can be taken before redis-server binds it, so a node that does not answer is replaced.
      const port = await freeClusterPort(taken);
      taken.add(port).add(port + CLUSTER_BUS_OFFSET);
      const node = startNode(server, dir, port);
      if (await waitForPing(node)) {
        running.push(node);
      } else {
        node.child.kill('SIGKILL');
        await node.exited;
      }
    }
    const ports = running.map((node) => node.port);
    await runRedisCli(cli, ['--cluster', 'create', ...ports.map((p) => `${HOST}:${p}`), '--cluster-replicas', '1', '--cluster-yes']);
    // Ready when every node agrees the cluster is whole and every replica has synced with its master.
    await eventually(
      async () => {
        for (const port of ports) {
          await withNode(port, async (client) => {
            const info = await client.cluster('INFO');
            if (!String(info).includes('cluster_state:ok')) throw new Error(`node ${port}: ${info}`);
            const replication = await client.info('replication');
            if (replication.includes('role:slave') && !replication.includes('master_link_status:up')) throw new Error(`replica ${port} not in sync`);
          });
        }
      },
      30_000,
      100,
    );
  } catch (err) {
    await stop();
    throw err;
  }

  const alive = () => running.filter((node) => node.isRunning());
  const anyAlive = async <T>(fn: (client: Redis) => Promise<T>): Promise<T> => {
    let lastError: unknown;
    for (const node of alive()) {
      try {
        return await withNode(node.port, fn);
      } catch (err) {
        lastError = err;
      }
    }
    throw lastError ?? new Error('no cluster node is running');
  };
  const topology = () => anyAlive(async (client) => parseClusterNodes(String(await client.cluster('NODES'))));
  const masterOf = async (slot: number) => {
    const master = (await topology()).find((n) => n.role === 'master' && n.slots.some(([a, b]) => slot >= a && slot <= b));
    if (!master) throw new Error(`no master serves slot ${slot}`);
    return master.port;
  };

  const killNode = async (port: number) => {
    const node = running.find((n) => n.port === port);
    if (!node) throw new Error(`no cluster node on port ${port}`);
    node.child.kill('SIGKILL');
    await node.exited;
  };

  return {
    nodes: running.map((node) => ({ host: HOST, port: node.port })),
    keySlot: (key) => anyAlive(async (client) => Number(await client.cluster('KEYSLOT', key))),
    masterOf,
    async killMasterOf(slot) {
      const port = await masterOf(slot);
      await killNode(port);
      return port;
    },
    killNode,
    async subscriberNodes() {
      const found: number[] = [];
      for (const node of alive()) {
        const clients = await withNode(node.port, async (client) => String(await client.client('LIST')));
        if (/ sub=[1-9]/.test(clients)) found.push(node.port);
      }
      return found;
    },
    async waitForFailover(killedPort, slot, timeoutMs = 30_000) {
      return eventually(
        async () => {
          for (const node of alive()) {
            await withNode(node.port, async (client) => {
              const info = String(await client.cluster('INFO'));
              if (!info.includes('cluster_state:ok')) throw new Error(`node ${node.port} not ok yet`);
            });
          }
          const port = await masterOf(slot);
          if (port === killedPort) throw new Error(`slot ${slot} still on the killed master ${killedPort}`);
          return topology();
        },
        timeoutMs,
        100,
      );
    },
    topology,
    async flushKeyPrefix(prefix) {
      const masters = (await topology()).filter((n) => n.role === 'master');
      const pattern = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
      for (const master of masters) {
        await withNode(master.port, async (client) => {
          let cursor = '0';
          do {
            const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
            cursor = next;
            // One key at a time: keys of different slots cannot share a command.
            for (const key of keys) await client.unlink(key);
          } while (cursor !== '0');
        });
      }
    },
    stop,
  };
}
