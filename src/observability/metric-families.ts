// The Prometheus metrics a proxy exposes: their names, help texts, labels and buckets, registered in the order
// /metrics lists them. The few values known only when scraped (token-cache totals, live PCR-360 sessions) are
// read through ScrapeSources, so these definitions hold no proxy state of their own.

import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

const AUTH_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];
const UPSTREAM_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const STORE_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

export interface HitsAndMisses {
  hits: number;
  misses: number;
}

export interface CacheTotals {
  access: HitsAndMisses;
  session: HitsAndMisses;
}

/** What the scrape-time metrics read when /metrics is asked for. */
export interface ScrapeSources {
  /** The token caches' running totals, brought up to date first. */
  cacheTotals(): CacheTotals;
  /** Live PCR-360 sessions in the store, asked again at most every `sessionsRefreshMs`. */
  activeSessions(): Promise<number>;
  sessionsRefreshMs: number;
  /** Running totals of external issuers' key-set fetches, by configured issuer name and outcome. */
  keySetFetches(): readonly { issuer: string; outcome: string; count: number }[];
}

/** The metrics the proxy's observations update; the scrape-time ones need no handle. */
export interface MetricFamilies {
  requests: Counter<'route' | 'method' | 'outcome'>;
  denials: Counter<'reason'>;
  errors: Counter<'reason'>;
  authSeconds: Histogram<'route'>;
  upstreamSeconds: Histogram<'route'>;
  tokensIssued: Counter<'grant' | 'client'>;
  tokenFailures: Counter<'reason'>;
  pcrLogins: Counter<'reason'>;
  pcrLogouts: Counter<'reason'>;
  reloads: Counter;
  reloadFailures: Counter;
  revocations: Counter<'kind'>;
  storeOperations: Counter<'operation'>;
  storeErrors: Counter<'operation'>;
  storeSeconds: Histogram<'operation'>;
  tlsReloads: Counter<'listener' | 'outcome'>;
  tlsExpiry: Gauge<'listener'>;
}

export function registerMetricFamilies(registry: Registry, sources: ScrapeSources): MetricFamilies {
  const registers = [registry];
  const requests = new Counter({
    name: 'portcullis_requests_total',
    help: 'Requests on the public listener by route id (own:<endpoint> for the proxy\'s own endpoints, none when no route matched), method and outcome.',
    labelNames: ['route', 'method', 'outcome'],
    registers,
  });
  const denials = new Counter({ name: 'portcullis_denials_total', help: 'Requests refused, by reason id.', labelNames: ['reason'], registers });
  const errors = new Counter({
    name: 'portcullis_request_errors_total',
    help: 'Requests that failed (upstream unreachable, refused by TLS or too slow, store unavailable, internal error, client gone), by reason id.',
    labelNames: ['reason'],
    registers,
  });
  const authSeconds = new Histogram({
    name: 'portcullis_auth_duration_seconds',
    help: 'Time to decide whether a request may pass (authentication and authorization), by route id.',
    labelNames: ['route'],
    buckets: AUTH_BUCKETS,
    registers,
  });
  const upstreamSeconds = new Histogram({
    name: 'portcullis_upstream_duration_seconds',
    help: 'Time from forwarding a request to the upstream\'s response headers, by route id.',
    labelNames: ['route'],
    buckets: UPSTREAM_BUCKETS,
    registers,
  });
  const tokensIssued = new Counter({
    name: 'portcullis_tokens_issued_total',
    help: 'Access tokens issued by the token endpoint, by grant type and client id (unknown for ids not in the running config).',
    labelNames: ['grant', 'client'],
    registers,
  });
  const tokenFailures = new Counter({
    name: 'portcullis_token_request_failures_total',
    help: 'Token endpoint requests that issued no token, by reason id.',
    labelNames: ['reason'],
    registers,
  });
  const cacheCounter = (name: string, help: string, field: keyof HitsAndMisses) =>
    new Counter({
      name,
      help,
      labelNames: ['cache'],
      registers,
      collect(this: Counter<'cache'>) {
        const totals = sources.cacheTotals();
        // Counters only grow: reset to zero and add the running totals, which never decrease.
        this.reset();
        this.inc({ cache: 'access_token' }, totals.access[field]);
        this.inc({ cache: 'pcr_session_token' }, totals.session[field]);
      },
    });
  cacheCounter('portcullis_token_cache_hits_total', 'Verified-token cache lookups that found the token, by cache.', 'hits');
  cacheCounter('portcullis_token_cache_misses_total', 'Verified-token cache lookups that did not find the token (it was verified with crypto), by cache.', 'misses');
  new Counter({
    name: 'portcullis_jwks_fetches_total',
    help: "Fetches of an external issuer's JSON Web Key Set, by configured issuer name and outcome (ok, timeout, unreachable, http_status, too_large, invalid).",
    labelNames: ['issuer', 'outcome'],
    registers,
    collect(this: Counter<'issuer' | 'outcome'>) {
      // The totals only grow (they outlive reloads): reset and add them, as for the cache counters.
      this.reset();
      for (const { issuer, outcome, count } of sources.keySetFetches()) this.inc({ issuer, outcome }, count);
    },
  });
  new Gauge({
    name: 'portcullis_pcr_sessions_active',
    help: `Live PCR-360 API sessions in the store (refreshed at most every ${Math.round(sources.sessionsRefreshMs / 1000)} s).`,
    registers,
    // Every worker reads the same shared store: combining workers must not add their counts up.
    aggregator: 'max',
    async collect(this: Gauge) {
      this.set(await sources.activeSessions());
    },
  });
  const pcrLogins = new Counter({ name: 'portcullis_pcr_logins_total', help: 'PCR-360 header logins, by outcome reason.', labelNames: ['reason'], registers });
  const pcrLogouts = new Counter({ name: 'portcullis_pcr_logouts_total', help: 'PCR-360 logouts, by outcome reason.', labelNames: ['reason'], registers });
  // Each worker reloads the same file and hears the same revocation events: combined, they count once ('max').
  const reloads = new Counter({ name: 'portcullis_config_reloads_total', help: 'Config reloads applied.', registers, aggregator: 'max' });
  const reloadFailures = new Counter({
    name: 'portcullis_config_reload_failures_total',
    help: 'Config reloads refused because the new config did not validate (the running config stayed).',
    registers,
    aggregator: 'max',
  });
  const revocations = new Counter({
    name: 'portcullis_revocation_events_total',
    help: 'Revocation events received from the store (this and other processes), by kind.',
    labelNames: ['kind'],
    registers,
    aggregator: 'max',
  });
  const storeOperations = new Counter({ name: 'portcullis_store_operations_total', help: 'Store operations, by operation.', labelNames: ['operation'], registers });
  const storeErrors = new Counter({ name: 'portcullis_store_errors_total', help: 'Store operations that failed, by operation.', labelNames: ['operation'], registers });
  const storeSeconds = new Histogram({
    name: 'portcullis_store_operation_duration_seconds',
    help: 'Store operation latency, by operation.',
    labelNames: ['operation'],
    buckets: STORE_BUCKETS,
    registers,
  });
  // Every worker watches the same files and rotates with them: combined they count once, and the expiry shown is
  // the earliest any worker still serves.
  const tlsReloads = new Counter({
    name: 'portcullis_tls_certificate_reloads_total',
    help: 'TLS certificate rotations of a listener (public, admin), applied or failed (the previous certificate stayed).',
    labelNames: ['listener', 'outcome'],
    registers,
    aggregator: 'max',
  });
  const tlsExpiry = new Gauge({
    name: 'portcullis_tls_certificate_expiry_seconds',
    help: 'Expiry of the certificate a TLS listener serves (public, admin), as a Unix timestamp in seconds.',
    labelNames: ['listener'],
    registers,
    aggregator: 'min',
  });
  return {
    requests,
    denials,
    errors,
    authSeconds,
    upstreamSeconds,
    tokensIssued,
    tokenFailures,
    pcrLogins,
    pcrLogouts,
    reloads,
    reloadFailures,
    revocations,
    storeOperations,
    storeErrors,
    storeSeconds,
    tlsReloads,
    tlsExpiry,
  };
}
