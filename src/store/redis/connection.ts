// The Redis store's two connections, one for commands and one subscribed to the revocation channel: readiness,
// failures turned into StoreUnavailableError without credentials, and revocation events and credential changes
// in both directions.

import { randomUUID } from 'node:crypto';
import { Cluster, type ChainableCommander, type Redis } from 'ioredis';
import type { Clock } from '../../clock.js';
import { ChangeListeners, type ChangeListener } from '../credential-listeners.js';
import type { CredentialChange } from '../credentials.js';
import { callListener, RevocationListeners, type RevocationListener } from '../records.js';
import { StoreUnavailableError, type RevocationEvent } from '../store.js';
import {
  clusterSubscription,
  createCommandClient,
  createSubscriberClient,
  describeEndpoint,
  quitClient,
  type RedisClient,
  type ResolvedRedisOptions,
} from './client-options.js';
import { decodeChannelMessage, encodeCredentialsMessage, encodeRevocationMessage } from './encoding.js';
import type { RedisKeys } from './keys.js';

/** How often a moved cluster subscription is looked for while ioredis picks its new node. */
const CLUSTER_SUBSCRIPTION_POLL_MS = 50;

/** What the modules for each kind of record work with: the connections, the key names and the clock. */
export interface RedisContext {
  connection: RedisConnection;
  keys: RedisKeys;
  clock: Clock;
}

export class RedisConnection {
  readonly client: RedisClient;
  readonly #options: ResolvedRedisOptions;
  readonly #subscriber: RedisClient;
  readonly #subscribed: Promise<void>;
  readonly #channel: string;
  /** Tags this instance's own events so they are not delivered twice (once directly, once via pub/sub). */
  readonly #origin = randomUUID();
  readonly #listeners = new RevocationListeners();
  readonly #resyncListeners = new Set<() => void>();
  readonly #credentialListeners = new ChangeListeners();
  readonly #secrets: string[];
  #lastError: string | undefined;
  #closed = false;

  constructor(options: ResolvedRedisOptions, channel: string) {
    this.#options = options;
    this.#secrets = [options.password, options.sentinel?.password].filter((s): s is string => !!s);
    this.#channel = channel;
    this.client = createCommandClient(options);
    // The subscriber resubscribes after every reconnect. Events published while it is disconnected are lost
    // (pub/sub keeps no history), so whatever caches credentials must also expire them.
    this.#subscriber = createSubscriberClient(this.client);
    const remember = (err: Error) => {
      this.#lastError = this.#redact(err.message);
    };
    this.client.on('error', remember);
    this.#subscriber.on('error', remember);
    this.#subscriber.on('message', (from: string, message: string) => this.#onMessage(from, message));
    this.#subscribed = this.#subscriber.subscribe(channel).then(() => undefined);
    // Observed by waitUntilReady; this only keeps an early close() from surfacing as an unhandled rejection.
    this.#subscribed.catch(() => {});
    // Every reconnect after the first connect may have lost events. The resync is announced only once our own
    // SUBSCRIBE is answered: replies come in order, so the channel is live again by then, and a store read
    // made after the announcement cannot miss a revocation that pub/sub would not deliver.
    let connectedBefore = false;
    this.#subscriber.on('ready', () => {
      if (!connectedBefore) {
        connectedBefore = true;
        return;
      }
      const announce = () => this.#announceResync();
      this.#subscriber.subscribe(channel).then(announce, announce);
    });
    // A cluster subscription that moves to another node does so without a 'ready' (see clusterSubscription).
    this.#subscribed.then(() => this.#watchClusterSubscription(clusterSubscription(this.#subscriber)), () => {});
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Resolves once both connections are up and the revocation channel is subscribed. */
  async waitUntilReady(timeoutMs: number = this.#options.connectTimeoutMs + this.#options.commandTimeoutMs): Promise<void> {
    const client = this.client;
    let onReady: (() => void) | undefined;
    let timer: NodeJS.Timeout | undefined;
    const ready =
      client.status === 'ready'
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            onReady = resolve;
            client.once('ready', resolve);
          });
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const why = this.#lastError ? `: ${this.#lastError}` : '';
        reject(
          new StoreUnavailableError(
            `Redis store not reachable at ${describeEndpoint(this.#options)} within ${timeoutMs} ms${why}`,
          ),
        );
      }, timeoutMs);
    });
    try {
      await Promise.race([Promise.all([ready, this.#subscribed]), timeout]);
    } catch (err) {
      if (err instanceof StoreUnavailableError) throw err;
      const message = this.#redact(err instanceof Error ? err.message : String(err));
      throw new StoreUnavailableError(`Redis store at ${describeEndpoint(this.#options)} failed to connect: ${message}`);
    } finally {
      clearTimeout(timer);
      if (onReady) client.off('ready', onReady);
    }
  }

  /** Runs `fn` against Redis; any failure becomes a StoreUnavailableError naming `op`. */
  async run<T>(op: string, fn: () => Promise<T>): Promise<T> {
    if (this.#closed) throw new StoreUnavailableError(`Redis store is closed (${op})`);
    try {
      return await fn();
    } catch (err) {
      throw this.unavailable(op, err);
    }
  }

  /** Runs a pipeline and fails as a whole if any command failed. */
  async exec(pipeline: ChainableCommander): Promise<unknown[]> {
    const results = await pipeline.exec();
    if (!results) throw new Error('pipeline aborted');
    return results.map(([err, value]) => {
      if (err) throw err;
      return value;
    });
  }

  /**
   * The original error is deliberately not attached as `cause`: ioredis errors can carry the arguments of the
   * failed command, which for AUTH include the password.
   */
  unavailable(op: string, err: unknown): StoreUnavailableError {
    const message = err instanceof Error ? err.message : String(err);
    return new StoreUnavailableError(`Redis store unavailable (${op}): ${this.#redact(message)}`);
  }

  /**
   * Delivers to this process's listeners directly and to every other process via pub/sub. Failing to publish
   * is reported, because other processes may then keep honouring the credential from their caches.
   */
  async publish(events: RevocationEvent[]): Promise<void> {
    if (events.length === 0) return;
    for (const event of events) this.#listeners.deliver(event);
    await this.run('publish', async () => {
      const pipeline = this.client.pipeline();
      for (const event of events) pipeline.publish(this.#channel, encodeRevocationMessage(this.#origin, event));
      await this.exec(pipeline);
    });
  }

  /**
   * Waits until the configured number of replicas has every write this connection sent so far (WAIT), so a
   * failover cannot bring back what `op` revoked. Not confirmed in time: StoreUnavailableError, though the write is
   * in force on the master (repeating it is safe). Without a configured wait it returns at once.
   */
  async replicated(op: string): Promise<void> {
    const { replicas, timeoutMs } = this.#options.replicationWait;
    if (replicas <= 0 || this.client instanceof Cluster) return;
    const client = this.client;
    const acknowledged = await this.run(op, () => client.wait(replicas, timeoutMs));
    if (acknowledged < replicas) {
      throw new StoreUnavailableError(
        `Redis store unavailable (${op}): ${acknowledged} of ${replicas} replicas confirmed the write within ${timeoutMs} ms; ` +
          'it is in force on the master',
      );
    }
  }

  get channel(): string {
    return this.#channel;
  }

  /** What a credential write publishes on the channel (from inside its script), tagged with this instance. */
  get credentialsMessage(): string {
    return encodeCredentialsMessage(this.#origin);
  }

  /** Called when managed credentials changed in another process, and after a resync. */
  onCredentialsChange(listener: ChangeListener): () => void {
    return this.#credentialListeners.add(listener);
  }

  /** Tells this process's credential listeners of its own write: its echo from pub/sub is skipped. */
  credentialsChanged(change: CredentialChange | null): void {
    if (!this.#closed) this.#credentialListeners.notify(change);
  }

  onRevocation(listener: RevocationListener): () => void {
    return this.#listeners.add(listener);
  }

  /** Called after the revocation channel was resubscribed following a lost connection. */
  onResync(listener: () => void): () => void {
    this.#resyncListeners.add(listener);
    return () => {
      this.#resyncListeners.delete(listener);
    };
  }

  async ping(): Promise<void> {
    if (this.#closed) throw new StoreUnavailableError('Redis store is closed');
    if (this.client.status !== 'ready') {
      const why = this.#lastError ? `: ${this.#lastError}` : '';
      throw new StoreUnavailableError(`Redis store unavailable: not connected (${this.client.status})${why}`);
    }
    await this.run('ping', () => this.client.ping());
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#listeners.clear();
    this.#resyncListeners.clear();
    await Promise.allSettled([this.client, this.#subscriber].map((c) => quitClient(c)));
  }

  #announceResync(): void {
    if (this.#closed) return;
    for (const listener of [...this.#resyncListeners]) callListener(listener);
    // Credential changes published while disconnected were lost as well.
    this.#credentialListeners.notify();
  }

  /**
   * Treats the end of the node connection a cluster subscription is on as a reconnect: once ioredis has moved
   * the subscription to another node, our own SUBSCRIBE is sent there too and, when answered, a resync is
   * announced, as after a reconnect of a standalone subscriber.
   */
  #watchClusterSubscription(current: Redis | null): void {
    if (current === null || this.#closed) return;
    current.once('end', () => void this.#followClusterSubscription(current));
  }

  async #followClusterSubscription(previous: Redis): Promise<void> {
    while (!this.#closed) {
      const next = clusterSubscription(this.#subscriber);
      if (next !== null && next !== previous) {
        await this.#subscriber.subscribe(this.#channel).catch(() => {});
        if (next.status !== 'end') {
          this.#watchClusterSubscription(next);
          this.#announceResync();
          return;
        }
        previous = next;
      }
      await new Promise((resolve) => setTimeout(resolve, CLUSTER_SUBSCRIPTION_POLL_MS).unref());
    }
  }

  #onMessage(channel: string, message: string): void {
    if (channel !== this.#channel) return;
    const decoded = decodeChannelMessage(message);
    if (decoded === null || decoded.origin === this.#origin || this.#closed) return;
    if ('event' in decoded) this.#listeners.deliver(decoded.event);
    else this.#credentialListeners.notify();
  }

  #redact(message: string): string {
    let out = message.replace(/(rediss?:\/\/)[^\s@/]*@/gi, '$1***@');
    for (const secret of this.#secrets) out = out.split(secret).join('***');
    return out;
  }
}
