// Matches a normalised path against the configured routes, first match wins. Patterns are literal segments,
// `*` for exactly one segment and a final `**` for any rest (including none). Matching is case-sensitive and runs
// on the normalised path only, which is also the path that is forwarded.

import type { RouteConfig } from '../config/schema.js';

export interface CompiledRoute {
  id: string;
  pattern: string;
  methods: ReadonlySet<string>;
  /** The value of the Allow header for 405 answers. */
  allow: string;
  public: boolean;
  authenticators: readonly string[];
  matches(path: string): boolean;
}

function compilePattern(pattern: string): (path: string) => boolean {
  if (!pattern.includes('*')) return (path) => path === pattern;
  if (pattern.endsWith('/**') && !pattern.slice(0, -3).includes('*')) {
    // The common case ("/api/**"): a prefix test, no regular expression on the hot path.
    const base = pattern.slice(0, -3);
    const prefix = `${base}/`;
    return (path) => path === base || path.startsWith(prefix);
  }
  const source = pattern
    .split('/')
    .map((segment) => {
      if (segment === '**') return '(?:/.*)?';
      if (segment === '*') return '/[^/]+';
      return segment === '' ? '' : `/${segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`;
    })
    .join('');
  const trailing = pattern.endsWith('/') ? '/' : '';
  const regex = new RegExp(`^${source}${trailing}$`);
  return (path) => regex.test(path);
}

export function compileRoutes(routes: readonly RouteConfig[]): CompiledRoute[] {
  return routes.map((route) => {
    const methods = new Set<string>(route.methods);
    // HEAD is a GET without a body, so a route that allows GET answers HEAD too.
    if (methods.has('GET')) methods.add('HEAD');
    return {
      id: route.id,
      pattern: route.path,
      methods,
      allow: [...methods].join(', '),
      public: route.public,
      authenticators: route.authenticators ?? [],
      matches: compilePattern(route.path),
    };
  });
}

export function matchRoute<Route extends CompiledRoute>(routes: readonly Route[], path: string): Route | undefined {
  for (const route of routes) if (route.matches(path)) return route;
  return undefined;
}
