// Assembles a running Portcullis: the store, the demo backend when configured, the forwarder, the runtime built
// from config, the public and admin listeners. `Portcullis.start` is what the CLI and every integration test
// call, so tests run exactly the code operators run. `reload` swaps in a new config without dropping requests.

import { startAdminServer, type AdminServer } from './admin/server.js';
import { systemClock, type Clock } from './clock.js';
import type { Config } from './config/load.js';
import { keepRestartOnly, restartOnlyChanges } from './config/restart-only.js';
import { sha256KeyHash } from './config/secrets.js';
import { sameUpstreamTls } from './config/upstream-tls.js';
import { ManagedCredentials } from './credentials/managed-credentials.js';
import { ServedRuntime } from './credentials/served-runtime.js';
import { startDemoBackend, type DemoBackend } from './demo/backend.js';
import { forwarderFor } from './forward/engine.js';
import { PublicListeners } from './listener/public-listeners.js';
import { createLogger, type Logger } from './log/logger.js';
import { FACES } from './faces/registry.js';
import { requestClientAddress, requestOrigin } from './listener/client-address.js';
import { healthEndpoints, storeReadiness } from './listener/health.js';
import { LoginGuard } from './protection/login-guard.js';
import { identityHeaderNames } from './rewrite/identity-headers.js';
import { createRequestHandler } from './pipeline/handle-request.js';
import { createUpgradeHandler } from './pipeline/handle-upgrade.js';
import type { ObservedProxy, PortcullisHooks } from './observability/hooks.js';
import { RequestLogObserver } from './observability/request-log.js';
import { startTracing, type Tracing } from './observability/tracing.js';
import { buildRuntime, type Runtime, type RuntimeInputs, type Services } from './pipeline/runtime.js';
import { SecretVerifier } from './secrets/verifier.js';
import { sessionViewTiming, storeFromConfig } from './store/factory.js';
import { instrumentStore } from './store/instrumented.js';
import type { Store } from './store/store.js';
import { Liveness } from './session/liveness.js';
import { PcrSessions } from './session/pcr-sessions.js';
import { RevocationView } from './session/revocations.js';

export interface StartOptions {
  config: Config;
  clock?: Clock;
  logger?: Logger;
  /** A store built by the caller (tests share one between two proxies); otherwise built from config. */
  store?: Store;
  hooks?: PortcullisHooks;
}

const PURGE_INTERVAL_MS = 30_000;
/** Longest any token we issue can live; revoked ids are remembered this long. */
const REVOCATION_MEMORY_MS = 7 * 24 * 3600_000;

export type { PortcullisHooks };

export class Portcullis implements ObservedProxy {
  readonly #served: ServedRuntime;
  readonly #managed: ManagedCredentials;
  readonly #listener: PublicListeners;
  readonly #admin: AdminServer;
  readonly #services: Services;
  readonly #hooks: PortcullisHooks;
  readonly #demo: DemoBackend | null;
  readonly #purgeTimer: NodeJS.Timeout;
  readonly #ownsStore: boolean;
  readonly #tracing: Tracing | null;
  #closing: Promise<void> | null = null;

  private constructor(parts: {
    served: ServedRuntime;
    managed: ManagedCredentials;
    listener: PublicListeners;
    admin: AdminServer;
    services: Services;
    hooks: PortcullisHooks;
    demo: DemoBackend | null;
    purgeTimer: NodeJS.Timeout;
    ownsStore: boolean;
    tracing: Tracing | null;
  }) {
    this.#served = parts.served;
    this.#managed = parts.managed;
    this.#listener = parts.listener;
    this.#admin = parts.admin;
    this.#services = parts.services;
    this.#hooks = parts.hooks;
    this.#demo = parts.demo;
    this.#purgeTimer = parts.purgeTimer;
    this.#ownsStore = parts.ownsStore;
    this.#tracing = parts.tracing;
  }

  static async start(options: StartOptions): Promise<Portcullis> {
    const { config } = options;
    const hooks = options.hooks ?? {};
    const clock = options.clock ?? systemClock;
    const logger = options.logger ?? createLogger({ level: config.parsed.log.level });
    // Null when tracing is off: then nothing below builds a span or carries a trace context.
    const tracing = startTracing(config.parsed.tracing, { logger, env: process.env });
    const rawStore = options.store ?? (await storeFromConfig(config, clock));
    const observed = hooks.wrapStore ? hooks.wrapStore(rawStore) : rawStore;
    const store = tracing === null ? observed : instrumentStore(observed, tracing.store);
    const demo =
      config.parsed.upstream.url === 'demo'
        ? await startDemoBackend({
            host: '127.0.0.1',
            port: 0,
            identityHeaders: Object.values(identityHeaderNames(config.parsed.identityHeaders)),
            clientKeysToFlag: (segment) => services.current().config.apiKeys.some((k) => k.keyHash === sha256KeyHash(segment)),
          })
        : null;
    const upstreamUrl = new URL(demo ? demo.url : config.parsed.upstream.url);
    const revocations = new RevocationView(REVOCATION_MEMORY_MS);
    revocations.attach(store, () => clock.now());
    const pcrSessions = new PcrSessions(store, revocations, logger, { ...sessionViewTiming(config.parsed.store), maxLocalSessions: 100_000 });
    const now = () => clock.now();

    let served: ServedRuntime | null = null;
    const services: Services = {
      current: () => served!.current(),
      store,
      clock,
      logger,
      observer: { requestFinished() {} },
      forwarder: forwarderFor(config, upstreamUrl, logger),
      revocations,
      pcrSessions,
      liveness: new Liveness(store, revocations, pcrSessions, { failOpenForAccessTokens: config.parsed.store.failOpen.bearerRevocationCheck, now }),
      verifier: new SecretVerifier(),
      guard: new LoginGuard(store, clock, () => services.current().config.parsed.protection.bruteForce),
      upgradedSockets: new Set(),
    };
    services.observer = config.parsed.log.requests ? new RequestLogObserver(logger, hooks.request ?? null) : (hooks.request ?? services.observer);
    const runtimeInputs: RuntimeInputs = {
      faces: FACES,
      builtinEndpoints: healthEndpoints(storeReadiness(store)),
      services: { ...services, onOutcome: (outcome) => hooks.ownEndpoint?.(outcome) },
      clientAddress: requestClientAddress,
      requestOrigin,
    };
    served = new ServedRuntime(config, (effective, previous) => buildRuntime(effective, runtimeInputs, previous), logger);
    const managed = new ManagedCredentials(store.credentials, logger, () => served!.invalidate());
    // A start that fails (store, certificate, port taken) leaves nothing running that would keep the process alive.
    const abandon = async (listener: PublicListeners | null) => {
      await listener?.close(0);
      managed.stop();
      await demo?.close();
      await tracing?.shutdown();
      if (options.store === undefined) await store.close();
    };
    try {
      await managed.start();
      served.attach(managed);
    } catch (error) {
      await abandon(null);
      throw error;
    }
    const current = served.current();
    if (current.keys.development) {
      logger.warn(
        { kid: current.keys.active.kid },
        'NO SIGNING KEY CONFIGURED: using a throw-away key generated for this process. Tokens will not survive a restart and will not be accepted by other replicas. Configure tokens.signingKeys for production.',
      );
    }

    const certificates = { logger, ...(hooks.tlsCertificate ? { report: hooks.tlsCertificate } : {}) };
    const handlers = { request: createRequestHandler(services, tracing === null ? null : tracing.requests), upgrade: createUpgradeHandler(services) };
    let listener: PublicListeners | null = null;
    let admin: AdminServer;
    try {
      listener = await PublicListeners.start(config.parsed.listen, handlers, { ...certificates, judge: () => services.current() });
      admin = await startAdminServer(services, { credentials: managed, declared: () => served!.declared, keys: () => served!.lastBuilt().keys }, {
        host: config.parsed.admin.host,
        port: config.parsed.admin.port,
        tls: config.parsed.admin.tls,
        certificates,
        ...(hooks.extendAdmin ? { extend: hooks.extendAdmin } : {}),
      });
    } catch (error) {
      await abandon(listener);
      throw error;
    }
    const purgeTimer = setInterval(() => {
      const now = clock.now();
      revocations.purge(now);
      store.purgeExpired(now);
    }, PURGE_INTERVAL_MS);
    purgeTimer.unref();

    const instance = new Portcullis({ served, managed, listener, admin, services, hooks, demo, purgeTimer, ownsStore: options.store === undefined, tracing });
    logger.info({ url: instance.url, admin: admin.url, upstream: demo ? 'demo' : upstreamUrl.origin, store: store.kind }, 'listening');
    hooks.started?.(instance);
    return instance;
  }

  /**
   * Swaps in a new, already validated config. Requests in flight finish under the runtime they started with.
   * Settings that only a restart can change are kept and reported; sessions of API users and keys that the new
   * config no longer has are ended.
   */
  async reload(config: Config): Promise<{ restartNeeded: string[] }> {
    const previous = this.#served.current();
    const restartNeeded = restartOnlyChanges(this.#served.declared, config);
    const effective = restartNeeded.length === 0 ? config : keepRestartOnly(this.#served.declared, config);
    // Throws (and changes nothing) when the new file declares an id that is managed through the admin API.
    const next = this.#served.declare(effective);
    const oldUpstream = previous.config.parsed.upstream;
    const newUpstream = effective.parsed.upstream;
    // The demo backend keeps running across reloads; only its timeouts and pool size can change.
    const target = newUpstream.url === 'demo' ? this.#demo?.url : newUpstream.url;
    // The TLS files are compared by content: a certificate replaced under the same path applies to new connections.
    const upstreamChanged = JSON.stringify(oldUpstream) !== JSON.stringify(newUpstream) || !sameUpstreamTls(previous.config.upstreamTls, effective.upstreamTls);
    if (target !== undefined && upstreamChanged) {
      const old = this.#services.forwarder;
      this.#services.forwarder = forwarderFor(effective, new URL(target), this.#services.logger);
      // Requests already forwarded keep their sockets until they finish; then the old pool goes.
      setTimeout(() => void old.close(), oldUpstream.timeout + 1000).unref();
    }
    this.#listener.reload(effective.parsed.listen);
    this.#admin.reloadCertificate(effective.parsed.admin.tls);
    await this.#endRemovedSessions(previous.config, next.config);
    this.#services.logger.info({ source: config.source, restartNeeded }, 'config reloaded');
    this.#hooks.reload?.({ ok: true, restartNeeded });
    return { restartNeeded };
  }

  /** Reports a reload that failed validation; the running config stays. */
  reloadFailed(problems: string[]): void {
    this.#services.logger.error({ problems }, 'config reload failed; keeping the running config');
    this.#hooks.reload?.({ ok: false, problems });
  }

  async #endRemovedSessions(before: Config, after: Config): Promise<void> {
    const removedUsers = [...before.apiUsers.keys()].filter((login) => !after.apiUsers.has(login));
    const keptKeys = new Set(after.apiKeys.map((k) => k.id));
    const removedKeys = before.apiKeys.map((k) => k.id).filter((id) => !keptKeys.has(id));
    try {
      for (const user of removedUsers) await this.#services.store.deleteSessions({ user });
      for (const keyId of removedKeys) await this.#services.store.deleteSessions({ keyId });
    } catch (error) {
      // Requests of removed users and keys are refused anyway (the runtime no longer knows them).
      this.#services.logger.warn({ err: (error as Error).message }, 'could not delete the sessions of removed API users or keys');
    }
  }

  get port(): number {
    return this.#listener.port;
  }

  /** http:// or https://, as the public listener speaks. */
  get url(): string {
    return this.#listener.url;
  }

  /** The plain-HTTP redirect listener's URL (listen.httpRedirect), or null when there is none. */
  get redirectUrl(): string | null {
    return this.#listener.redirectUrl;
  }

  get adminUrl(): string {
    return this.#admin.url;
  }

  get runtime(): Runtime {
    return this.#served.current();
  }

  get services(): Services {
    return this.#services;
  }

  /** Null when tracing is off. */
  get tracing(): Tracing | null {
    return this.#tracing;
  }

  get demoBackendUrl(): string | null {
    return this.#demo?.url ?? null;
  }

  /** Stops accepting connections, lets in-flight requests finish (up to the deadline), then closes the rest. */
  close(deadlineMs = 10_000): Promise<void> {
    this.#closing ??= (async () => {
      clearInterval(this.#purgeTimer);
      this.#managed.stop();
      const adminClosed = this.#admin.close();
      await this.#listener.close(deadlineMs);
      for (const socket of this.#services.upgradedSockets) socket.destroy();
      await adminClosed;
      this.#services.revocations.detach();
      await this.#services.forwarder.close();
      await this.#tracing?.shutdown();
      await this.#demo?.close();
      if (this.#ownsStore) await this.#services.store.close();
    })();
    return this.#closing;
  }
}
