// Two proxy processes on one Redis with one signing key, as two replicas behind a load balancer, in front of one
// echo upstream: started before a suite's tests and stopped (their Redis keys flushed) after them.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCli, writeCliConfig, type CliProcess } from './cli-process.js';
import { startEchoUpstream, type EchoUpstream } from './echo-upstream.js';
import { SIGNING_KEY_PEM } from './fixtures.js';
import { flushKeyPrefix, uniqueKeyPrefix } from './redis.js';

export interface Replica {
  cli: CliProcess;
  url: string;
  adminUrl: string;
}

export interface ReplicaPair {
  a: Replica;
  b: Replica;
  upstream: EchoUpstream;
  /** The Redis key prefix they share, for a third proxy joining them. */
  prefix: string;
  stop(): Promise<void>;
}

/** Starts the pair; `tweak` adjusts each replica's config beyond the shared store, key and quiet request log. */
export async function startReplicaPair(redisUrl: string, label: string, tweak: (config: Record<string, unknown>) => void = () => {}): Promise<ReplicaPair> {
  const prefix = uniqueKeyPrefix(label);
  const keyDir = mkdtempSync(join(tmpdir(), `portcullis-${label}-`));
  const keyFile = join(keyDir, 'signing.pem');
  writeFileSync(keyFile, SIGNING_KEY_PEM, { mode: 0o600 });
  const upstream = await startEchoUpstream();
  const startReplica = async (): Promise<Replica> => {
    const file = writeCliConfig(upstream.url, (config) => {
      config['tokens'] = { ...(config['tokens'] as object), signingKeys: [{ kid: 'test-key-1', privateKey: { file: keyFile }, active: true }] };
      config['store'] = { type: 'redis', url: redisUrl, keyPrefix: prefix };
      config['log'] = { level: 'info', requests: false };
      tweak(config);
    });
    const cli = await startCli(file, ['--port', '0', '--admin-port', '0']);
    const listening = cli.logs().find((line) => line['msg'] === 'listening')!;
    return { cli, url: cli.url, adminUrl: String(listening['admin']) };
  };
  const started = await Promise.allSettled([startReplica(), startReplica()]);
  const replicas = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const stop = async () => {
    for (const replica of replicas) {
      replica.cli.kill();
      await replica.cli.exited;
    }
    await upstream.close();
    rmSync(keyDir, { recursive: true, force: true });
    await flushKeyPrefix(redisUrl, prefix);
  };
  if (replicas.length < 2) {
    await stop();
    throw (started.find((s) => s.status === 'rejected') as PromiseRejectedResult).reason;
  }
  return { a: replicas[0]!, b: replicas[1]!, upstream, prefix, stop };
}
