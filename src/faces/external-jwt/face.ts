// The external identity provider face, built when the config lists `externalIssuers`: one authenticator,
// `external-jwt`, for bearer JWTs those issuers sign. It has no endpoints of its own and puts no credential in
// paths; what it adds to the running proxy is the issuers' key sets, fetched on demand and kept across reloads.

import type { Face, FaceDefinition } from '../../pipeline/face.js';
import { ExternalJwtAuthenticator } from './authenticator.js';
import type { KeySetFetchReport } from './issuer-keys.js';
import { trustedIssuersFor } from './issuer-memo.js';
import type { TrustedIssuer } from './trusted-issuer.js';

/** The face as built: the plug-in contract plus its issuers (their key sets and fetch counts, for metrics and tests). */
export interface ExternalJwtFaceInstance extends Face {
  readonly issuers: readonly TrustedIssuer[];
}

export const externalJwtFace: FaceDefinition = {
  id: 'external-jwt',
  authenticatorIds: ['external-jwt'],
  create(context): ExternalJwtFaceInstance | null {
    const configured = context.config.parsed.externalIssuers;
    if (configured.length === 0) return null;
    const report = (fetch: KeySetFetchReport) => {
      if (fetch.outcome === 'ok') context.logger.info(fetch, 'external issuer keys fetched');
      else context.logger.warn(fetch, 'external issuer keys could not be fetched');
    };
    const issuers = trustedIssuersFor(configured, context.clock, report);
    const byIss = new Map(issuers.map((issuer) => [issuer.config.issuer, issuer]));
    return {
      id: 'external-jwt',
      issuers,
      authenticators: [new ExternalJwtAuthenticator(byIss, context.config.parsed.tokens.issuer)],
      keySetFetches: () =>
        issuers.flatMap((issuer) => Object.entries(issuer.keys.fetches).map(([outcome, count]) => ({ issuer: issuer.config.name, outcome, count }))),
    };
  },
};
