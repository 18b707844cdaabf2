// The runtime the proxy serves: built from the config file's declarations merged with the managed credentials,
// rebuilt when either changes. A managed change only marks the runtime stale and the next request (or admin
// read) rebuilds it, so a thousand keys created in a row cost one rebuild, and a request never sees a runtime
// older than the last change this process knows of.

import { ConfigError, type Config } from '../config/load.js';
import type { Logger } from '../log/logger.js';
import type { Runtime } from '../pipeline/runtime.js';
import type { ManagedCredentials } from './managed-credentials.js';
import { mergeManaged } from './merge.js';

export type BuildRuntime = (config: Config, previous: Runtime | null) => Runtime;

export class ServedRuntime {
  #declared: Config;
  #runtime: Runtime | null = null;
  /** The last runtime built, handed to the next build so unchanged signing keys and token caches carry over. */
  #previous: Runtime | null = null;
  #managed: ManagedCredentials | null = null;
  readonly #build: BuildRuntime;
  readonly #logger: Logger;

  constructor(declared: Config, build: BuildRuntime, logger: Logger) {
    this.#declared = declared;
    this.#build = build;
    this.#logger = logger;
  }

  /** Starts serving the managed credentials too; a clash with the config file stops the start. */
  attach(managed: ManagedCredentials): void {
    this.#managed = managed;
    this.#runtime = this.#merge(this.#declared, true);
  }

  /** The config file's part, as last loaded (restart-only settings kept from the start). */
  get declared(): Config {
    return this.#declared;
  }

  /** The runtime built last, stale or not: for what a managed change cannot alter (the signing keys). */
  lastBuilt(): Runtime {
    return this.#runtime ?? this.#previous ?? this.current();
  }

  current(): Runtime {
    return this.#runtime ?? (this.#runtime = this.#merge(this.#declared, false));
  }

  /** Takes a newly loaded config file; a clash with a managed entry throws ConfigError and keeps the running one. */
  declare(config: Config): Runtime {
    const next = this.#merge(config, true);
    this.#declared = config;
    this.#runtime = next;
    return next;
  }

  /** The managed credentials changed: the next `current()` builds a new runtime. */
  invalidate(): void {
    if (this.#runtime !== null) this.#previous = this.#runtime;
    this.#runtime = null;
  }

  #merge(declared: Config, strict: boolean): Runtime {
    let config = declared;
    if (this.#managed !== null) {
      const merged = mergeManaged(declared, this.#managed.current);
      if (strict && merged.collisions.length > 0) throw new ConfigError(declared.source, merged.collisions);
      // Only a race between a reload here and an admin write elsewhere gets here: the declared entry wins.
      if (merged.collisions.length > 0) this.#logger.error({ problems: merged.collisions }, 'managed credentials clash with the config file; serving the declared ones');
      if (merged.unreadable.length > 0) this.#logger.error({ records: merged.unreadable }, 'managed credentials in the store could not be read and are not served');
      config = merged.config;
    }
    const runtime = this.#build(config, this.#runtime ?? this.#previous);
    this.#previous = runtime;
    return runtime;
  }
}
