// The `externalIssuers` section: identity providers whose JWTs the `external-jwt` authenticator accepts, each with
// the URL its keys are published at, what its tokens must say (audience, algorithms, required claims) and which
// claims become identity headers. Defaults and their meaning live here; the README's config reference lists them.

import { z } from 'zod';
import { duration } from './fields.js';

/**
 * Asymmetric JWS algorithms only: "none" has no signature, and an HS* algorithm would let anyone holding the
 * issuer's public key (which is published) mint tokens when a library mistakes it for an HMAC secret.
 */
export const EXTERNAL_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;
export type ExternalAlgorithm = (typeof EXTERNAL_ALGORITHMS)[number];

const claimName = z.string().min(1).max(200);
const claimValue = z.union([z.string(), z.number(), z.boolean()]);

const jwksLimits = z.strictObject({
  /** Longest wait for the whole key set (headers and body); a slower endpoint counts as down. */
  timeout: duration('2s').prefault('2s'),
  /** Shortest interval between two fetches of this issuer's keys, whatever the tokens' `kid`s or failures ask for. */
  cooldown: duration('30s').prefault('30s'),
  /** Age after which the key set is fetched again in the background; the old set serves until the new one is in. */
  maxAge: duration('10m').prefault('10m'),
  /** Keys beyond this many in the document are ignored. */
  maxKeys: z.number().int().min(1).max(1000).default(20),
  /** A larger document is refused while it is read, before it is parsed. */
  maxBytes: z.number().int().min(1024).max(1_048_576).default(65_536),
});

/** Which claims become which identity headers; `user` is required of every token, the others only when named. */
const claimMapping = z.strictObject({
  user: claimName.default('sub'),
  /** The client the token was issued to, as the client-id header (often `azp` or `client_id`). */
  clientId: claimName.optional(),
  teams: claimName.optional(),
  organizations: claimName.optional(),
  /** A space-separated string or an array of strings. */
  scope: claimName.optional(),
});

export const externalIssuerSchema = z
  .strictObject({
    /** How the issuer is named in identity headers, logs and metric labels. */
    name: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'expected a lower-case name of up to 64 letters, digits, "-" or "_"'),
    /** Compared with the token's `iss` exactly, character for character. */
    issuer: z.url({ error: 'expected the issuer URL exactly as its tokens carry it in "iss"' }),
    jwksUrl: z.url({ protocol: /^https?$/, error: 'expected the http(s) URL of the issuer\'s JSON Web Key Set' }),
    algorithms: z
      .array(z.enum(EXTERNAL_ALGORITHMS, { error: `expected one of ${EXTERNAL_ALGORITHMS.join(', ')} ("none" and HS* are never accepted)` }))
      .min(1)
      .default(['RS256']),
    /** The token's `aud` must contain at least one of these. */
    audiences: z.array(z.string().min(1)).min(1, 'name at least one audience: a token for any other service must not pass'),
    /** Claims the token must carry: `true` (present), a value, or a list of accepted values; an array claim matches when it holds one. */
    requiredClaims: z.record(claimName, z.union([z.literal(true), claimValue, z.array(claimValue).min(1)])).default({}),
    /** When set, the scope claim must hold it (403 insufficient_scope otherwise); needs `claims.scope`. */
    requiredScope: z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/, 'expected one scope token').optional(),
    /** Clock skew tolerated on `exp`, `nbf` and `iat`. */
    leeway: duration('30s').prefault('30s'),
    claims: claimMapping.prefault({}),
    jwks: jwksLimits.prefault({}),
    /** Verified tokens of this issuer remembered per process. */
    cacheSize: z.number().int().min(1).default(10_000),
  })
  .superRefine((issuer, ctx) => {
    if (issuer.requiredScope !== undefined && issuer.claims.scope === undefined) {
      ctx.addIssue({ code: 'custom', path: ['requiredScope'], message: 'name the claim that holds the scope in claims.scope' });
    }
  });

export const externalIssuersSchema = z
  .array(externalIssuerSchema)
  .default([])
  .superRefine((issuers, ctx) => {
    const names = new Set<string>();
    const urls = new Set<string>();
    issuers.forEach((issuer, i) => {
      if (names.has(issuer.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: 'issuer names must be unique' });
      if (urls.has(issuer.issuer)) ctx.addIssue({ code: 'custom', path: [i, 'issuer'], message: 'two entries name the same issuer' });
      names.add(issuer.name);
      urls.add(issuer.issuer);
    });
  });

export type ExternalIssuerConfig = z.output<typeof externalIssuerSchema>;

/** Checks against the rest of the file: our own issuer is never external, and a route's authenticator has issuers. */
export function checkExternalIssuers(
  config: { tokens: { issuer: string }; externalIssuers: readonly ExternalIssuerConfig[]; routes: readonly { authenticators?: readonly string[] | undefined }[] },
  add: (path: (string | number)[], message: string) => void,
): void {
  config.externalIssuers.forEach((issuer, i) => {
    if (issuer.issuer === config.tokens.issuer) {
      add(['externalIssuers', i, 'issuer'], 'this is the proxy\'s own issuer (tokens.issuer): its tokens are verified by the bearer authenticator, never as external ones');
    }
  });
  const used = config.routes.some((route) => route.authenticators?.includes('external-jwt'));
  if (used && config.externalIssuers.length === 0) add(['routes'], 'a route uses the "external-jwt" authenticator but "externalIssuers" is empty');
}
