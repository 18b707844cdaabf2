// Carries issuers over from one runtime to the next. A reload (or an admin change) builds the face again; an
// issuer whose key-set settings did not change keeps its fetched keys, its cooldown and its fetch counts, and one
// whose settings did not change at all also keeps its verified tokens. Issuers no longer configured are dropped.
// Runtimes are told apart by their clock, the one long-lived service every runtime of a proxy shares (as the
// PCR-360 session tokens do), so two proxies in one process with their own clocks never share an issuer.

import type { Clock } from '../../clock.js';
import type { ExternalIssuerConfig } from '../../config/schema/external-issuers.js';
import { emptyTally, IssuerKeys, type KeySetFetchReport, type KeySetFetchTally } from './issuer-keys.js';
import { TrustedIssuer } from './trusted-issuer.js';

interface Remembered {
  keys: Map<string, IssuerKeys>;
  issuers: Map<string, TrustedIssuer>;
  /** Fetch counts by issuer name, kept while the proxy runs so the metric only grows, whatever reloads change. */
  tallies: Map<string, KeySetFetchTally>;
}

const remembered = new WeakMap<Clock, Remembered>();

function keySettingsOf(issuer: ExternalIssuerConfig): string {
  return JSON.stringify([issuer.name, issuer.jwksUrl, issuer.algorithms, issuer.jwks]);
}

/** The issuers of this config, reusing what the previous runtime on this clock had for unchanged settings. */
export function trustedIssuersFor(configured: readonly ExternalIssuerConfig[], clock: Clock, report: (fetch: KeySetFetchReport) => void): TrustedIssuer[] {
  const before = remembered.get(clock) ?? { keys: new Map<string, IssuerKeys>(), issuers: new Map<string, TrustedIssuer>(), tallies: new Map<string, KeySetFetchTally>() };
  const now: Remembered = { keys: new Map(), issuers: new Map(), tallies: before.tallies };
  const issuers = configured.map((config) => {
    const keySettings = keySettingsOf(config);
    let tally = now.tallies.get(config.name);
    if (tally === undefined) now.tallies.set(config.name, (tally = emptyTally()));
    const keys =
      before.keys.get(keySettings) ??
      new IssuerKeys(
        config.name,
        { url: config.jwksUrl, algorithms: config.algorithms, timeoutMs: config.jwks.timeout, maxKeys: config.jwks.maxKeys, maxBytes: config.jwks.maxBytes },
        { cooldownMs: config.jwks.cooldown, maxAgeMs: config.jwks.maxAge },
        clock,
        report,
        tally,
      );
    now.keys.set(keySettings, keys);
    const settings = JSON.stringify(config);
    const previous = before.issuers.get(settings);
    const issuer = previous !== undefined && previous.keys === keys ? previous : new TrustedIssuer(config, keys, clock);
    now.issuers.set(settings, issuer);
    return issuer;
  });
  remembered.set(clock, now);
  return issuers;
}
