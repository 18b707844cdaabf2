// Which configured admin token a presented secret is: the admin API, the console's sign-in and token
// introspection (an admin may introspect) all ask this, so it lives beside the verifier rather than in one of them.

import type { SecretVerifier, StoredSecret } from './verifier.js';

/** What an admin token entry must have to be identified: a stored secret and a role, however else it is shaped. */
interface RoledSecret {
  role: 'read' | 'manage';
  secret: StoredSecret;
}

/**
 * The configured admin token `presented` is, or null. Every token is verified, whichever matches, so the time
 * taken does not tell which entry (or whether an early one) matched beyond what the verifier's success cache
 * already does.
 */
export async function identifyAdminToken<T extends RoledSecret>(presented: string, configured: readonly T[], verifier: SecretVerifier): Promise<T | null> {
  const results = await Promise.all(configured.map((token) => verifier.verify(presented, token.secret)));
  const matched = configured.filter((_token, i) => results[i]);
  // Load refuses two entries with one secret where it can see it; where it cannot (one plain secret in two
  // files), the narrower role wins, so an ambiguous config never grants more than every entry it matches.
  return matched.find((t) => t.role === 'read') ?? matched[0] ?? null;
}
