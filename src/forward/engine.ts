// The forwarder a config asks for: undici by default, http-proxy when `upstream.engine` says so, both reaching an
// https:// upstream with the TLS settings of `upstream.tls`.

import type { Config } from '../config/load.js';
import type { Logger } from '../log/logger.js';
import type { Forwarder } from './forwarder.js';
import { HttpProxyForwarder } from './http-proxy-forwarder.js';
import { UndiciForwarder } from './undici-forwarder.js';
import { upstreamTlsFor } from './upstream-tls.js';

/** Built at start and on every reload that changes the upstream settings or the contents of their TLS files. */
export function forwarderFor(config: Config, upstream: URL, logger: Logger | null = null): Forwarder {
  const tls = upstreamTlsFor(config, upstream, logger);
  if (tls !== null && tls.connect.rejectUnauthorized === false) {
    logger?.warn(
      { upstream: upstream.origin },
      'UPSTREAM CERTIFICATE VERIFICATION IS OFF (upstream.tls.rejectUnauthorized: false): any server that answers on this address can read every forwarded request and its identity headers. Use upstream.tls.caFile instead.',
    );
  }
  const options = {
    upstream,
    timeoutMs: config.parsed.upstream.timeout,
    connectTimeoutMs: config.parsed.upstream.connectTimeout,
    maxSockets: config.parsed.upstream.maxSockets,
    tls,
  };
  return config.parsed.upstream.engine === 'undici' ? new UndiciForwarder(options) : new HttpProxyForwarder(options);
}
