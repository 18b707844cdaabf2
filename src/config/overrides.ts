// Command-line flags applied over the file before it is validated, so a quick start needs no YAML edit.

/** Command-line flags that override the file, for quick use without editing YAML. */
export interface ConfigOverrides {
  upstream?: string;
  port?: number;
  host?: string;
  adminPort?: number;
  /** `memory`, `sqlite:FILE` or a `redis://` / `rediss://` URL. */
  store?: string;
  /**
   * Used when the file configures no signing key: the primary of a multi-worker process generates one
   * development key and hands it to every worker in an environment variable, so all of them verify each other's
   * tokens, also after a reload.
   */
  fallbackSigningKey?: { kid: string; env: string };
}

export function applyOverrides(value: unknown, overrides: ConfigOverrides): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const config = { ...(value as Record<string, unknown>) };
  const section = (name: string): Record<string, unknown> => {
    const current = config[name];
    const copy = current !== null && typeof current === 'object' && !Array.isArray(current) ? { ...(current as object) } : {};
    config[name] = copy;
    return copy as Record<string, unknown>;
  };
  if (overrides.upstream !== undefined) section('upstream')['url'] = overrides.upstream;
  if (overrides.port !== undefined) section('listen')['port'] = overrides.port;
  if (overrides.host !== undefined) section('listen')['host'] = overrides.host;
  if (overrides.adminPort !== undefined) section('admin')['port'] = overrides.adminPort;
  if (overrides.store !== undefined) {
    config['store'] = storeOverride(overrides.store);
  }
  const tokens = config['tokens'];
  const isMapping = tokens === undefined || (tokens !== null && typeof tokens === 'object' && !Array.isArray(tokens));
  if (overrides.fallbackSigningKey !== undefined && isMapping) {
    const keys = (tokens as Record<string, unknown> | undefined)?.['signingKeys'];
    if (keys === undefined || (Array.isArray(keys) && keys.length === 0)) {
      const { kid, env } = overrides.fallbackSigningKey;
      section('tokens')['signingKeys'] = [{ kid, privateKey: { env }, active: true }];
    }
  }
  return config;
}

function storeOverride(store: string): Record<string, unknown> {
  if (store === 'memory') return { type: 'memory' };
  if (store.startsWith('sqlite:')) return { type: 'sqlite', path: store.slice('sqlite:'.length) };
  return { type: 'redis', url: store };
}
