// Assembles a running Portcullis: the store, the demo backend when configured, the forwarder, the runtime built
// from config, the public and admin listeners. `Portcullis.start` is what the CLI and every integration test
// call, so tests run exactly the code operators run. `reload` swaps in a new config without dropping requests.

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import { startAdminServer, type AdminServer } from './admin/server.js';
import { systemClock, type Clock } from './clock.js';
import type { Config } from './config/load.js';
import { sha256KeyHash } from './config/secrets.js';
import { startDemoBackend, type DemoBackend } from './demo/backend.js';
import { HttpProxyForwarder } from './forward/http-proxy-forwarder.js';
import { UndiciForwarder } from './forward/undici-forwarder.js';
import type { Forwarder } from './forward/forwarder.js';
import { createLogger, type Logger } from './log/logger.js';
import type { TokenEndpointOutcome } from './faces/oauth/token-endpoint.js';
import { createPcrFace } from './faces/pcr/face.js';
import { SessionTracker } from './session/pcr-sessions.js';
import { LoginGuard } from './protection/login-guard.js';
import { identityHeaderNames } from './rewrite/identity-headers.js';
import { ownEndpoints, type ReadinessProbe } from './pipeline/own-endpoints.js';
import { createRequestHandler, createUpgradeHandler } from './pipeline/handle-request.js';
import { RequestLogObserver } from './observability/request-log.js';
import { buildRuntime, type RequestObserver, type Runtime, type RuntimeExtensions, type Services } from './pipeline/runtime.js';
import { SecretVerifier } from './secrets/verifier.js';
import { storeFromConfig } from './store/from-config.js';
import type { Store } from './store/store.js';
import { RevocationView } from './session/revocations.js';

/** Hooks for observers of what the proxy does (metrics); none of them can change a decision. */
export interface PortcullisHooks {
  request?: RequestObserver;
  tokenRequest?: (outcome: TokenEndpointOutcome) => void;
  login?: (outcome: { status: number; reason: string; user: string | null; kind: 'login' | 'logout' }) => void;
  reload?: (result: { ok: true; restartNeeded: string[] } | { ok: false; problems: string[] }) => void;
  /** Adds routes to the admin listener that need no admin token (metrics). */
  extendAdmin?: (app: Express) => void;
  /** Wraps the store right after it is created or received (timing its operations for metrics). */
  wrapStore?: (store: Store) => Store;
  /** Called once the proxy listens, so observers can read its runtime when they are scraped. */
  started?: (proxy: Portcullis) => void;
}

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

function forwarderFor(config: Config, upstream: URL): Forwarder {
  const options = {
    upstream,
    timeoutMs: config.parsed.upstream.timeout,
    connectTimeoutMs: config.parsed.upstream.connectTimeout,
    maxSockets: config.parsed.upstream.maxSockets,
  };
  return config.parsed.upstream.engine === 'undici' ? new UndiciForwarder(options) : new HttpProxyForwarder(options);
}

function applyListenerLimits(server: Server, config: Config): void {
  const listen = config.parsed.listen;
  server.headersTimeout = listen.headersTimeout;
  server.requestTimeout = listen.requestTimeout;
  server.keepAliveTimeout = listen.keepAliveTimeout;
  server.maxConnections = listen.maxConnections;
  // Node enforces both timeouts only when it sweeps its connections, every 30 s by default, so a 10 s headers
  // timeout would really be up to 40 s. The sweep is armed when the server starts listening: a reload changes
  // the timeouts but keeps the sweep interval chosen at start.
  const shortest = Math.min(...[listen.headersTimeout, listen.requestTimeout].filter((ms) => ms > 0), 4000);
  (server as Server & { connectionsCheckingInterval: number }).connectionsCheckingInterval = Math.max(100, Math.floor(shortest / 4));
}

/** Settings a running process cannot change; a reload that changes them says a restart is needed. */
function restartOnlyChanges(before: Config, after: Config): string[] {
  const a = before.parsed;
  const b = after.parsed;
  const changed: string[] = [];
  if (a.listen.host !== b.listen.host || a.listen.port !== b.listen.port) changed.push('listen.host/port');
  if (a.listen.maxHeaderSize !== b.listen.maxHeaderSize) changed.push('listen.maxHeaderSize');
  // The CLI reads it once, when it starts.
  if (a.listen.shutdownTimeout !== b.listen.shutdownTimeout) changed.push('listen.shutdownTimeout');
  // The logger and the request-log observer are built once, at start.
  if (a.log.level !== b.log.level) changed.push('log.level');
  if (a.log.requests !== b.log.requests) changed.push('log.requests');
  if (a.admin.host !== b.admin.host || a.admin.port !== b.admin.port) changed.push('admin.host/port');
  if (JSON.stringify(a.store) !== JSON.stringify(b.store) || before.redisPassword !== after.redisPassword) changed.push('store');
  if (a.workers !== b.workers) changed.push('workers');
  if ((a.upstream.url === 'demo') !== (b.upstream.url === 'demo')) changed.push('upstream.url (demo)');
  return changed;
}

export class Portcullis {
  #runtime: Runtime;
  readonly #server: Server;
  readonly #admin: AdminServer;
  readonly #services: Services;
  readonly #extensions: RuntimeExtensions;
  readonly #hooks: PortcullisHooks;
  readonly #demo: DemoBackend | null;
  readonly #purgeTimer: NodeJS.Timeout;
  readonly #ownsStore: boolean;
  #closing: Promise<void> | null = null;

  private constructor(parts: {
    runtime: Runtime;
    server: Server;
    admin: AdminServer;
    services: Services;
    extensions: RuntimeExtensions;
    hooks: PortcullisHooks;
    demo: DemoBackend | null;
    purgeTimer: NodeJS.Timeout;
    ownsStore: boolean;
  }) {
    this.#runtime = parts.runtime;
    this.#server = parts.server;
    this.#admin = parts.admin;
    this.#services = parts.services;
    this.#extensions = parts.extensions;
    this.#hooks = parts.hooks;
    this.#demo = parts.demo;
    this.#purgeTimer = parts.purgeTimer;
    this.#ownsStore = parts.ownsStore;
  }

  static async start(options: StartOptions): Promise<Portcullis> {
    const { config } = options;
    const hooks = options.hooks ?? {};
    const clock = options.clock ?? systemClock;
    const logger = options.logger ?? createLogger({ level: config.parsed.log.level });
    const rawStore = options.store ?? (await storeFromConfig(config, clock));
    const store = hooks.wrapStore ? hooks.wrapStore(rawStore) : rawStore;
    const demo =
      config.parsed.upstream.url === 'demo'
        ? await startDemoBackend({
            host: '127.0.0.1',
            port: 0,
            identityHeaders: Object.values(identityHeaderNames(config.parsed.identityHeaders)),
            clientKeysToFlag: (segment) => config.apiKeys.some((k) => k.keyHash === sha256KeyHash(segment)),
          })
        : null;
    const upstreamUrl = new URL(demo ? demo.url : config.parsed.upstream.url);
    const revocations = new RevocationView(REVOCATION_MEMORY_MS);
    revocations.attach(store, () => clock.now());
    const storeConfig = config.parsed.store;
    const sessionTracker = new SessionTracker(store, revocations, logger, {
      localTtlMs: storeConfig.type === 'redis' ? storeConfig.sessionCacheTtl : 0,
      writeIntervalMs: storeConfig.type === 'redis' ? storeConfig.activityWriteInterval : 0,
      maxLocalSessions: 100_000,
    });

    let current: Runtime | null = null;
    const services: Services = {
      current: () => current!,
      store,
      clock,
      logger,
      observer: { requestFinished() {} },
      forwarder: forwarderFor(config, upstreamUrl),
      revocations,
      verifier: new SecretVerifier(),
      guard: new LoginGuard(store, clock, () => services.current().config.parsed.protection.bruteForce),
      upgradedSockets: new Set(),
    };
    services.observer = config.parsed.log.requests
      ? new RequestLogObserver(logger, () => services.current(), hooks.request ?? null)
      : (hooks.request ?? services.observer);
    const readiness: ReadinessProbe = {
      async ready() {
        try {
          await store.ping();
          return { ready: true, checks: { config: 'ok', store: 'ok' } };
        } catch {
          return { ready: false, checks: { config: 'ok', store: 'failing' } };
        }
      },
    };
    const extensions: RuntimeExtensions = {
      ownEndpoints: (runtime) => ownEndpoints(runtime, { ...services, readiness, onTokenRequest: hooks.tokenRequest }),
      pcrFace: (runtime) =>
        createPcrFace(runtime, {
          ...services,
          sessionTracker,
          ...(hooks.login ? { onLogin: (outcome) => hooks.login?.(outcome) } : {}),
        }),
    };
    current = buildRuntime(config, services, extensions);
    if (current.keys.development) {
      logger.warn(
        { kid: current.keys.active.kid },
        'NO SIGNING KEY CONFIGURED: using a throw-away key generated for this process. Tokens will not survive a restart and will not be accepted by other replicas. Configure tokens.signingKeys for production.',
      );
    }

    const server = createServer({ requireHostHeader: false, maxHeaderSize: config.parsed.listen.maxHeaderSize }, createRequestHandler(services));
    applyListenerLimits(server, config);
    server.on('upgrade', createUpgradeHandler(services));
    server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
      // A pipelined request can fail to parse while an earlier response is being sent: an answer written now would
      // land inside that response, so the connection is only cut (Node's own default does the same).
      const inFlight = (socket as typeof socket & { _httpMessage?: { headersSent: boolean } | null })._httpMessage;
      if (!socket.writable || error.code === 'ECONNRESET' || inFlight?.headersSent === true) {
        socket.destroy();
        return;
      }
      const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
      const text = status === 431 ? 'Request Header Fields Too Large' : status === 408 ? 'Request Timeout' : 'Bad Request';
      const body = JSON.stringify({ error: 'invalid_request', error_description: status === 408 ? 'request timed out' : status === 431 ? 'request headers too large' : 'malformed HTTP request' });
      // Destroyed once the answer is out, not just ended: the listener allows half-open connections, so a client
      // that never closes its side would otherwise hold the socket for good.
      socket.end(`HTTP/1.1 ${status} ${text}\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`, () =>
        socket.destroy(),
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.parsed.listen.port, config.parsed.listen.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    let admin: AdminServer;
    try {
      admin = await startAdminServer(services, {
        host: config.parsed.admin.host,
        port: config.parsed.admin.port,
        ...(hooks.extendAdmin ? { extend: hooks.extendAdmin } : {}),
      });
    } catch (error) {
      server.close();
      await demo?.close();
      throw error;
    }
    const purgeTimer = setInterval(() => {
      const now = clock.now();
      revocations.purge(now);
      const purgeable = store as Store & { purgeExpired?: (now: number) => void };
      purgeable.purgeExpired?.(now);
    }, PURGE_INTERVAL_MS);
    purgeTimer.unref();

    const instance = new Portcullis({ runtime: current, server, admin, services, extensions, hooks, demo, purgeTimer, ownsStore: options.store === undefined });
    services.current = () => instance.#runtime;
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
    const previous = this.#runtime;
    const restartNeeded = restartOnlyChanges(previous.config, config);
    const effective = restartNeeded.length === 0 ? config : keepRestartOnly(previous.config, config);
    const next = buildRuntime(effective, this.#services, this.#extensions, previous);
    const oldUpstream = previous.config.parsed.upstream;
    const newUpstream = effective.parsed.upstream;
    // The demo backend keeps running across reloads; only its timeouts and pool size can change.
    const target = newUpstream.url === 'demo' ? this.#demo?.url : newUpstream.url;
    if (target !== undefined && JSON.stringify(oldUpstream) !== JSON.stringify(newUpstream)) {
      const old = this.#services.forwarder;
      this.#services.forwarder = forwarderFor(effective, new URL(target));
      // Requests already forwarded keep their sockets until they finish; then the old pool goes.
      setTimeout(() => void old.close(), oldUpstream.timeout + 1000).unref();
    }
    applyListenerLimits(this.#server, effective);
    this.#runtime = next;
    await this.#endRemovedSessions(previous.config, effective);
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
    return (this.#server.address() as AddressInfo).port;
  }

  get url(): string {
    const address = this.#server.address() as AddressInfo;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return `http://${host}:${address.port}`;
  }

  get adminUrl(): string {
    return this.#admin.url;
  }

  get runtime(): Runtime {
    return this.#runtime;
  }

  get services(): Services {
    return this.#services;
  }

  get demoBackendUrl(): string | null {
    return this.#demo?.url ?? null;
  }

  /** Stops accepting connections, lets in-flight requests finish (up to the deadline), then closes the rest. */
  close(deadlineMs = 10_000): Promise<void> {
    this.#closing ??= (async () => {
      clearInterval(this.#purgeTimer);
      const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
      const adminClosed = this.#admin.close();
      this.#server.closeIdleConnections();
      // A keep-alive connection whose request finishes during the drain is not closed by Node (relayed responses
      // say keep-alive), so it would hold the close until the client lets go of it or the deadline passes.
      const sweeper = setInterval(() => this.#server.closeIdleConnections(), 50);
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, deadlineMs);
      });
      await Promise.race([closed, deadline]);
      clearTimeout(timer);
      clearInterval(sweeper);
      this.#server.closeAllConnections();
      for (const socket of this.#services.upgradedSockets) socket.destroy();
      await adminClosed;
      this.#services.revocations.detach();
      await this.#services.forwarder.close();
      await this.#demo?.close();
      if (this.#ownsStore) await this.#services.store.close();
    })();
    return this.#closing;
  }
}

/** The new config with the restart-only settings of the running one, so a reload applies everything else. */
function keepRestartOnly(running: Config, next: Config): Config {
  const parsed = {
    ...next.parsed,
    listen: {
      ...next.parsed.listen,
      host: running.parsed.listen.host,
      port: running.parsed.listen.port,
      maxHeaderSize: running.parsed.listen.maxHeaderSize,
      shutdownTimeout: running.parsed.listen.shutdownTimeout,
    },
    log: running.parsed.log,
    admin: { ...next.parsed.admin, host: running.parsed.admin.host, port: running.parsed.admin.port },
    store: running.parsed.store,
    workers: running.parsed.workers,
    upstream: (running.parsed.upstream.url === 'demo') !== (next.parsed.upstream.url === 'demo') ? running.parsed.upstream : next.parsed.upstream,
  };
  return { ...next, parsed, redisPassword: running.redisPassword, sentinelPassword: running.sentinelPassword };
}
