// Assembles a running Portcullis: the store, the demo backend when configured, the forwarder, the runtime built
// from config, the public listener and its probes. `Portcullis.start` is what the CLI and every integration test
// call, so tests run exactly the code operators run.

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { systemClock, type Clock } from './clock.js';
import type { Config } from './config/load.js';
import { startDemoBackend, type DemoBackend } from './demo/backend.js';
import { HttpProxyForwarder } from './forward/http-proxy-forwarder.js';
import type { Forwarder } from './forward/forwarder.js';
import { createLogger, type Logger } from './log/logger.js';
import { ownEndpoints, type ReadinessProbe } from './proxy/own-endpoints.js';
import { createRequestHandler, createUpgradeHandler } from './proxy/pipeline.js';
import { RequestLogObserver } from './proxy/request-log.js';
import { buildRuntime, type RequestObserver, type Runtime, type Services } from './proxy/runtime.js';
import { SecretVerifier } from './secrets/verifier.js';
import { storeFromConfig } from './store/from-config.js';
import type { Store } from './store/store.js';
import { RevocationView } from './tokens/revocations.js';
import { createPcrFace } from './pcr/face.js';
import { startAdminServer, type AdminServer } from './admin/server.js';
import type { Express } from 'express';
import { SessionTracker } from './pcr/session-tracker.js';
import { identityHeaderNames } from './proxy/identity-headers.js';
import { sha256KeyHash } from './config/secrets.js';

export interface StartOptions {
  config: Config;
  clock?: Clock;
  logger?: Logger;
  /** A store built by the caller (tests share one between two proxies); otherwise built from config. */
  store?: Store;
  /** Extra observer of finished requests (metrics). */
  observer?: RequestObserver;
  /** Adds routes to the admin listener that need no admin token (metrics). */
  extendAdmin?: (app: Express) => void;
}

const PURGE_INTERVAL_MS = 30_000;
/** Longest any token we issue can live; revoked ids are remembered this long. */
const REVOCATION_MEMORY_MS = 7 * 24 * 3600_000;

export class Portcullis {
  #runtime: Runtime;
  readonly #server: Server;
  readonly #services: Services;
  readonly #demo: DemoBackend | null;
  readonly #admin: AdminServer;
  readonly #purgeTimer: NodeJS.Timeout;
  readonly #ownsStore: boolean;
  #closing: Promise<void> | null = null;

  private constructor(parts: {
    runtime: Runtime;
    server: Server;
    admin: AdminServer;
    services: Services;
    demo: DemoBackend | null;
    purgeTimer: NodeJS.Timeout;
    ownsStore: boolean;
  }) {
    this.#admin = parts.admin;
    this.#runtime = parts.runtime;
    this.#server = parts.server;
    this.#services = parts.services;
    this.#demo = parts.demo;
    this.#purgeTimer = parts.purgeTimer;
    this.#ownsStore = parts.ownsStore;
  }

  static async start(options: StartOptions): Promise<Portcullis> {
    const { config } = options;
    const clock = options.clock ?? systemClock;
    const logger = options.logger ?? createLogger();
    const store = options.store ?? (await storeFromConfig(config, clock));
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
    const forwarder: Forwarder = new HttpProxyForwarder({
      upstream: upstreamUrl,
      timeoutMs: config.parsed.upstream.timeout,
      connectTimeoutMs: config.parsed.upstream.connectTimeout,
      maxSockets: config.parsed.upstream.maxSockets,
    });
    const revocations = new RevocationView(REVOCATION_MEMORY_MS);
    revocations.attach(store, () => clock.now());
    const verifier = new SecretVerifier();
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
      observer: null as unknown as RequestObserver,
      forwarder,
      revocations,
      verifier,
    };
    services.observer = new RequestLogObserver(logger, () => current!, options.observer ?? null);
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
    const extensions = {
      ownEndpoints: (runtime: Omit<Runtime, 'ownEndpoints'>) => ownEndpoints(runtime, { ...services, readiness }),
      pcrFace: (runtime: Omit<Runtime, 'ownEndpoints' | 'pcr'>) => createPcrFace(runtime, { ...services, sessionTracker }),
    };
    current = buildRuntime(config, services, extensions);
    if (current.keys.development) {
      logger.warn(
        { kid: current.keys.active.kid },
        'NO SIGNING KEY CONFIGURED: using a throw-away key generated for this process. Tokens will not survive a restart and will not be accepted by other replicas. Configure tokens.signingKeys for production.',
      );
    }

    const server = createServer({ requireHostHeader: false }, createRequestHandler(services));
    server.on('upgrade', createUpgradeHandler(services));
    server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
      if (!socket.writable) {
      socket.destroy();
      return;
    }
      const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
      const text = status === 431 ? 'Request Header Fields Too Large' : status === 408 ? 'Request Timeout' : 'Bad Request';
      const body = JSON.stringify({ error: 'invalid_request', error_description: status === 408 ? 'request timed out' : 'malformed HTTP request' });
      socket.end(`HTTP/1.1 ${status} ${text}\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.parsed.listen.port, config.parsed.listen.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const admin = await startAdminServer(services, {
      host: config.parsed.admin.host,
      port: config.parsed.admin.port,
      ...(options.extendAdmin ? { extend: options.extendAdmin } : {}),
    });
    const purgeTimer = setInterval(() => {
      const now = clock.now();
      revocations.purge(now);
      const purgeable = store as Store & { purgeExpired?: (now: number) => void };
      purgeable.purgeExpired?.(now);
    }, PURGE_INTERVAL_MS);
    purgeTimer.unref();

    const instance = new Portcullis({ runtime: current, server, admin, services, demo, purgeTimer, ownsStore: options.store === undefined });
    services.current = () => instance.#runtime;
    logger.info({ url: instance.url, upstream: demo ? 'demo' : upstreamUrl.origin, store: store.kind }, 'listening');
    return instance;
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  get url(): string {
    const address = this.#server.address() as AddressInfo;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return `http://${host}:${address.port}`;
  }

  get runtime(): Runtime {
    return this.#runtime;
  }

  get services(): Services {
    return this.#services;
  }

  get adminUrl(): string {
    return this.#admin.url;
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
      const deadline = new Promise<void>((resolve) => setTimeout(resolve, deadlineMs).unref());
      await Promise.race([closed, deadline]);
      this.#server.closeAllConnections();
      await adminClosed;
      this.#services.revocations.detach();
      await this.#services.forwarder.close();
      await this.#demo?.close();
      if (this.#ownsStore) await this.#services.store.close();
    })();
    return this.#closing;
  }
}
