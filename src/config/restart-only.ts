// Settings a running process cannot change: a reload that changes them keeps the running values and says a
// restart is needed, and applies everything else.

import type { Config } from './load.js';

/** Settings a running process cannot change; a reload that changes them says a restart is needed. */
export function restartOnlyChanges(before: Config, after: Config): string[] {
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
  // The tracer and its exporter are built once, at start.
  if (JSON.stringify(a.tracing) !== JSON.stringify(b.tracing)) changed.push('tracing');
  if ((a.upstream.url === 'demo') !== (b.upstream.url === 'demo')) changed.push('upstream.url (demo)');
  // A listening socket speaks TLS or not from its start, and asks for client certificates as it started; the
  // certificate, key, CA, minVersion and ciphers change live.
  for (const [name, x, y] of [['listen.tls', a.listen.tls, b.listen.tls], ['admin.tls', a.admin.tls, b.admin.tls]] as const) {
    if ((x === undefined) !== (y === undefined)) changed.push(`${name} (on/off)`);
    else if (x !== undefined && y !== undefined && x.clientAuth !== y.clientAuth) changed.push(`${name}.clientAuth`);
  }
  if (JSON.stringify(a.listen.httpRedirect) !== JSON.stringify(b.listen.httpRedirect)) changed.push('listen.httpRedirect');
  return changed;
}

/** The new config with the restart-only settings of the running one, so a reload applies everything else. */
export function keepRestartOnly(running: Config, next: Config): Config {
  const parsed = {
    ...next.parsed,
    listen: {
      ...next.parsed.listen,
      host: running.parsed.listen.host,
      port: running.parsed.listen.port,
      maxHeaderSize: running.parsed.listen.maxHeaderSize,
      shutdownTimeout: running.parsed.listen.shutdownTimeout,
      tls: keptTls(running.parsed.listen.tls, next.parsed.listen.tls),
      httpRedirect: running.parsed.listen.httpRedirect,
    },
    log: running.parsed.log,
    admin: { ...next.parsed.admin, host: running.parsed.admin.host, port: running.parsed.admin.port, tls: keptTls(running.parsed.admin.tls, next.parsed.admin.tls) },
    store: running.parsed.store,
    workers: running.parsed.workers,
    tracing: running.parsed.tracing,
    upstream: (running.parsed.upstream.url === 'demo') !== (next.parsed.upstream.url === 'demo') ? running.parsed.upstream : next.parsed.upstream,
  };
  // The upstream's TLS files go with the upstream settings they belong to.
  const upstreamTls = parsed.upstream === running.parsed.upstream ? running.upstreamTls : next.upstreamTls;
  return { ...next, parsed, redisPassword: running.redisPassword, sentinelPassword: running.sentinelPassword, upstreamTls };
}

type ListenerTls = Config['parsed']['listen']['tls'];

/** The new TLS settings with the running on/off and clientAuth: the files and the rest still change live. */
function keptTls(running: ListenerTls, next: ListenerTls): ListenerTls {
  if (running === undefined || next === undefined) return running;
  return { ...next, clientAuth: running.clientAuth };
}
