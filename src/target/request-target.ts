// The request target, parsed once: the normalised path every decision is made on and that is forwarded, and the
// query string. It travels with the request through every stage, and a face that reads the path its own way
// (PCR-360's `PREFIX/KEY/REQUEST.OUTPUT`) keeps that reading here, so no stage parses the same path twice.

import { normalizeRequestTarget, type TargetRejection } from './normalize-path.js';

/** Identifies one face's reading of a path; each face makes its own key. */
export type TargetViewKey<T> = symbol & { readonly __view?: T };

export function targetViewKey<T>(description: string): TargetViewKey<T> {
  return Symbol(description) as TargetViewKey<T>;
}

export class RequestTarget {
  // Nearly every request is read by one face at most, so the first reading has a slot of its own and a map is
  // made only for a second one.
  #firstKey: symbol | null = null;
  #firstValue: unknown = undefined;
  #moreViews: Map<symbol, unknown> | null = null;

  constructor(
    /** Normalised path: what routes match, what faces read, what is forwarded. */
    readonly path: string,
    /** Query string, '' or starting with '?'. */
    readonly search: string,
    /** The target exactly as the client sent it (for masking the query in logs). */
    readonly raw: string,
  ) {}

  /** The face's reading of this path, computed on first use and kept for the rest of the request. */
  view<T>(key: TargetViewKey<T>, read: (path: string) => T): T {
    if (this.#firstKey === key) return this.#firstValue as T;
    if (this.#moreViews?.has(key)) return this.#moreViews.get(key) as T;
    const value = read(this.path);
    if (this.#firstKey === null) {
      this.#firstKey = key;
      this.#firstValue = value;
    } else {
      (this.#moreViews ??= new Map()).set(key, value);
    }
    return value;
  }
}

export type ParsedTarget = { ok: true; target: RequestTarget } | { ok: false; reason: TargetRejection };

export function parseRequestTarget(raw: string): ParsedTarget {
  const normalized = normalizeRequestTarget(raw);
  if (!normalized.ok) return normalized;
  return { ok: true, target: new RequestTarget(normalized.path, normalized.search, raw) };
}
