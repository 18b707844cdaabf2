// The forwarder a config asks for: undici by default, http-proxy when `upstream.engine` says so.

import type { Config } from '../config/load.js';
import type { Forwarder } from './forwarder.js';
import { HttpProxyForwarder } from './http-proxy-forwarder.js';
import { UndiciForwarder } from './undici-forwarder.js';

export function forwarderFor(config: Config, upstream: URL): Forwarder {
  const options = {
    upstream,
    timeoutMs: config.parsed.upstream.timeout,
    connectTimeoutMs: config.parsed.upstream.connectTimeout,
    maxSockets: config.parsed.upstream.maxSockets,
  };
  return config.parsed.upstream.engine === 'undici' ? new UndiciForwarder(options) : new HttpProxyForwarder(options);
}
