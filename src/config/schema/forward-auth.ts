// The `forwardAuth` section: Portcullis beside nginx (`auth_request`), Traefik (ForwardAuth) or Envoy (HTTP
// `ext_authz`) instead of in line. Without the section there is no forward-auth endpoint at all.

import { z } from 'zod';

const SEGMENT = /^[A-Za-z0-9._~-]+$/;

/** A path in the form the normaliser leaves alone, so the endpoint has one spelling: `/auth/verify`, not `/auth/`. */
const endpointPath = z
  .string()
  .refine((path) => {
    if (!path.startsWith('/') || path.length < 2) return false;
    return path
      .slice(1)
      .split('/')
      .every((segment) => SEGMENT.test(segment) && segment !== '.' && segment !== '..');
  }, 'expected a path like "/auth/verify": segments of letters, digits, ".", "_", "~" or "-", no trailing slash');

export const forwardAuthSchema = z.strictObject({
  /**
   * Where the proxy in front asks. The path and everything under it belong to Portcullis and are never forwarded:
   * Envoy appends the original path to it (`/auth/verify/api/dashboard`).
   */
  path: endpointPath.default('/auth/verify'),
  /**
   * What happens when the upstream must see another path than the client sent (an API key in the path swapped or
   * removed). `refuse`: such requests are denied, because the proxy in front would forward the client's key.
   * `header`: they pass, and the proxy forwards the path in X-Portcullis-Forward-Path (nginx can; Traefik and
   * Envoy cannot rewrite a path from an authorization answer).
   */
  rewrittenPaths: z.enum(['refuse', 'header']).default('refuse'),
});

export type ForwardAuthConfig = z.output<typeof forwardAuthSchema>;
