// The soak's load: an open loop that starts operations at a fixed rate whatever the answers' latency (so a slow
// proxy shows up as latency, not as a lower rate), and a recorder that keeps latencies and unexpected answers per
// time window. A latency is measured from when the request was due, not from when it was sent.

import { Pool } from 'undici';

export interface Answer {
  status: number;
  text: string;
}

export interface WindowStats {
  startedMs: number;
  latencies: number[];
  requests: number;
  byKind: Record<string, number>;
  errors: Record<string, number>;
}

const newWindow = (startedMs: number): WindowStats => ({ startedMs, latencies: [], requests: 0, byKind: {}, errors: {} });

/** Why an answer was refused, as the proxy says it: the OAuth `error` or the reason in the body, else a snippet. */
export function reasonOf(answer: Answer): string {
  try {
    const body = JSON.parse(answer.text) as Record<string, unknown>;
    const reason = body['reason'] ?? body['error'] ?? body['message'];
    if (typeof reason === 'string') return reason;
  } catch {
    // not JSON
  }
  return answer.text.replace(/\s+/g, ' ').slice(0, 60) || 'no body';
}

export class Recorder {
  readonly windows: WindowStats[] = [];
  readonly errors: Record<string, number> = {};
  /** Every latency of the run by kind of request, for the per-kind percentiles. */
  readonly latencyByKind: Record<string, number[]> = {};
  /** Credentials that should have been live but were refused: sessions and grants. */
  readonly lost: string[] = [];
  #current = newWindow(0);
  #t0 = performance.now();

  start(): void {
    this.#t0 = performance.now();
    this.#current = newWindow(0);
  }

  get elapsedMs(): number {
    return performance.now() - this.#t0;
  }

  /** Closes the current window and opens the next one. */
  roll(): WindowStats {
    const done = this.#current;
    this.windows.push(done);
    this.#current = newWindow(this.elapsedMs);
    return done;
  }

  ok(kind: string, latencyMs: number): void {
    const w = this.#current;
    w.requests++;
    w.latencies.push(latencyMs);
    w.byKind[kind] = (w.byKind[kind] ?? 0) + 1;
    (this.latencyByKind[kind] ??= []).push(latencyMs);
  }

  error(kind: string, description: string): void {
    const key = `${kind}: ${description}`;
    this.errors[key] = (this.errors[key] ?? 0) + 1;
    this.#current.errors[key] = (this.#current.errors[key] ?? 0) + 1;
    this.#current.requests++;
  }

  /** Counted once among the errors already (by the request that found it); kept here with what was lost. */
  lose(what: string): void {
    this.lostCount++;
    if (this.lost.length < 50) this.lost.push(what);
  }

  lostCount = 0;
}

export function percentile(sorted: ArrayLike<number>, p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export interface Caller {
  /** One request; an answer whose status is not in `expected` is an error of `kind`. Null on a transport error. */
  call(kind: string, request: { method: string; path: string; headers?: Record<string, string>; body?: string }, expected: readonly number[], dueMs?: number): Promise<Answer | null>;
  close(): Promise<void>;
}

export function caller(origin: string, connections: number, recorder: Recorder): Caller {
  const pool = new Pool(origin, { connections, pipelining: 1, keepAliveTimeout: 30_000 });
  return {
    async call(kind, request, expected, dueMs = performance.now()) {
      try {
        const response = await pool.request({ method: request.method as 'GET', path: request.path, headers: request.headers ?? {}, body: request.body ?? null, headersTimeout: 10_000, bodyTimeout: 10_000 });
        const answer = { status: response.statusCode, text: await response.body.text() };
        if (expected.includes(answer.status)) recorder.ok(kind, performance.now() - dueMs);
        else recorder.error(kind, `${answer.status} ${reasonOf(answer)}`);
        return answer;
      } catch (error) {
        recorder.error(kind, `transport ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
        return null;
      }
    },
    close: () => pool.close(),
  };
}

export type Operation = (dueMs: number) => Promise<void>;

export interface DriveResult {
  started: number;
  /** Operations that were due while `maxInFlight` were still running: the load generator fell behind. */
  behind: number;
}

/** Starts `rate` operations a second for `seconds`, never more than `maxInFlight` at once; waits for all. */
export async function drive(rate: number, seconds: number, next: () => Operation, maxInFlight: number, onTick?: () => void): Promise<DriveResult> {
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  const running = new Set<Promise<void>>();
  let started = 0;
  let behind = 0;
  while (performance.now() < end) {
    const now = performance.now();
    const due = Math.min(Math.floor(((now - t0) / 1000) * rate) + 1, Math.ceil(seconds * rate));
    while (started + behind < due) {
      const dueMs = t0 + ((started + behind) * 1000) / rate;
      if (running.size >= maxInFlight) {
        behind++;
        continue;
      }
      started++;
      const op = next()(dueMs).finally(() => running.delete(op));
      running.add(op);
    }
    onTick?.();
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  await Promise.all(running);
  return { started, behind };
}
