// Refresh-token families in Redis: one hash per family and per refresh token, families found through sorted-set
// indexes of all families, of each OAuth client's and of each operator's. Creation, redemption and revocation
// run as scripts, so of any number of concurrent redeems of one token exactly one rotates.

import { byCreation, familyKeepUntil, matchesFamilyFilter } from '../records.js';
import type { FamilyFilter, RedeemResult, Store, TokenFamilyRecord } from '../store.js';
import type { RedisContext } from './connection.js';
import { FAMILY_FIELDS, TTL_GRACE_MS, createFamilyArgs, decodeFamily, str } from './encoding.js';
import { readLiveRecords } from './indexes.js';
import { runScript } from './scripts.js';

export class RedisFamilies {
  constructor(private readonly redis: RedisContext) {}

  async create(family: TokenFamilyRecord, refreshTokenHash: string | null): Promise<void> {
    if (refreshTokenHash !== null && family.refreshExpiresAt === null) {
      throw new TypeError('createFamily: a refresh token needs family.refreshExpiresAt');
    }
    const { connection, keys, clock } = this.redis;
    const familyKeys = [
      keys.family(family.id),
      keys.refreshToken(refreshTokenHash ?? ''),
      ...this.#indexes(family.clientId, family.subject),
    ];
    const args = createFamilyArgs(family, refreshTokenHash !== null, clock.now());
    await connection.run('createFamily', () => runScript(connection.client, 'pcCreateFamily', familyKeys, args));
  }

  async get(id: string, now: number): Promise<TokenFamilyRecord | null> {
    const { connection, keys } = this.redis;
    const row = await connection.run('getFamily', () => connection.client.hmget(keys.family(id), ...FAMILY_FIELDS));
    const family = decodeFamily(row);
    return family && now < familyKeepUntil(family) ? family : null;
  }

  async redeem(...[refreshTokenHash, nextHash, next, now]: Parameters<Store['redeemRefreshToken']>): Promise<RedeemResult> {
    const { connection, keys } = this.redis;
    const res = await connection.run('redeemRefreshToken', async () => {
      // pcRedeem must declare the family's keys, so the token's family (which never changes) is read first.
      const tokenKey = keys.refreshToken(refreshTokenHash);
      const [familyId, clientId, subject] = await connection.client.hmget(tokenKey, 'f', 'ci', 'su');
      if (!familyId || clientId === null || subject === null) return null;
      const keep = Math.max(next.refreshExpiresAt, next.accessExpiresAt);
      const redeemKeys = [tokenKey, keys.family(familyId), keys.refreshToken(nextHash), ...this.#indexes(clientId, subject)];
      const args = [
        str(now),
        str(next.refreshExpiresAt),
        str(next.accessExpiresAt),
        str(TTL_GRACE_MS),
        familyId,
        clientId,
        subject,
        str(keep),
      ];
      return (await runScript(connection.client, 'pcRedeem', redeemKeys, args)) as string[];
    });
    if (!res) return { status: 'unknown' };
    const status = res[0];
    if (status === 'rotated' || status === 'reused') {
      const family = decodeFamily(res.slice(1, 6));
      if (!family) throw connection.unavailable('redeemRefreshToken', new Error('malformed script reply'));
      if (status === 'reused' && res[6] === '1') {
        await connection.publish([{ kind: 'family', id: family.id }]);
        await connection.replicated('redeemRefreshToken');
      }
      return { status, family };
    }
    if (status === 'expired' || status === 'revoked' || status === 'unknown') return { status };
    throw connection.unavailable('redeemRefreshToken', new Error('unexpected script reply'));
  }

  async redeemable(refreshTokenHash: string, now: number): Promise<TokenFamilyRecord | null> {
    const { connection, keys } = this.redis;
    const [familyId, consumed, expiresAt] = await connection.run('redeemableRefreshToken', () =>
      connection.client.hmget(keys.refreshToken(refreshTokenHash), 'f', 'c', 'e'),
    );
    if (!familyId || consumed !== '0' || expiresAt === null || now >= Number(expiresAt)) return null;
    const family = await this.get(familyId, now);
    return family && family.revokedAt === null ? family : null;
  }

  async revoke(id: string, now: number): Promise<boolean> {
    const { connection, keys } = this.redis;
    const existed = await connection.run('revokeFamily', () =>
      runScript(connection.client, 'pcRevokeFamily', [keys.family(id)], [str(now)]),
    );
    if (Number(existed) !== 1) return false;
    await connection.publish([{ kind: 'family', id }]);
    await connection.replicated('revokeFamily');
    return true;
  }

  async list(filter: FamilyFilter, now: number): Promise<TokenFamilyRecord[]> {
    const { connection, keys } = this.redis;
    const index =
      filter.subject !== undefined
        ? keys.familyIndex('sub', filter.subject)
        : filter.clientId !== undefined
          ? keys.familyIndex('client', filter.clientId)
          : keys.familyIndex('all');
    const found = await connection.run('listFamilies', () =>
      readLiveRecords(connection, index, now, { key: (id) => keys.family(id), fields: FAMILY_FIELDS, decode: decodeFamily }),
    );
    return found.filter((family) => matchesFamilyFilter(family, filter) && now < familyKeepUntil(family)).sort(byCreation);
  }

  #indexes(clientId: string, subject: string): string[] {
    const { keys } = this.redis;
    return [keys.familyIndex('all'), keys.familyIndex('client', clientId), keys.familyIndex('sub', subject)];
  }
}
