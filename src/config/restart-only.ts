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
    },
    log: running.parsed.log,
    admin: { ...next.parsed.admin, host: running.parsed.admin.host, port: running.parsed.admin.port },
    store: running.parsed.store,
    workers: running.parsed.workers,
    tracing: running.parsed.tracing,
    upstream: (running.parsed.upstream.url === 'demo') !== (next.parsed.upstream.url === 'demo') ? running.parsed.upstream : next.parsed.upstream,
  };
  return { ...next, parsed, redisPassword: running.redisPassword, sentinelPassword: running.sentinelPassword };
}
