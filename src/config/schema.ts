// The config file's shape, its defaults and their meaning: this file composes the sections, the larger ones
// (`pcr`, `store`) and the shared field types live under schema/. Every key is documented in the README's config
// reference; the loader validates a file against this schema and reports every problem at once.

import { z } from 'zod';
import { attribute, duration, headerName, isAddressOrCidr, secretSource } from './schema/fields.js';
import { pcrSchema } from './schema/pcr.js';
import { storeSchema } from './schema/store.js';
import { forwardAuthSchema } from './schema/forward-auth.js';
import { externalIssuersSchema } from './schema/external-issuers.js';
import { tracingSchema } from './schema/tracing.js';
import { httpRedirectSchema, listenerTlsSchema, upstreamTlsSchema } from './schema/tls.js';
import { certificateIdentitiesSchema, refineCertificateIdentities } from './schema/admin-certificates.js';

export { secretSource, storeSchema };
export type { SecretSourceInput } from './schema/fields.js';
const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

const routePath = z
  .string()
  .regex(
    /^\/(([A-Za-z0-9._~!$&'()*+,=:@-]+|\*|\*\*)(\/([A-Za-z0-9._~!$&'()*+,=:@-]+|\*|\*\*))*\/?)?$/,
    'expected a path pattern like "/api/**" or "/api/*/status"',
  )
  .refine((p) => !p.split('/').slice(0, -1).includes('**'), '"**" may only be the last segment');

/**
 * A route, with the authenticator ids it may name. The ids come from the face registry, which the config layer
 * does not import: the loader is handed them (see `src/config-loader.ts`), so a new face needs no edit here.
 */
const routeFor = (authenticator: z.ZodType<string>) =>
  z
  .strictObject({
    id: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'expected a lower-case id (letters, digits, "-", "_")'),
    path: routePath,
    methods: z.array(z.enum(HTTP_METHODS)).min(1).default([...HTTP_METHODS]),
    public: z.boolean().default(false),
    authenticators: z.array(authenticator).min(1).optional(),
  })
  .superRefine((r, ctx) => {
    if (r.public && r.authenticators) {
      ctx.addIssue({ code: 'custom', path: ['authenticators'], message: 'a public route takes no authenticators' });
    }
    if (!r.public && !r.authenticators) {
      ctx.addIssue({ code: 'custom', path: ['authenticators'], message: 'required unless the route is public' });
    }
  });

const signingKey = z.strictObject({
  kid: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'expected 1 to 64 letters, digits, ".", "_" or "-"'),
  /** PEM (PKCS#8) or a private JWK in JSON, from env or file; never written in the config itself. */
  privateKey: z.union([z.strictObject({ env: z.string() }), z.strictObject({ file: z.string() })], {
    error: 'expected { env: NAME } or { file: PATH } holding a PEM or JWK private key',
  }),
  active: z.boolean().default(false),
});

const login = z.string().min(1).max(200).regex(/^[\x21-\x7e]+$/, 'expected printable ASCII without spaces');

/**
 * Who a client is forwarded upstream as when it acts on its own behalf (grant_type=client_credentials, Cockpit's
 * "Password" authorization switched off): an operator's attributes without an operator or a password.
 */
export const serviceIdentitySchema = z.strictObject({
  name: login,
  teams: z.array(attribute).default([]),
  organizations: z.array(attribute).default([]),
  features: z.array(attribute).default([]),
});

export const OAUTH_GRANTS = ['password', 'refresh_token', 'client_credentials'] as const;

export const SERVICE_IDENTITY_REQUIRED = 'required when grants include client_credentials: the identity the client is forwarded as';

export const oauthClientSchema = z
  .strictObject({
    id: z.string().min(1).max(200),
    description: z.string().default(''),
    secret: secretSource,
    accessTokenTtl: duration('1h'),
    /** 8h when absent, as the admin API's default: a client without the refresh_token grant need not name one. */
    refreshTokenTtl: duration('8h').prefault('8h'),
    grants: z
      .array(z.enum(OAUTH_GRANTS))
      .min(1)
      .refine((g) => new Set(g).size === g.length, 'grants must not repeat'),
    /** Kept while client_credentials is switched off, so switching it on again restores the same identity. */
    serviceIdentity: serviceIdentitySchema.optional(),
    /** Whether this client may call POST /oauth/introspect (RFC 7662) about tokens. */
    introspect: z.boolean().default(false),
  })
  .superRefine((client, ctx) => {
    if (client.grants.includes('client_credentials') && client.serviceIdentity === undefined) {
      ctx.addIssue({ code: 'custom', path: ['serviceIdentity'], message: SERVICE_IDENTITY_REQUIRED });
    }
  });

export const operatorSchema = z.strictObject({
  login,
  password: secretSource,
  apiAccess: z.boolean(),
  teams: z.array(attribute).default([]),
  organizations: z.array(attribute).default([]),
  features: z.array(attribute).default([]),
});

/** The name `admin.token` goes by among the named tokens. */
export const LEGACY_ADMIN_TOKEN_NAME = 'admin';

/**
 * One admin API bearer token. `read` may only GET and HEAD; `manage` may also revoke and delete. The role has no
 * default, so no entry gets more power than its author wrote down.
 */
const adminToken = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'expected 1 to 64 letters, digits, ".", "_" or "-"'),
  token: secretSource,
  role: z.enum(['read', 'manage'], { error: 'expected "read" or "manage"' }),
});

export const configSchema = z.strictObject({
  listen: z
    .strictObject({
      host: z.string().default('127.0.0.1'),
      port: z.number().int().min(0).max(65535).default(8080),
      /**
       * Peers (addresses or CIDR ranges) whose X-Forwarded-For / -Proto / -Host are believed: a load balancer in
       * front of the proxy. From anyone else those headers are replaced, and the socket address is the client.
       */
      trustedProxies: z.array(z.string().refine(isAddressOrCidr, 'expected an IP address or CIDR range like "10.0.0.0/8"')).default([]),
      /** Time allowed for a client to send the request headers (slow-header attacks are cut here). */
      headersTimeout: duration('10s').prefault('10s'),
      /** Time allowed for a client to send the whole request. */
      requestTimeout: duration('60s').prefault('60s'),
      /** Idle keep-alive connections are kept this long: longer than a load balancer's idle timeout (often 60s). */
      keepAliveTimeout: duration('75s').prefault('75s'),
      /** Largest request header block in bytes; larger ones are answered 431. */
      maxHeaderSize: z.number().int().min(1024).max(1_048_576).default(16_384),
      maxConnections: z.number().int().min(1).default(10_000),
      /** On SIGTERM, in-flight requests get this long to finish before connections are closed. */
      shutdownTimeout: duration('10s').prefault('10s'),
      /** Largest request body the proxy's own endpoints (token endpoint, login) accept, in bytes. */
      maxOwnBodyBytes: z.number().int().min(1024).max(1_048_576).default(16_384),
      /** HTTPS on this listener: the certificate is re-read when its files change and on SIGHUP. */
      tls: listenerTlsSchema.optional(),
      /** A plain-HTTP listener beside the TLS one that only redirects to https; off unless set, and only with `tls`. */
      httpRedirect: httpRedirectSchema.optional(),
    })
    .prefault({}),
  /** Worker processes on one port (node:cluster); "auto" is one per core. More than one needs the Redis store. */
  workers: z.union([z.number().int().min(1).max(64), z.literal('auto')]).default(1),
  log: z
    .strictObject({
      level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
      /** One line per request. */
      requests: z.boolean().default(true),
    })
    .prefault({}),
  protection: z
    .strictObject({
      bruteForce: z
        .strictObject({
          enabled: z.boolean().default(true),
          /** Failed logins for one username (OAuth operator or API user) before it is refused for the window. */
          maxFailuresPerUser: z.number().int().min(1).default(5),
          /** Failed logins from one client address before it is refused for the window. */
          maxFailuresPerAddress: z.number().int().min(1).default(20),
          window: duration('15m').prefault('15m'),
        })
        .prefault({}),
    })
    .prefault({}),
  upstream: z.strictObject({
    /** `demo` starts the built-in demo ITSM backend in the same process. */
    url: z.union([z.literal('demo'), z.url({ protocol: /^https?$/, error: 'expected "demo" or an http(s) URL' })]),
    connectTimeout: duration('5s').prefault('5s'),
    /** Longest wait for the upstream's response headers before answering 504. */
    timeout: duration('30s').prefault('30s'),
    maxSockets: z.number().int().min(1).default(256),
    /**
     * The forwarding engine. undici is the default: it measured about half of http-proxy's CPU per forwarded
     * request (`npm run bench`); http-proxy stays selectable as a fallback.
     */
    engine: z.enum(['http-proxy', 'undici']).default('undici'),
    /** How an https:// upstream is verified (a private CA) and the client certificate it may ask for. */
    tls: upstreamTlsSchema.optional(),
  }),
  tokens: z
    .strictObject({
      issuer: z.string().min(1).default('portcullis'),
      audience: z.string().min(1).default('itsm-api'),
      algorithm: z.enum(['RS256', 'ES256', 'EdDSA']).default('RS256'),
      /** Clock skew tolerated on `iat`/`nbf`/`exp` of tokens. */
      leeway: duration('30s').prefault('30s'),
      /** How many verified tokens each process remembers. */
      cacheSize: z.number().int().min(1).default(100_000),
      signingKeys: z.array(signingKey).default([]),
    })
    .prefault({}),
  oauth: z
    .strictObject({
      scope: z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/).default('public-api'),
      /** Whether a client revoking one of its access tokens (POST /oauth/revoke) also revokes the grant it came from. */
      revokeGrantWithAccessToken: z.boolean().default(false),
      clients: z.array(oauthClientSchema).default([]),
    })
    .prefault({}),
  operators: z.array(operatorSchema).default([]),
  pcr: pcrSchema.optional(),
  forwardAuth: forwardAuthSchema.optional(),
  externalIssuers: externalIssuersSchema,
  tracing: tracingSchema.prefault({}),
  routes: z.array(routeFor(z.string())).min(1),
  identityHeaders: z
    .strictObject({
      auth: headerName.default('X-Portcullis-Auth'),
      user: headerName.default('X-Portcullis-User'),
      clientId: headerName.default('X-Portcullis-Client-Id'),
      scope: headerName.default('X-Portcullis-Scope'),
      teams: headerName.default('X-Portcullis-Teams'),
      organizations: headerName.default('X-Portcullis-Organizations'),
      features: headerName.default('X-Portcullis-Features'),
      apiKeyId: headerName.default('X-Portcullis-Api-Key-Id'),
      section: headerName.default('X-Portcullis-Section'),
      access: headerName.default('X-Portcullis-Access'),
      /** The configured name of the external identity provider that vouched for the user (external-jwt). */
      issuer: headerName.default('X-Portcullis-Issuer'),
      /** Every incoming header starting with one of these is removed, whatever the proxy sets. */
      stripPrefixes: z.array(headerName).default(['X-Portcullis-']),
    })
    .prefault({}),
  store: storeSchema.prefault({ type: 'memory' }),
  admin: z
    .strictObject({
      host: z.string().default('127.0.0.1'),
      port: z.number().int().min(0).max(65535).default(9091),
      /** HTTPS on the admin listener; with `clientAuth`, a listed certificate may stand in for an admin token. */
      tls: listenerTlsSchema.optional(),
      /** The one-token form: a token named `admin` with role `manage`, so configs from before `tokens` still work. */
      token: secretSource.optional(),
      /** Named bearer tokens; with none here and no `token`, every admin call is 401. */
      tokens: z.array(adminToken).default([]),
      /** Client certificates accepted in place of an admin token (needs admin.tls.clientAuth optional or require). */
      certificateIdentities: certificateIdentitiesSchema,
      /** The browser console at /console/ on this listener: sign in with an admin token. */
      console: z
        .strictObject({
          enabled: z.boolean().default(true),
          /** How long a console sign-in lasts; signing out ends it sooner. */
          sessionLifetime: duration('8h').prefault('8h'),
        })
        .prefault({}),
    })
    .superRefine((admin, ctx) => {
      const seen = new Set<string>();
      admin.tokens.forEach((t, i) => {
        if (seen.has(t.name)) ctx.addIssue({ code: 'custom', path: ['tokens', i, 'name'], message: 'admin token names must be unique' });
        seen.add(t.name);
        if (t.name === LEGACY_ADMIN_TOKEN_NAME && admin.token !== undefined) {
          ctx.addIssue({ code: 'custom', path: ['tokens', i, 'name'], message: 'admin.token is already the token named "admin": rename this one or move admin.token here' });
        }
      });
      refineCertificateIdentities(admin, [...(admin.token !== undefined ? [LEGACY_ADMIN_TOKEN_NAME] : []), ...admin.tokens.map((t) => t.name)], ctx);
    })
    .prefault({}),
});

/** The config schema with the authenticator ids this build's faces offer; any other id is refused with the list. */
export function configSchemaFor(authenticatorIds: readonly string[]) {
  const [first, ...rest] = authenticatorIds;
  if (first === undefined) throw new Error('no authenticators are registered');
  return configSchema.extend({ routes: z.array(routeFor(z.enum([first, ...rest]))).min(1) });
}

export type ConfigInput = z.input<typeof configSchema>;
export type ParsedConfig = z.output<typeof configSchema>;
export type RouteConfig = ParsedConfig['routes'][number];
export type OAuthClientConfig = ParsedConfig['oauth']['clients'][number];
export type OperatorConfig = ParsedConfig['operators'][number];
export type PcrConfig = z.output<typeof pcrSchema>;
export type ApiKeyConfig = PcrConfig['keys'][number];
export type ApiUserConfig = PcrConfig['users'][number];
export type StoreConfig = ParsedConfig['store'];
export type IdentityHeaderConfig = ParsedConfig['identityHeaders'];
export type AdminTokenConfig = ParsedConfig['admin']['tokens'][number];
export type AdminRole = AdminTokenConfig['role'];
