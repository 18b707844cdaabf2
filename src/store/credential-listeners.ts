// The listeners of credential changes, shared by every store: each is called on its own turn of the event loop
// after a change, so a listener that throws or re-reads the store never runs inside the write that caused it.

import type { CredentialChange } from './credentials.js';

export type ChangeListener = (change: CredentialChange | null) => void;

export class ChangeListeners {
  readonly #listeners = new Set<ChangeListener>();

  add(listener: ChangeListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** `change`: the write this process made; null when the change is not known in detail. */
  notify(change: CredentialChange | null = null): void {
    for (const listener of this.#listeners) {
      setImmediate(() => {
        try {
          listener(change);
        } catch {
          // A listener's failure is its own (it logs); the other listeners and the write are unaffected.
        }
      });
    }
  }
}
