// PCR-360 sessions in Redis: one hash per session, found through sorted-set indexes of all sessions, of each
// API key's and of each API user's. Creation, touches and deletes run as scripts so none can undo another.

import { byCreation, isSessionLive, matchesSessionFilter } from '../records.js';
import type { SessionFilter, SessionRecord } from '../store.js';
import type { RedisContext } from './connection.js';
import { SESSION_FIELDS, TTL_GRACE_MS, createSessionArgs, decodeSession, decodeSessionFields, str } from './encoding.js';
import { INDEX_BATCH, readIndexMembers, readLiveRecords } from './indexes.js';
import { queueScript, runScript } from './scripts.js';

interface DeletedSession {
  id: string;
  keyId: string;
  user: string;
}

export class RedisSessions {
  constructor(private readonly redis: RedisContext) {}

  async create(session: SessionRecord): Promise<void> {
    const { connection, keys, clock } = this.redis;
    const sessionKeys = [
      keys.session(session.id),
      keys.sessionIndex('all'),
      keys.sessionIndex('key', session.keyId),
      keys.sessionIndex('user', session.user),
    ];
    const args = createSessionArgs(session, clock.now());
    await connection.run('createSession', () => runScript(connection.client, 'pcCreateSession', sessionKeys, args));
  }

  async get(id: string, now: number): Promise<SessionRecord | null> {
    const { connection, keys } = this.redis;
    const row = await connection.run('getSession', () => connection.client.hmget(keys.session(id), ...SESSION_FIELDS));
    const session = decodeSessionFields(row);
    return session && isSessionLive(session, now) ? session : null;
  }

  async touch(id: string, now: number): Promise<SessionRecord | null> {
    const { connection, keys } = this.redis;
    const res = (await connection.run('touchSession', () =>
      runScript(connection.client, 'pcTouchSession', [keys.session(id)], [str(now), str(TTL_GRACE_MS)]),
    )) as [string, string] | null;
    return res ? decodeSession(res[0], res[1]) : null;
  }

  async delete(id: string): Promise<boolean> {
    const { connection, keys } = this.redis;
    const res = (await connection.run('deleteSession', () =>
      runScript(connection.client, 'pcDeleteSession', [keys.session(id)], ['0', '', '0', '']),
    )) as [string, string] | null;
    if (!res) return false;
    await this.#dropFromIndexes([{ id, keyId: res[0], user: res[1] }]);
    await connection.publish([{ kind: 'session', id }]);
    await connection.replicated('deleteSession');
    return true;
  }

  async list(filter: SessionFilter, now: number): Promise<SessionRecord[]> {
    const { connection, keys } = this.redis;
    const index = this.#indexFor(filter);
    const found = await connection.run('listSessions', () =>
      readLiveRecords(connection, index, now, { key: (id) => keys.session(id), fields: SESSION_FIELDS, decode: decodeSessionFields }),
    );
    return found.filter((session) => matchesSessionFilter(session, filter) && isSessionLive(session, now)).sort(byCreation);
  }

  async deleteMatching(filter: SessionFilter): Promise<string[]> {
    const { connection, keys } = this.redis;
    const index = this.#indexFor(filter);
    const args = [
      filter.keyId === undefined ? '0' : '1',
      filter.keyId ?? '',
      filter.user === undefined ? '0' : '1',
      filter.user ?? '',
    ];
    const deleted = await connection.run('deleteSessions', async () => {
      const ids = await connection.client.zrange(index, '0', '-1');
      const gone: DeletedSession[] = [];
      await readIndexMembers(
        connection,
        index,
        ids,
        (pipeline, id) => queueScript(pipeline, 'pcDeleteSession', [keys.session(id)], args),
        (id, reply) => {
          // The script answers nil for a missing record, 0 for one the filter does not match.
          if (Array.isArray(reply)) gone.push({ id, keyId: String(reply[0]), user: String(reply[1]) });
          return reply !== null;
        },
      );
      return gone;
    });
    await this.#dropFromIndexes(deleted);
    await connection.publish(deleted.map(({ id }) => ({ kind: 'session', id }) as const));
    if (deleted.length > 0) await connection.replicated('deleteSessions');
    return deleted.map(({ id }) => id);
  }

  #indexFor(filter: SessionFilter): string {
    const { keys } = this.redis;
    // The user index is usually the smallest; the other criterion is checked against each record.
    if (filter.user !== undefined) return keys.sessionIndex('user', filter.user);
    if (filter.keyId !== undefined) return keys.sessionIndex('key', filter.keyId);
    return keys.sessionIndex('all');
  }

  /** Best effort: a member left behind is removed by the next listing that finds its record gone. */
  async #dropFromIndexes(sessions: DeletedSession[]): Promise<void> {
    const { connection, keys } = this.redis;
    if (sessions.length === 0 || connection.closed) return;
    try {
      const pipeline = connection.client.pipeline();
      for (let i = 0; i < sessions.length; i += INDEX_BATCH) {
        const chunk = sessions.slice(i, i + INDEX_BATCH);
        pipeline.zrem(keys.sessionIndex('all'), ...chunk.map((s) => s.id));
        for (const s of chunk) {
          pipeline.zrem(keys.sessionIndex('key', s.keyId), s.id);
          pipeline.zrem(keys.sessionIndex('user', s.user), s.id);
        }
      }
      await pipeline.exec();
    } catch {
      // Ignored on purpose, see above.
    }
  }
}
