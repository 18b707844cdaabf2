// Metrics with `workers` above 1: every worker counts in its own registry, and whichever worker accepts a scrape
// (they share the admin port) would show only its own share. So a worker asks the primary, which gathers every
// worker's registry through prom-client's AggregatorRegistry and answers with the combined exposition.

import cluster from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';

const REQUEST = 'portcullis:metrics-request';
const RESPONSE = 'portcullis:metrics-response';
/** Set by an aggregating primary for the workers it forks; without it a worker serves its own registry. */
const ENABLED_ENV = 'PORTCULLIS_CLUSTER_METRICS';
/** Slightly above AggregatorRegistry's own 5 s limit, so its error arrives first when a worker hangs. */
const TIMEOUT_MS = 6_000;

interface Reply {
  type: typeof RESPONSE;
  id: number;
  text?: string;
  error?: string;
}

/** In the primary, before any worker is forked: answers the workers' scrapes with every worker's metrics. */
export function serveClusterMetrics(): void {
  if (!cluster.isPrimary) return;
  const aggregator = new AggregatorRegistry();
  process.env[ENABLED_ENV] = '1';
  cluster.on('message', (worker, message: unknown) => {
    const m = message as { type?: unknown; id?: unknown } | null;
    if (m?.type !== REQUEST || typeof m.id !== 'number') return;
    const id = m.id;
    const reply = (answer: Omit<Reply, 'type' | 'id'>) => {
      // The asking worker may have gone meanwhile; nobody is left to answer.
      if (worker.isConnected()) worker.send({ type: RESPONSE, id, ...answer });
    };
    aggregator.clusterMetrics().then(
      (text) => reply({ text }),
      (error: unknown) => reply({ error: (error as Error).message }),
    );
  });
}

/**
 * In a worker whose primary aggregates: registers `registry` as what this worker reports, and returns the
 * function that fetches the combined exposition. Null anywhere else (a single process serves its own registry).
 */
export function clusterScraper(registry: Registry): (() => Promise<string>) | null {
  if (!cluster.isWorker || process.env[ENABLED_ENV] !== '1' || typeof process.send !== 'function') return null;
  AggregatorRegistry.setRegistries([registry]);
  // Constructing one installs prom-client's responder to the primary's collection requests in this worker.
  new AggregatorRegistry();
  const pending = new Map<number, { resolve(text: string): void; reject(error: Error): void; timer: NodeJS.Timeout }>();
  let nextId = 0;
  process.on('message', (message: unknown) => {
    const m = message as Partial<Reply> | null;
    if (m?.type !== RESPONSE || typeof m.id !== 'number') return;
    const waiting = pending.get(m.id);
    if (waiting === undefined) return;
    pending.delete(m.id);
    clearTimeout(waiting.timer);
    if (typeof m.text === 'string') waiting.resolve(m.text);
    else waiting.reject(new Error(`cluster metrics: ${m.error ?? 'no answer'}`));
  });
  return () =>
    new Promise<string>((resolve, reject) => {
      const id = nextId++;
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error('cluster metrics: the primary did not answer'));
      }, TIMEOUT_MS);
      pending.set(id, { resolve, reject, timer });
      process.send!({ type: REQUEST, id });
    });
}
