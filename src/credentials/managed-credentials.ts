// Keeps a process's view of the managed credentials in step with the store: read at start, re-read whenever the
// store says something changed (a write here or on another process, or a reconnect after which changes may have
// been missed), and updated at once by this process's own writes so the very next request sees them.

import type { Logger } from '../log/logger.js';
import type { CredentialChange, CredentialKind, CredentialRecord, CredentialStore } from '../store/credentials.js';
import { ManagedSet } from './managed-set.js';

/** How long a failed re-read waits before trying again; the view it has stays in use meanwhile. */
const RETRY_MS = 1000;

export class ManagedCredentials {
  readonly #store: CredentialStore;
  readonly #logger: Logger;
  readonly #changed: () => void;
  #set = new ManagedSet();
  #inFlight: Promise<void> | null = null;
  #queued: Promise<void> | null = null;
  /** Bumped by every local write, so a re-read that began before it cannot undo it. */
  #generation = 0;
  #unsubscribe: (() => void) | null = null;
  #retry: NodeJS.Timeout | null = null;
  #stopped = false;

  /** `changed` is called whenever the set changed; the proxy then rebuilds what it serves from it. */
  constructor(store: CredentialStore, logger: Logger, changed: () => void) {
    this.#store = store;
    this.#logger = logger;
    this.#changed = changed;
  }

  /** Reads the store once (a failure stops the start) and follows its changes from then on. */
  async start(): Promise<void> {
    this.#unsubscribe = this.#store.onChange((change) => {
      // This process's own writes are already in the set (applied / removed): re-reading would only cost a
      // full list of every record per write.
      if (change !== null && this.#reflects(change)) return;
      void this.refresh().catch(() => {});
    });
    this.#set = new ManagedSet(await this.#store.list());
  }

  get current(): ManagedSet {
    return this.#set;
  }

  get store(): CredentialStore {
    return this.#store;
  }

  /** A record this process just wrote: in use from the next request on. */
  applied(record: CredentialRecord): void {
    this.#generation++;
    this.#set.apply(record);
    this.#changed();
  }

  /** A record this process just removed. */
  removed(kind: CredentialKind, id: string): void {
    this.#generation++;
    this.#set.forget(kind, id);
    this.#changed();
  }

  /**
   * Re-reads the store. Calls made while a read is running share one read that starts after it, so a change the
   * running read may have missed is always read again, and a burst of changes costs at most two reads.
   */
  refresh(): Promise<void> {
    if (this.#queued) return this.#queued;
    if (this.#inFlight) {
      this.#queued = this.#inFlight.then(
        () => this.#startRead(),
        () => this.#startRead(),
      );
      return this.#queued;
    }
    return this.#startRead();
  }

  stop(): void {
    this.#stopped = true;
    this.#unsubscribe?.();
    if (this.#retry) clearTimeout(this.#retry);
  }

  #reflects(change: CredentialChange): boolean {
    const known = this.#set.get(change.kind, change.id);
    return change.version === null ? known === undefined : known?.version === change.version;
  }

  #startRead(): Promise<void> {
    this.#queued = null;
    const read = this.#read().finally(() => {
      if (this.#inFlight === read) this.#inFlight = null;
    });
    this.#inFlight = read;
    return read;
  }

  async #read(): Promise<void> {
    if (this.#stopped) return;
    const generation = this.#generation;
    let records: CredentialRecord[];
    try {
      records = await this.#store.list();
    } catch (error) {
      this.#logger.warn({ err: (error as Error).message }, 'could not re-read the managed credentials; retrying');
      this.#retry ??= setTimeout(() => {
        this.#retry = null;
        void this.refresh().catch(() => {});
      }, RETRY_MS);
      this.#retry.unref();
      throw error;
    }
    // A local write landed while the list was on its way: it may predate that write, so read again.
    if (generation !== this.#generation) return this.#read();
    this.#set = new ManagedSet(records);
    this.#changed();
  }
}
