// Prometheus metrics of one proxy: requests, denials, latencies, token grants, caches, store, sessions, reloads.
// Each instance owns its registry (tests start several proxies in one process) and plugs in through
// PortcullisHooks only, so it can count what the proxy does but never change a decision. Every label value is
// checked against a known, bounded set; anything else is counted as "other", so a client cannot create series.
// The metrics themselves are defined in metric-families.ts; this file turns what the proxy does into them.

import type { Express, Request, Response } from 'express';
import { Registry, collectDefaultMetrics, type Counter, type Histogram } from 'prom-client';
import { reasonLabel } from '../errors/reasons.js';
import type { TokenEndpointOutcome } from '../faces/oauth/token-endpoint.js';
import type { RequestRecord } from '../pipeline/request-record.js';
import type { Runtime } from '../pipeline/runtime.js';
import type { ObservedProxy, PortcullisHooks } from './hooks.js';
import { ActiveSessionsCount } from './active-sessions.js';
import { clusterScraper } from './cluster-metrics.js';
import { registerMetricFamilies, type CacheTotals, type MetricFamilies } from './metric-families.js';
import { TokenCacheTotals } from './token-cache-totals.js';
import { STORE_OPERATIONS, instrumentStore, type StoreObserver, type StoreOperation } from '../store/instrumented.js';
import type { RevocationEvent, Store } from '../store/store.js';

export const OTHER = 'other';

const METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
const OUTCOMES: ReadonlySet<string> = new Set(['forwarded', 'denied', 'own', 'error', 'aborted']);
const GRANTS: ReadonlySet<string> = new Set(['password', 'refresh_token']);
const REVOCATION_KINDS: ReadonlySet<string> = new Set(['session', 'family', 'token']);

export interface MetricsOptions {
  /** How long the active-sessions count is reused before the store is asked again (ms). */
  sessionsRefreshMs?: number;
  /** Node.js process metrics (process_*, nodejs_*), on by default. */
  defaultMetrics?: boolean;
}

interface StoreOperationChildren {
  ops: Counter.Internal;
  errors: Counter.Internal;
  seconds: Histogram.Internal<'operation'>;
}

export function methodLabel(method: string): string {
  return METHODS.has(method) ? method : 'OTHER';
}

export class Metrics implements StoreObserver {
  readonly registry = new Registry();
  /** In a cluster worker: fetches every worker's metrics combined by the primary. */
  readonly #clusterScrape: (() => Promise<string>) | null;
  #proxy: ObservedProxy | null = null;
  #rawStore: Store | null = null;

  readonly #families: MetricFamilies;
  readonly #cacheTotals = new TokenCacheTotals();
  readonly #activeSessions: ActiveSessionsCount;

  /** Label children by their joined values, so the hot path does not build and check a label object per request. */
  readonly #requestChildren = new Map<string, Counter.Internal>();
  readonly #authChildren = new Map<string, Histogram.Internal<'route'>>();
  readonly #upstreamChildren = new Map<string, Histogram.Internal<'route'>>();
  readonly #storeChildren: Record<StoreOperation, StoreOperationChildren>;

  /** Config route ids of the runtime seen last; rebuilt when a reload swaps the runtime. */
  #routesOf: Runtime | null = null;
  #routeIds: ReadonlySet<string> = new Set();

  constructor(options: MetricsOptions = {}) {
    const sessionsRefreshMs = options.sessionsRefreshMs ?? 10_000;
    this.#activeSessions = new ActiveSessionsCount(sessionsRefreshMs);
    this.#families = registerMetricFamilies(this.registry, {
      cacheTotals: () => this.#foldCaches(),
      activeSessions: () => this.#activeSessions.current(this.#sessionCounter()),
      sessionsRefreshMs,
      // Issuer names come from the running config, outcomes from a fixed list: no client can add a series.
      keySetFetches: () => this.#proxy?.runtime.faces.flatMap((face) => face.keySetFetches?.() ?? []) ?? [],
    });
    const { storeOperations, storeErrors, storeSeconds, revocations } = this.#families;
    const children = {} as Record<StoreOperation, StoreOperationChildren>;
    for (const operation of STORE_OPERATIONS) {
      children[operation] = {
        ops: storeOperations.labels(operation),
        errors: storeErrors.labels(operation),
        seconds: storeSeconds.labels(operation),
      };
    }
    this.#storeChildren = children;
    // Zero series from the start, so rate() and alerts see the kinds before the first event.
    for (const kind of REVOCATION_KINDS) revocations.labels(kind).inc(0);
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
    this.#clusterScrape = clusterScraper(this.registry);
  }

  /** The hooks to pass to `Portcullis.start`; one Metrics instance serves one proxy. */
  hooks(): PortcullisHooks {
    const families = this.#families;
    return {
      request: { requestFinished: (record) => this.observeRequest(record) },
      ownEndpoint: (outcome) => {
        if (outcome.endpoint === 'oauth-token') {
          const { status, reason, user, clientId = null, grantType = null } = outcome;
          this.observeTokenRequest({ status, reason, grantType, clientId, username: user });
        } else if (outcome.endpoint === 'pcr-login' || outcome.endpoint === 'pcr-logout') {
          (outcome.endpoint === 'pcr-login' ? families.pcrLogins : families.pcrLogouts).labels(reasonLabel(outcome.reason)).inc();
        }
      },
      reload: (result) => {
        if (result.ok) {
          families.reloads.inc();
          // The new runtime may have new caches: count what the old ones saw last.
          this.#foldCaches();
        } else {
          families.reloadFailures.inc();
        }
      },
      tlsCertificate: ({ listener, outcome, notAfter }) => {
        // The start is no rotation: it creates the series at zero, so rate() and alerts see them from the first scrape.
        if (outcome === 'loaded') for (const result of ['applied', 'failed']) families.tlsReloads.labels(listener, result).inc(0);
        else families.tlsReloads.labels(listener, outcome).inc();
        families.tlsExpiry.labels(listener).set(Math.floor(notAfter / 1000));
      },
      extendAdmin: (app: Express) => {
        app.get('/metrics', async (_req: Request, res: Response) => {
          const body = this.#clusterScrape ? await this.#clusterScrape() : await this.registry.metrics();
          res.set('content-type', this.registry.contentType).set('cache-control', 'no-store').send(body);
        });
      },
      wrapStore: (store) => {
        this.#rawStore = store;
        return instrumentStore(store, this);
      },
      started: (proxy) => {
        this.#proxy = proxy;
        this.#foldCaches();
      },
    };
  }

  observeRequest(record: RequestRecord): void {
    const route = this.#routeLabel(record);
    const method = methodLabel(record.method);
    const outcome = OUTCOMES.has(record.outcome) ? record.outcome : OTHER;
    const key = `${route} ${method} ${outcome}`;
    let requests = this.#requestChildren.get(key);
    if (requests === undefined) {
      requests = this.#families.requests.labels(route, method, outcome);
      this.#requestChildren.set(key, requests);
    }
    requests.inc();
    if (outcome === 'denied') this.#families.denials.labels(reasonLabel(record.reason)).inc();
    else if (outcome === 'error' || outcome === 'aborted') this.#families.errors.labels(reasonLabel(record.reason)).inc();
    if (record.authSeconds !== null) histogramChild(this.#families.authSeconds, this.#authChildren, route).observe(record.authSeconds);
    if (record.upstreamSeconds !== null) histogramChild(this.#families.upstreamSeconds, this.#upstreamChildren, route).observe(record.upstreamSeconds);
  }

  observeTokenRequest(outcome: TokenEndpointOutcome): void {
    if (outcome.status === 200) {
      const grant = outcome.grantType !== null && GRANTS.has(outcome.grantType) ? outcome.grantType : OTHER;
      const clients = this.#proxy?.runtime.config.clients;
      const client = outcome.clientId !== null && clients?.has(outcome.clientId) ? outcome.clientId : 'unknown';
      this.#families.tokensIssued.labels(grant, client).inc();
    } else {
      this.#families.tokenFailures.labels(reasonLabel(outcome.reason)).inc();
    }
  }

  storeOperation(operation: StoreOperation, seconds: number, failed: boolean): void {
    const child = this.#storeChildren[operation];
    child.ops.inc();
    child.seconds.observe(seconds);
    if (failed) child.errors.inc();
  }

  revocationReceived(kind: RevocationEvent['kind']): void {
    this.#families.revocations.labels(REVOCATION_KINDS.has(kind) ? kind : OTHER).inc();
  }

  #routeLabel(record: RequestRecord): string {
    const id = record.routeId;
    if (id === null) return 'none';
    const runtime = this.#proxy?.runtime;
    if (runtime === undefined) return OTHER;
    // Own endpoints are matched before any route, so their ids never mix with a config route sharing the id.
    if (record.ownEndpoint) return `own:${id}`;
    if (this.#routesOf !== runtime) {
      this.#routesOf = runtime;
      this.#routeIds = new Set(runtime.config.parsed.routes.map((r) => r.id));
    }
    return this.#routeIds.has(id) ? id : OTHER;
  }

  #foldCaches(): CacheTotals {
    const runtime = this.#proxy?.runtime;
    if (runtime !== undefined) this.#cacheTotals.fold(runtime);
    return this.#cacheTotals.totals;
  }

  /** Counts live sessions in the raw store, which keeps scrapes out of the store-operation metrics. */
  #sessionCounter(): (() => Promise<number>) | null {
    const store = this.#rawStore;
    const proxy = this.#proxy;
    if (store === null || proxy === null) return null;
    return () => store.listSessions({}, proxy.services.clock.now()).then((sessions) => sessions.length);
  }
}

function histogramChild(histogram: Histogram<'route'>, children: Map<string, Histogram.Internal<'route'>>, route: string): Histogram.Internal<'route'> {
  let child = children.get(route);
  if (child === undefined) {
    child = histogram.labels(route);
    children.set(route, child);
  }
  return child;
}
