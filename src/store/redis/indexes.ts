// Walking the Redis store's sorted-set indexes: reading the record behind each member in pipelined batches, and
// dropping the members whose record is gone (Redis expired it, or a delete could not update the index).

import type { ChainableCommander } from 'ioredis';
import type { RedisConnection } from './connection.js';

/** Records read, or index members removed, per pipeline round trip. */
export const INDEX_BATCH = 500;

/**
 * Sends one pipelined command per member in `ids` of `index`. `onReply` gets each member's reply and says
 * whether its record still exists; the members whose record is gone are removed from the index.
 */
export async function readIndexMembers(
  connection: RedisConnection,
  index: string,
  ids: string[],
  queue: (pipeline: ChainableCommander, id: string) => void,
  onReply: (id: string, reply: unknown) => boolean,
): Promise<void> {
  const gone: string[] = [];
  for (let i = 0; i < ids.length; i += INDEX_BATCH) {
    const chunk = ids.slice(i, i + INDEX_BATCH);
    const pipeline = connection.client.pipeline();
    for (const id of chunk) queue(pipeline, id);
    const replies = await connection.exec(pipeline);
    replies.forEach((reply, j) => {
      const id = chunk[j]!;
      if (!onReply(id, reply)) gone.push(id);
    });
  }
  if (gone.length > 0) await connection.client.zrem(index, ...gone);
}

/**
 * The records of the members of `index` that may still be live at `now`, in index order. Members whose
 * absolute end (their score) has passed are dead whatever their record says, so they are not read at all.
 */
export async function readLiveRecords<T>(
  connection: RedisConnection,
  index: string,
  now: number,
  record: { key: (id: string) => string; fields: readonly string[]; decode: (row: (string | null)[]) => T | null },
): Promise<T[]> {
  const ids = await connection.client.zrangebyscore(index, `(${now}`, '+inf');
  const found: T[] = [];
  await readIndexMembers(
    connection,
    index,
    ids,
    (pipeline, id) => pipeline.hmget(record.key(id), ...record.fields),
    (_id, reply) => {
      const decoded = record.decode(reply as (string | null)[]);
      if (decoded !== null) found.push(decoded);
      return decoded !== null;
    },
  );
  return found;
}
