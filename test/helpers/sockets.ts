// Raw TCP connections to the proxy for tests about timing and connection limits: what the server sent, when it
// closed the connection, and a bound on how long a test waits for either.

import { connect, type Socket } from 'node:net';

/** A connection that records what the server sends and when it closes. */
export interface Watched {
  socket: Socket;
  received(): string;
  /** Resolves with the milliseconds from opening the connection until it closed. */
  closed: Promise<number>;
  isClosed(): boolean;
}

export function openConnection(port: number, options: { allowHalfOpen?: boolean } = {}): Promise<Watched> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: options.allowHalfOpen ?? false });
    const openedAt = Date.now();
    let data = '';
    let closed = false;
    const closedPromise = new Promise<number>((done) =>
      socket.once('close', () => {
        closed = true;
        done(Date.now() - openedAt);
      }),
    );
    socket.on('data', (chunk: Buffer) => (data += chunk.toString('latin1')));
    socket.once('connect', () => {
      socket.off('error', reject);
      socket.on('error', () => {});
      resolve({ socket, received: () => data, closed: closedPromise, isClosed: () => closed });
    });
    socket.once('error', reject);
  });
}

/** The promise's value, or 'timeout' when it takes longer than `ms`. */
export async function within<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
