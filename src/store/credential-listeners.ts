// The listeners of credential changes, shared by every store: each is called on its own turn of the event loop
// after a change, so a listener that throws or re-reads the store never runs inside the write that caused it.

export class ChangeListeners {
  readonly #listeners = new Set<() => void>();

  add(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  notify(): void {
    for (const listener of this.#listeners) {
      setImmediate(() => {
        try {
          listener();
        } catch {
          // A listener's failure is its own (it logs); the other listeners and the write are unaffected.
        }
      });
    }
  }
}
