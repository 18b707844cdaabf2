// Which request targets the forward-auth endpoint answers: its path exactly, its path with a query, and anything
// under it (Envoy's HTTP ext_authz appends the original path to a configured prefix). Like the other own
// endpoints it is matched before any route, so nothing addressed to it is ever forwarded upstream.

import type { ForwardAuthConfig } from '../config/schema/forward-auth.js';

export interface ForwardAuthEndpoint {
  readonly path: string;
  readonly rewrittenPaths: ForwardAuthConfig['rewrittenPaths'];
  /** Whether the endpoint answers this target (a raw one as the client spelled it, or a normalised path). */
  serves(target: string): boolean;
  /**
   * The original target a prefix call carries (`/auth/verify/api/x?y` → `/api/x?y`), or null when the target is
   * the endpoint itself and the original request is named in headers.
   */
  appendedTarget(target: string): string | null;
}

const SLASH = 0x2f;
const QUESTION_MARK = 0x3f;

export function forwardAuthEndpoint(config: ForwardAuthConfig | undefined): ForwardAuthEndpoint | null {
  if (config === undefined) return null;
  const { path, rewrittenPaths } = config;
  const length = path.length;
  return {
    path,
    rewrittenPaths,
    serves(target) {
      if (!target.startsWith(path)) return false;
      const next = target.charCodeAt(length);
      // NaN past the end: the path itself.
      return Number.isNaN(next) || next === SLASH || next === QUESTION_MARK;
    },
    appendedTarget(target) {
      return target.charCodeAt(length) === SLASH ? target.slice(length) : null;
    },
  };
}
