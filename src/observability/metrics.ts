// Prometheus metrics of one proxy: requests, denials, latencies, token grants, caches, store, sessions, reloads.
// Each instance owns its registry (tests start several proxies in one process) and plugs in through
// PortcullisHooks only, so it can count what the proxy does but never change a decision. Every label value is
// checked against a known, bounded set; anything else is counted as "other", so a client cannot create series.

import { performance } from 'node:perf_hooks';
import type { Express, Request, Response } from 'express';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { REASONS } from '../errors/reasons.js';
import type { TokenEndpointOutcome } from '../faces/oauth/token-endpoint.js';
import type { RequestRecord } from '../pipeline/request-record.js';
import type { Runtime } from '../pipeline/runtime.js';
import type { Portcullis, PortcullisHooks } from '../portcullis.js';
import { clusterScraper } from './cluster-metrics.js';
import { STORE_OPERATIONS, instrumentStore, type StoreObserver, type StoreOperation } from '../store/instrumented.js';
import type { RevocationEvent, Store } from '../store/store.js';

export const OTHER = 'other';

const METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
const OUTCOMES: ReadonlySet<string> = new Set(['forwarded', 'denied', 'own', 'error', 'aborted']);
const GRANTS: ReadonlySet<string> = new Set(['password', 'refresh_token']);
const REVOCATION_KINDS: ReadonlySet<string> = new Set(['session', 'family', 'token']);

/**
 * Reason ids beyond the denial table: those of the token endpoint (finer than the OAuth error codes), of login and
 * logout, and of forwarding. Kept here rather than derived, so a new reason shows up as "other" until it is added.
 */
const EXTRA_REASONS = [
  // token endpoint
  'token_issued',
  'invalid_request',
  'invalid_client',
  'invalid_grant',
  'unauthorized_client',
  'unsupported_grant_type',
  'invalid_scope',
  'server_error',
  'temporarily_unavailable',
  'too_many_requests',
  'content_type_invalid',
  'body_unreadable',
  'grant_type_unsupported',
  'grant_not_allowed',
  'scope_invalid',
  'operator_api_access_off',
  'refresh_token_unknown',
  'refresh_token_client_mismatch',
  'refresh_token_reused',
  'refresh_token_expired',
  'refresh_token_revoked',
  'client_authentication_failed',
  'client_auth_scheme_unsupported',
  'client_auth_malformed',
  'client_credentials_missing',
  'client_secret_missing',
  'client_secret_invalid',
  'client_unknown',
  // PCR login / logout
  'session_created',
  'session_ended_by_logout',
  // forwarding
  'client_aborted',
];
const REASON_IDS: ReadonlySet<string> = new Set([...Object.keys(REASONS), ...EXTRA_REASONS]);

const AUTH_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];
const UPSTREAM_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const STORE_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

export interface MetricsOptions {
  /** How long the active-sessions count is reused before the store is asked again (ms). */
  sessionsRefreshMs?: number;
  /** Node.js process metrics (process_*, nodejs_*), on by default. */
  defaultMetrics?: boolean;
}

/** A verified-token cache's counters, as read on the last fold; the object is kept to read its final counts. */
interface CacheView {
  cache: { hits: number; misses: number } | null;
  hits: number;
  misses: number;
}

export function reasonLabel(reason: string | null): string {
  return reason !== null && REASON_IDS.has(reason) ? reason : OTHER;
}

export function methodLabel(method: string): string {
  return METHODS.has(method) ? method : 'OTHER';
}

export class Metrics implements StoreObserver {
  readonly registry = new Registry();
  readonly #sessionsRefreshMs: number;
  /** In a cluster worker: fetches every worker's metrics combined by the primary. */
  readonly #clusterScrape: (() => Promise<string>) | null;
  #proxy: Portcullis | null = null;
  #rawStore: Store | null = null;

  readonly #requests: Counter<'route' | 'method' | 'outcome'>;
  readonly #denials: Counter<'reason'>;
  readonly #errors: Counter<'reason'>;
  readonly #authSeconds: Histogram<'route'>;
  readonly #upstreamSeconds: Histogram<'route'>;
  readonly #tokensIssued: Counter<'grant' | 'client'>;
  readonly #tokenFailures: Counter<'reason'>;
  readonly #pcrLogins: Counter<'reason'>;
  readonly #pcrLogouts: Counter<'reason'>;
  readonly #reloads: Counter;
  readonly #reloadFailures: Counter;
  readonly #revocations: Counter<'kind'>;
  readonly #storeOperations: Counter<'operation'>;
  readonly #storeErrors: Counter<'operation'>;
  readonly #storeSeconds: Histogram<'operation'>;

  /** Label children by their joined values, so the hot path does not build and check a label object per request. */
  readonly #requestChildren = new Map<string, Counter.Internal>();
  readonly #authChildren = new Map<string, Histogram.Internal<'route'>>();
  readonly #upstreamChildren = new Map<string, Histogram.Internal<'route'>>();
  readonly #storeChildren: Record<StoreOperation, { ops: Counter.Internal; errors: Counter.Internal; seconds: Histogram.Internal<'operation'> }>;

  /** Config route ids of the runtime seen last; rebuilt when a reload swaps the runtime. */
  #routesOf: Runtime | null = null;
  #routeIds: ReadonlySet<string> = new Set();

  readonly #accessCache: CacheView = { cache: null, hits: 0, misses: 0 };
  readonly #sessionCache: CacheView = { cache: null, hits: 0, misses: 0 };
  /** Totals of hits and misses over every cache object the proxy has had, since reloads replace the caches. */
  readonly #cacheTotals = { access: { hits: 0, misses: 0 }, session: { hits: 0, misses: 0 } };

  #activeSessions = 0;
  #activeSessionsAt = Number.NEGATIVE_INFINITY;
  #activeSessionsPending: Promise<void> | null = null;

  constructor(options: MetricsOptions = {}) {
    this.#sessionsRefreshMs = options.sessionsRefreshMs ?? 10_000;
    const registers = [this.registry];
    this.#requests = new Counter({
      name: 'portcullis_requests_total',
      help: 'Requests on the public listener by route id (own:<endpoint> for the proxy\'s own endpoints, none when no route matched), method and outcome.',
      labelNames: ['route', 'method', 'outcome'],
      registers,
    });
    this.#denials = new Counter({ name: 'portcullis_denials_total', help: 'Requests refused, by reason id.', labelNames: ['reason'], registers });
    this.#errors = new Counter({
      name: 'portcullis_request_errors_total',
      help: 'Requests that failed (upstream unreachable or too slow, store unavailable, internal error, client gone), by reason id.',
      labelNames: ['reason'],
      registers,
    });
    this.#authSeconds = new Histogram({
      name: 'portcullis_auth_duration_seconds',
      help: 'Time to decide whether a request may pass (authentication and authorization), by route id.',
      labelNames: ['route'],
      buckets: AUTH_BUCKETS,
      registers,
    });
    this.#upstreamSeconds = new Histogram({
      name: 'portcullis_upstream_duration_seconds',
      help: 'Time from forwarding a request to the upstream\'s response headers, by route id.',
      labelNames: ['route'],
      buckets: UPSTREAM_BUCKETS,
      registers,
    });
    this.#tokensIssued = new Counter({
      name: 'portcullis_tokens_issued_total',
      help: 'Access tokens issued by the token endpoint, by grant type and client id (unknown for ids not in the running config).',
      labelNames: ['grant', 'client'],
      registers,
    });
    this.#tokenFailures = new Counter({
      name: 'portcullis_token_request_failures_total',
      help: 'Token endpoint requests that issued no token, by reason id.',
      labelNames: ['reason'],
      registers,
    });
    const metrics = this;
    const cacheCounter = (name: string, help: string, field: 'hits' | 'misses') =>
      new Counter({
        name,
        help,
        labelNames: ['cache'],
        registers,
        collect(this: Counter<'cache'>) {
          metrics.#foldCaches();
          // Counters only grow: reset to zero and add the running totals, which never decrease.
          this.reset();
          this.inc({ cache: 'access_token' }, metrics.#cacheTotals.access[field]);
          this.inc({ cache: 'pcr_session_token' }, metrics.#cacheTotals.session[field]);
        },
      });
    cacheCounter('portcullis_token_cache_hits_total', 'Verified-token cache lookups that found the token, by cache.', 'hits');
    cacheCounter('portcullis_token_cache_misses_total', 'Verified-token cache lookups that did not find the token (it was verified with crypto), by cache.', 'misses');
    new Gauge({
      name: 'portcullis_pcr_sessions_active',
      help: `Live PCR-360 API sessions in the store (refreshed at most every ${Math.round(this.#sessionsRefreshMs / 1000)} s).`,
      registers,
      // Every worker reads the same shared store: combining workers must not add their counts up.
      aggregator: 'max',
      async collect(this: Gauge) {
        await metrics.#refreshActiveSessions();
        this.set(metrics.#activeSessions);
      },
    });
    this.#pcrLogins = new Counter({ name: 'portcullis_pcr_logins_total', help: 'PCR-360 header logins, by outcome reason.', labelNames: ['reason'], registers });
    this.#pcrLogouts = new Counter({ name: 'portcullis_pcr_logouts_total', help: 'PCR-360 logouts, by outcome reason.', labelNames: ['reason'], registers });
    // Each worker reloads the same file and hears the same revocation events: combined, they count once ('max').
    this.#reloads = new Counter({ name: 'portcullis_config_reloads_total', help: 'Config reloads applied.', registers, aggregator: 'max' });
    this.#reloadFailures = new Counter({
      name: 'portcullis_config_reload_failures_total',
      help: 'Config reloads refused because the new config did not validate (the running config stayed).',
      registers,
      aggregator: 'max',
    });
    this.#revocations = new Counter({
      name: 'portcullis_revocation_events_total',
      help: 'Revocation events received from the store (this and other processes), by kind.',
      labelNames: ['kind'],
      registers,
      aggregator: 'max',
    });
    this.#storeOperations = new Counter({ name: 'portcullis_store_operations_total', help: 'Store operations, by operation.', labelNames: ['operation'], registers });
    this.#storeErrors = new Counter({ name: 'portcullis_store_errors_total', help: 'Store operations that failed, by operation.', labelNames: ['operation'], registers });
    this.#storeSeconds = new Histogram({
      name: 'portcullis_store_operation_duration_seconds',
      help: 'Store operation latency, by operation.',
      labelNames: ['operation'],
      buckets: STORE_BUCKETS,
      registers,
    });
    const children = {} as Record<StoreOperation, { ops: Counter.Internal; errors: Counter.Internal; seconds: Histogram.Internal<'operation'> }>;
    for (const operation of STORE_OPERATIONS) {
      children[operation] = {
        ops: this.#storeOperations.labels(operation),
        errors: this.#storeErrors.labels(operation),
        seconds: this.#storeSeconds.labels(operation),
      };
    }
    this.#storeChildren = children;
    // Zero series from the start, so rate() and alerts see the kinds before the first event.
    for (const kind of REVOCATION_KINDS) this.#revocations.labels(kind).inc(0);
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
    this.#clusterScrape = clusterScraper(this.registry);
  }

  /** The hooks to pass to `Portcullis.start`; one Metrics instance serves one proxy. */
  hooks(): PortcullisHooks {
    return {
      request: { requestFinished: (record) => this.observeRequest(record) },
      tokenRequest: (outcome) => this.observeTokenRequest(outcome),
      login: (outcome) => {
        (outcome.kind === 'login' ? this.#pcrLogins : this.#pcrLogouts).labels(reasonLabel(outcome.reason)).inc();
      },
      reload: (result) => {
        if (result.ok) {
          this.#reloads.inc();
          // The new runtime may have new caches: count what the old ones saw last.
          this.#foldCaches();
        } else {
          this.#reloadFailures.inc();
        }
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
      requests = this.#requests.labels(route, method, outcome);
      this.#requestChildren.set(key, requests);
    }
    requests.inc();
    if (outcome === 'denied') this.#denials.labels(reasonLabel(record.reason)).inc();
    else if (outcome === 'error' || outcome === 'aborted') this.#errors.labels(reasonLabel(record.reason)).inc();
    if (record.authSeconds !== null) histogramChild(this.#authSeconds, this.#authChildren, route).observe(record.authSeconds);
    if (record.upstreamSeconds !== null) histogramChild(this.#upstreamSeconds, this.#upstreamChildren, route).observe(record.upstreamSeconds);
  }

  observeTokenRequest(outcome: TokenEndpointOutcome): void {
    if (outcome.status === 200) {
      const grant = outcome.grantType !== null && GRANTS.has(outcome.grantType) ? outcome.grantType : OTHER;
      const clients = this.#proxy?.runtime.config.clients;
      const client = outcome.clientId !== null && clients?.has(outcome.clientId) ? outcome.clientId : 'unknown';
      this.#tokensIssued.labels(grant, client).inc();
    } else {
      this.#tokenFailures.labels(reasonLabel(outcome.reason)).inc();
    }
  }

  storeOperation(operation: StoreOperation, seconds: number, failed: boolean): void {
    const child = this.#storeChildren[operation];
    child.ops.inc();
    child.seconds.observe(seconds);
    if (failed) child.errors.inc();
  }

  revocationReceived(kind: RevocationEvent['kind']): void {
    this.#revocations.labels(REVOCATION_KINDS.has(kind) ? kind : OTHER).inc();
  }

  #routeLabel(record: RequestRecord): string {
    const id = record.routeId;
    if (id === null) return 'none';
    const runtime = this.#proxy?.runtime;
    if (runtime === undefined) return OTHER;
    // Own endpoints are matched on their exact path before any route, so the path tells them apart from a
    // config route that happens to share the id.
    if (record.path !== null) {
      if (runtime.ownEndpoints.get(record.path)?.id === id) return `own:${id}`;
      if ((id === 'pcr-login' || id === 'pcr-logout') && runtime.pcr?.ownEndpoint(record.path)?.id === id) return `own:${id}`;
    }
    if (this.#routesOf !== runtime) {
      this.#routesOf = runtime;
      this.#routeIds = new Set(runtime.config.parsed.routes.map((r) => r.id));
    }
    return this.#routeIds.has(id) ? id : OTHER;
  }

  /** Adds what the current caches counted since the last fold; a replaced cache's last counts are added first. */
  #foldCaches(): void {
    const runtime = this.#proxy?.runtime;
    if (runtime === undefined) return;
    fold(this.#accessCache, runtime.accessTokens.cache, this.#cacheTotals.access);
    fold(this.#sessionCache, runtime.pcr?.context.sessionTokens.cache ?? null, this.#cacheTotals.session);
  }

  #refreshActiveSessions(): Promise<void> {
    if (performance.now() - this.#activeSessionsAt < this.#sessionsRefreshMs) return Promise.resolve();
    const store = this.#rawStore;
    const proxy = this.#proxy;
    if (store === null || proxy === null) return Promise.resolve();
    // Concurrent scrapes share one store query; the raw store keeps scrapes out of the store-operation metrics.
    this.#activeSessionsPending ??= store
      .listSessions({}, proxy.services.clock.now())
      .then(
        (sessions) => {
          this.#activeSessions = sessions.length;
          this.#activeSessionsAt = performance.now();
        },
        () => {
          // The last known value stays; store failures show in the store metrics and /readyz.
        },
      )
      .finally(() => {
        this.#activeSessionsPending = null;
      });
    return this.#activeSessionsPending;
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

function fold(view: CacheView, current: { hits: number; misses: number } | null, totals: { hits: number; misses: number }): void {
  if (view.cache !== null && view.cache !== current) {
    totals.hits += view.cache.hits - view.hits;
    totals.misses += view.cache.misses - view.misses;
    view.cache = null;
  }
  if (current === null) return;
  if (view.cache === null) {
    view.cache = current;
    view.hits = 0;
    view.misses = 0;
  }
  totals.hits += current.hits - view.hits;
  totals.misses += current.misses - view.misses;
  view.hits = current.hits;
  view.misses = current.misses;
}
