// Where log lines go: a file descriptor (stdout by default) written in batches. Lines are gathered for a few
// milliseconds and leave together in one write(), so a busy proxy pays one system call per batch instead of one
// per line. pino's own destination writes each line on its own (synchronously by default, or through libuv's
// thread pool, whose wake-ups cost more than the write on a virtual machine): measured 6 to 9 µs per request
// line, against about 2 µs for the whole request line written here (bench/README.md).
//
// The batch is written synchronously, as pino's default destination writes: to a file, /dev/null or a pipe whose
// reader keeps up (a container runtime, journald) that is cheap and keeps lines in order with nothing in flight.
// A reader that stops reading fills a non-blocking pipe: the batch waits and is tried again shortly, the buffer
// grows up to `maxBufferedBytes`, and past that lines are counted and dropped rather than stalling requests; one
// line saying how many were dropped follows once the reader catches up. Whatever is buffered at exit is written.

import { writeSync } from 'node:fs';

export interface LineSinkOptions {
  /** The descriptor written to; 1 (stdout) unless told. */
  fd?: number;
  /** Bytes held while the reader is slow before lines are dropped. */
  maxBufferedBytes?: number;
  /** How long lines are gathered before they are written. */
  batchMs?: number;
}

const DEFAULT_MAX_BUFFERED = 64 * 1024 * 1024;
const DEFAULT_BATCH_MS = 10;
/** A batch this large is written at once instead of waiting out the batch time. */
const EAGER_BYTES = 64 * 1024;
/** One write() at most this large. */
const MAX_WRITE_BYTES = 1024 * 1024;
/** A full pipe is tried again after this long. */
const RETRY_MS = 20;

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
  readonly #batchMs: number;
  #lines: string[] = [];
  #bufferedBytes = 0;
  #timer: NodeJS.Timeout | null = null;
  /** The last write found the pipe full: nothing is tried before the retry timer. */
  #full = false;
  #closed = false;
  /** Lines dropped since the last report, because the reader was too slow. */
  #dropped = 0;
  /** Lines dropped over the sink's life. */
  droppedTotal = 0;

  constructor(options: LineSinkOptions = {}) {
    this.#fd = options.fd ?? 1;
    this.#maxBuffered = options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED;
    this.#batchMs = options.batchMs ?? DEFAULT_BATCH_MS;
    process.once('exit', this.flushSync);
  }

  /** Takes one or more whole lines, each ending in a newline. Never throws. */
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
    if (this.#bufferedBytes >= EAGER_BYTES && !this.#full) this.#writeBatches();
    else this.#timer ??= setTimeout(this.#onTimer, this.#batchMs).unref();
    return true;
  }

  /** Writes everything buffered before returning (at exit, on pino's flush), waiting out a full pipe briefly. */
  readonly flushSync = (): void => {
    for (let attempt = 0; attempt < 100 && (this.#lines.length > 0 || this.#dropped > 0); attempt++) {
      if (this.#writeBatches() === 'gone') return;
    }
  };

  /** pino's `logger.flush(cb)`: everything written so far is out when `cb` runs. */
  flush(cb?: (error?: Error) => void): void {
    this.flushSync();
    cb?.();
  }

  /** Takes no more lines, and resolves once what is buffered is written (or after `timeoutMs` of a full pipe). */
  async close(timeoutMs = 5000): Promise<void> {
    this.#closed = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    const deadline = Date.now() + timeoutMs;
    while (this.#writeBatches() === 'full' && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    process.off('exit', this.flushSync);
  }

  readonly #onTimer = (): void => {
    this.#timer = null;
    this.#writeBatches();
  };

  /** Writes batches until the buffer is empty ('done'), the pipe is full ('full') or the reader is gone ('gone'). */
  #writeBatches(): 'done' | 'full' | 'gone' {
    const outcome = this.#writeAll();
    this.#full = outcome === 'full';
    if (this.#full) this.#timer ??= setTimeout(this.#onTimer, RETRY_MS).unref();
    return outcome;
  }

  #writeAll(): 'done' | 'full' | 'gone' {
    for (;;) {
      const data = this.#take();
      if (data === '') return 'done';
      const bytes = Buffer.from(data, 'utf8');
      let written = 0;
      try {
        written = writeSync(this.#fd, bytes);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN' || code === 'EWOULDBLOCK') {
          this.#requeue(data);
          return 'full';
        }
        // EPIPE, EBADF: the reader is gone and there is nobody left to tell; the batch is lost.
        return 'gone';
      }
      if (written < bytes.length) {
        this.#requeue(bytes.subarray(written).toString('utf8'));
        return 'full';
      }
    }
  }

  #requeue(data: string): void {
    this.#lines.unshift(data);
    this.#bufferedBytes += data.length;
  }

  /** Joins buffered lines up to about MAX_WRITE_BYTES, with the drop report when one is due. */
  #take(): string {
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
    while (count < lines.length && (count === 0 || size + lines[count]!.length <= MAX_WRITE_BYTES)) {
      size += lines[count]!.length;
      count++;
    }
    const taken = count === lines.length ? lines : lines.slice(0, count);
    this.#lines = count === lines.length ? [] : lines.slice(count);
    this.#bufferedBytes -= size;
    return taken.length === 1 ? taken[0]! : taken.join('');
  }
}
