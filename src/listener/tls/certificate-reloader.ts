// Certificate rotation without a restart. The folders holding a listener's PEM files are watched (so an atomic
// rename by cert-manager, certbot or a Kubernetes secret update is seen, not only writes in place), events are
// debounced and the files' content compared, and a changed pair goes through the same checks as at start before
// `setSecureContext` makes new connections use it; connections already open keep the pair they shook hands with.
// A pair that fails the checks is kept out: the previous one stays served, with one error line and a metric.

import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Server as TlsServer } from 'node:tls';
import type { ListenerTlsConfig } from '../../config/schema/tls.js';
import type { Logger } from '../../log/logger.js';
import { CertificateError, loadServedCertificate, tlsContentHash, type ServedCertificate } from './served-certificate.js';

export type TlsListenerName = 'public' | 'admin';

/** What observers (metrics) hear: the certificate served at start, and each rotation applied or refused. */
export interface CertificateEvent {
  listener: TlsListenerName;
  outcome: 'loaded' | 'applied' | 'failed';
  /** Expiry of the certificate served after the event (the previous one when the rotation failed), ms since the epoch. */
  notAfter: number;
}

export interface CertificateReloaderOptions {
  logger: Logger;
  env?: NodeJS.ProcessEnv;
  report?: (event: CertificateEvent) => void;
  /** Editors and secret updates touch several files per change: one check after they settle. */
  debounceMs?: number;
}

const DEBOUNCE_MS = 200;
/** The entry a Kubernetes secret volume swaps atomically; the files in it are symlinks through it. */
const KUBERNETES_DATA_LINK = '..data';

export class CertificateReloader {
  readonly #listener: TlsListenerName;
  readonly #server: TlsServer;
  readonly #options: CertificateReloaderOptions;
  #tls: ListenerTlsConfig;
  #served: ServedCertificate;
  /** The content last tried, served or refused: a file event with the same content is no news. */
  #lastTried: string;
  #watchers: FSWatcher[] = [];
  #timer: NodeJS.Timeout | null = null;
  #stopped = false;

  constructor(listener: TlsListenerName, server: TlsServer, tls: ListenerTlsConfig, served: ServedCertificate, options: CertificateReloaderOptions) {
    this.#listener = listener;
    this.#server = server;
    this.#tls = tls;
    this.#served = served;
    this.#lastTried = served.contentHash;
    this.#options = options;
    this.#watch();
    options.report?.({ listener, outcome: 'loaded', notAfter: served.notAfter });
  }

  /** The certificate new connections get. */
  get served(): ServedCertificate {
    return this.#served;
  }

  /**
   * A config reload (SIGHUP or the config file changed): the section as it is now, and the files read again. The
   * new settings (minVersion, ciphers, other files) apply even when the files' content did not change.
   */
  reload(tls: ListenerTlsConfig): 'applied' | 'failed' | 'unchanged' {
    const settingsChanged = JSON.stringify(settingsOf(tls)) !== JSON.stringify(settingsOf(this.#tls));
    const filesMoved = watchedFiles(tls).join('\0') !== watchedFiles(this.#tls).join('\0');
    this.#tls = tls;
    if (filesMoved) this.#watch();
    const hash = tlsContentHash(tls, this.#env());
    if (!settingsChanged && hash !== null && hash === this.#served.contentHash) return 'unchanged';
    return this.#apply('reload');
  }

  close(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    for (const watcher of this.#watchers) watcher.close();
    this.#watchers = [];
  }

  #env(): NodeJS.ProcessEnv {
    return this.#options.env ?? process.env;
  }

  #watch(): void {
    for (const watcher of this.#watchers) watcher.close();
    this.#watchers = [];
    const byFolder = new Map<string, Set<string>>();
    for (const file of watchedFiles(this.#tls)) {
      const names = byFolder.get(dirname(file)) ?? new Set([KUBERNETES_DATA_LINK]);
      names.add(basename(file));
      byFolder.set(dirname(file), names);
    }
    for (const [folder, names] of byFolder) {
      try {
        const watcher = watch(folder, { persistent: false }, (_event, name) => {
          if (name === null || names.has(name.toString())) this.#schedule();
        });
        watcher.on('error', () => watcher.close());
        this.#watchers.push(watcher);
      } catch (error) {
        // SIGHUP still rotates; say once that file changes will not.
        this.#options.logger.warn({ listener: this.#listener, folder, err: (error as Error).message }, 'cannot watch the TLS files\' folder; rotate the certificate with SIGHUP');
      }
    }
  }

  #schedule(): void {
    if (this.#stopped) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      if (this.#stopped) return;
      const hash = tlsContentHash(this.#tls, this.#env()) ?? 'unreadable';
      if (hash === this.#lastTried) return;
      // The files put back as they are served (after a broken attempt, say): nothing to rotate.
      if (hash === this.#served.contentHash) {
        this.#lastTried = hash;
        return;
      }
      this.#apply('file');
    }, this.#options.debounceMs ?? DEBOUNCE_MS);
    this.#timer.unref();
  }

  #apply(cause: 'file' | 'reload'): 'applied' | 'failed' {
    const { logger, report } = this.#options;
    const listener = this.#listener;
    let next: ServedCertificate;
    try {
      next = loadServedCertificate(this.#tls, this.#env());
    } catch (error) {
      this.#lastTried = tlsContentHash(this.#tls, this.#env()) ?? 'unreadable';
      if (!(error instanceof CertificateError)) throw error;
      logger.error(
        { listener, cause, problem: error.message, servedFingerprint: this.#served.fingerprint },
        'TLS certificate not rotated: the new files cannot be served; still serving the previous certificate',
      );
      report?.({ listener, outcome: 'failed', notAfter: this.#served.notAfter });
      return 'failed';
    }
    this.#lastTried = next.contentHash;
    this.#server.setSecureContext(next.options);
    this.#served = next;
    logger.info({ listener, cause, fingerprint: next.fingerprint, notAfter: new Date(next.notAfter).toISOString() }, 'TLS certificate rotated');
    report?.({ listener, outcome: 'applied', notAfter: next.notAfter });
    return 'applied';
  }
}

function watchedFiles(tls: ListenerTlsConfig): string[] {
  const files = [tls.certFile, tls.keyFile, tls.caFile, tls.passphrase !== undefined && 'file' in tls.passphrase ? tls.passphrase.file : undefined];
  return files.filter((file): file is string => file !== undefined);
}

/** The settings a secure context is built from besides the files. */
function settingsOf(tls: ListenerTlsConfig): unknown[] {
  return [tls.minVersion, tls.ciphers ?? null, watchedFiles(tls)];
}
