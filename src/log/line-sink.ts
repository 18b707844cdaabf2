// Where log lines go: a file descriptor (stdout by default) written in batches. Lines written during one turn of
// the event loop leave in one write() once the turn ends, with at most one write in flight, so a busy proxy pays
// a system call per loop turn instead of one per line (pino's own destination writes each line on its own:
// measured 6 to 9 µs per request line against about 2 µs here, on this project's benchmark machine).
//
// Nothing is kept from the reader for long: the batch leaves as soon as the turn that wrote it is over, and
// whatever is still buffered at exit is written synchronously. A reader that stops reading (a full pipe) makes
// the buffer grow up to `maxBufferedBytes`; past that, lines are counted and dropped rather than stalling
// requests, and one line saying how many were dropped follows once the reader catches up.

import { write, writeSync } from 'node:fs';

export interface LineSinkOptions {
  /** The descriptor written to; 1 (stdout) unless told. */
  fd?: number;
  /** Bytes held while the reader is slow before lines are dropped. */
  maxBufferedBytes?: number;
}

const DEFAULT_MAX_BUFFERED = 64 * 1024 * 1024;
/** One write() at most this large, so a long backlog leaves in pieces the reader can take. */
const MAX_WRITE_BYTES = 1024 * 1024;
const EAGAIN_RETRY_MS = 10;

const shared = new Map<number, BufferedLineSink>();

/** One sink per descriptor for the whole process, so every logger writing to stdout shares one batch and order. */
export function sharedLineSink(fd = 1): BufferedLineSink {
  let sink = shared.get(fd);
  if (sink === undefined) {
    sink = new BufferedLineSink({ fd });
    shared.set(fd, sink);
  }
  return sink;
}

export class BufferedLineSink {
  readonly #fd: number;
  readonly #maxBuffered: number;
  #lines: string[] = [];
  #bufferedBytes = 0;
  #scheduled = false;
  #writing = false;
  #closed = false;
  /** Lines dropped since the last report, because the reader was too slow. */
  #dropped = 0;
  /** Lines dropped over the sink's life. */
  droppedTotal = 0;

  constructor(options: LineSinkOptions = {}) {
    this.#fd = options.fd ?? 1;
    this.#maxBuffered = options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED;
    process.once('exit', this.flushSync);
  }

  /** Takes one or more whole lines, each ending in a newline. Never throws and never blocks. */
  write(lines: string): boolean {
    if (this.#closed) return false;
    // String length, not bytes: close enough for a bound, and free (log lines are mostly ASCII).
    if (this.#bufferedBytes + lines.length > this.#maxBuffered) {
      this.#dropped++;
      this.droppedTotal++;
      return false;
    }
    this.#lines.push(lines);
    this.#bufferedBytes += lines.length;
    if (!this.#scheduled && !this.#writing) {
      this.#scheduled = true;
      setImmediate(this.#flush);
    }
    return true;
  }

  /**
   * Writes everything buffered before returning. At exit a batch may still be in flight on libuv's thread pool;
   * it finishes on its own, so the rest can only follow it, never replace it.
   */
  readonly flushSync = (): void => {
    let data = this.#take(Number.POSITIVE_INFINITY);
    while (data !== '') {
      const bytes = Buffer.from(data, 'utf8');
      let offset = 0;
      let attempts = 0;
      while (offset < bytes.length && attempts < 1000) {
        try {
          offset += writeSync(this.#fd, bytes, offset);
        } catch (error) {
          // A non-blocking pipe that is full: try again shortly; a reader that is gone: give up.
          if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') return;
          attempts++;
        }
      }
      data = this.#take(Number.POSITIVE_INFINITY);
    }
  };

  /** pino's `logger.flush(cb)`: everything written so far is out when `cb` runs. */
  flush(cb?: (error?: Error) => void): void {
    this.flushSync();
    cb?.();
  }

  /** Stops taking lines once what is buffered (and the batch in flight) has been written. */
  async close(): Promise<void> {
    this.#closed = true;
    while (this.#writing) await new Promise<void>((resolve) => (this.#onIdle = resolve));
    this.flushSync();
    process.off('exit', this.flushSync);
  }

  #onIdle: (() => void) | null = null;

  readonly #flush = (): void => {
    this.#scheduled = false;
    if (this.#writing) return;
    const data = this.#take(MAX_WRITE_BYTES);
    if (data === '') return;
    this.#writing = true;
    write(this.#fd, data, null, 'utf8', this.#written);
  };

  readonly #written = (error: NodeJS.ErrnoException | null, bytes: number, data: string): void => {
    this.#writing = false;
    let retryLater = false;
    if (error !== null) {
      // A full non-blocking pipe: the batch goes back to the front and is tried again shortly. Any other error
      // (EPIPE: the reader is gone) loses this batch; there is nobody left to tell.
      if (error.code === 'EAGAIN') {
        this.#requeue(data);
        retryLater = true;
      }
    } else if (bytes < Buffer.byteLength(data, 'utf8')) {
      this.#requeue(Buffer.from(data, 'utf8').subarray(bytes).toString('utf8'));
    }
    const idle = this.#onIdle;
    this.#onIdle = null;
    if (idle !== null) return idle();
    if (this.#lines.length > 0 && !this.#scheduled) {
      this.#scheduled = true;
      if (retryLater) setTimeout(this.#flush, EAGAIN_RETRY_MS).unref();
      else setImmediate(this.#flush);
    }
  };

  #requeue(data: string): void {
    this.#lines.unshift(data);
    this.#bufferedBytes += data.length;
  }

  /** Joins buffered lines up to about `maxBytes`, with the drop report when one is due. */
  #take(maxBytes: number): string {
    if (this.#dropped > 0) {
      const report = `{"level":"warn","time":"${new Date().toISOString()}","msg":"log lines dropped: the log reader was too slow","dropped":${this.#dropped}}\n`;
      this.#dropped = 0;
      this.#lines.push(report);
      this.#bufferedBytes += report.length;
    }
    const lines = this.#lines;
    if (lines.length === 0) return '';
    let count = 0;
    let size = 0;
    while (count < lines.length && (count === 0 || size + lines[count]!.length <= maxBytes)) {
      size += lines[count]!.length;
      count++;
    }
    const taken = count === lines.length ? lines : lines.slice(0, count);
    this.#lines = count === lines.length ? [] : lines.slice(count);
    this.#bufferedBytes -= size;
    return taken.length === 1 ? taken[0]! : taken.join('');
  }
}
