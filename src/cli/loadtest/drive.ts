// The load itself: autocannon driven with a credential picked per request, so the warm/cold mix holds from the
// first request on, and a probe that stops a run whose credentials are refused before it measures refusals.

import autocannon from 'autocannon';
import type { Mix } from './args.js';
import type { Plan } from './credentials.js';

/**
 * Picks the credential of each request: cold shares take the next never-used credential, warm shares cycle
 * through a small pool the proxy has already seen. The choice is interleaved evenly (a cold request every
 * 100/cold requests), so a short run has the mix it asked for.
 */
export class CredentialPicker {
  #count = 0;
  #warmIndex = 0;
  #coldIndex = 0;
  exhausted = false;

  constructor(
    private readonly mix: Mix,
    private readonly warm: readonly string[],
    private readonly cold: readonly string[],
  ) {}

  next(): string {
    const slot = this.#count++ % 100;
    if (slot < this.mix.cold || this.warm.length === 0) {
      if (this.#coldIndex < this.cold.length) return this.cold[this.#coldIndex++]!;
      this.exhausted = true;
    }
    const token = this.warm[this.#warmIndex++ % Math.max(1, this.warm.length)];
    return token ?? this.cold[this.cold.length - 1] ?? '';
  }

  get coldUsed(): number {
    return this.#coldIndex;
  }
}

/** One request with the first credential, so refused credentials stop the run before it measures refusals. */
export async function probe(plan: Plan): Promise<void> {
  const credential = plan.warm[0] ?? plan.cold[0];
  const headers: Record<string, string> = plan.header !== null && credential !== undefined ? { [plan.header]: credential } : {};
  const response = await fetch(plan.url, { method: plan.method, headers });
  const text = await response.text();
  if (response.status >= 400) {
    throw new Error(`a first ${plan.method} to ${plan.displayUrl} with these credentials was answered ${response.status}: ${text.slice(0, 300)}`);
  }
}

export interface DriveOptions {
  url: string;
  method: string;
  connections: number;
  durationSeconds: number;
  /** Header carrying the credential, and how to pick one per request; none for credentials in the URL. */
  credential?: { header: string; picker: CredentialPicker } | undefined;
  headers?: Record<string, string>;
  body?: string;
  progress: boolean;
  /** Stop after this many requests. */
  amount?: number;
}

/** Runs autocannon once; resolves with its result. */
export function drive(options: DriveOptions): Promise<autocannon.Result> {
  const credential = options.credential;
  const request: autocannon.Request = { method: options.method as autocannon.Request['method'] };
  let instance: autocannon.Instance | null = null;
  if (credential) {
    request.setupRequest = (req) => {
      const value = credential.picker.next();
      if (credential.picker.exhausted && instance !== null) instance.stop();
      return { ...req, headers: { ...options.headers, [credential.header]: value } };
    };
  }
  const settings: autocannon.Options = {
    url: options.url,
    connections: options.connections,
    pipelining: 1,
    duration: options.durationSeconds,
    requests: [request],
    headers: options.headers ?? {},
    ...(options.body !== undefined ? { body: options.body } : {}),
    ...(options.amount !== undefined ? { amount: options.amount } : {}),
  };
  return new Promise((resolve, reject) => {
    instance = autocannon(settings, (error: unknown, result: autocannon.Result) => (error ? reject(error as Error) : resolve(result)));
    if (options.progress) {
      autocannon.track(instance, { renderProgressBar: true, renderResultsTable: false, renderLatencyTable: false, outputStream: process.stderr });
    }
  });
}
