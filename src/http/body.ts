// Reads a request body for the proxy's own endpoints, bounded in size and time. Proxied bodies are never
// buffered: they stream straight to the upstream.

import type { IncomingMessage } from 'node:http';

export class BodyTooLargeError extends Error {
  override readonly name = 'BodyTooLargeError';
}

export class BodyAbortedError extends Error {
  override readonly name = 'BodyAbortedError';
}

export function readBody(req: IncomingMessage, limitBytes: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limitBytes) {
    // Drain nothing: the connection is closed after the answer so the unread body cannot be taken as a request.
    req.resume();
    return Promise.reject(new BodyTooLargeError('body too large'));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (error: Error | null) => {
      if (done) return;
      done = true;
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
      if (error) reject(error);
      else resolve(Buffer.concat(chunks, size));
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limitBytes) {
        req.resume();
        finish(new BodyTooLargeError('body too large'));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => finish(null);
    const onError = (error: Error) => finish(new BodyAbortedError(error.message));
    const onClose = () => finish(new BodyAbortedError('client went away'));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}
