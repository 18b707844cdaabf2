// Reloads the config on SIGHUP and when the file changes (debounced, and only when its content changed, since
// editors and config-map updates touch files several times per save). A config that fails validation is
// reported with every problem and the running one stays.

import { createHash } from 'node:crypto';
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { ConfigError, type ConfigOverrides } from '../config/load.js';
import { loadConfigFile } from '../config-loader.js';
import type { Portcullis } from '../portcullis.js';
import { KeyRingError } from '../tokens/keyring.js';

const DEBOUNCE_MS = 300;

function contentHash(file: string): string | null {
  try {
    return createHash('sha256').update(readFileSync(file)).digest('hex');
  } catch {
    return null;
  }
}

export function watchConfig(proxy: Portcullis, file: string, overrides: ConfigOverrides): () => void {
  let lastHash = contentHash(file);
  let running: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;

  const reload = (reason: 'signal' | 'file') => {
    running = running.then(async () => {
      // A reload queued behind another one must not touch a proxy that is shutting down meanwhile.
      if (stopped) return;
      const hash = contentHash(file);
      if (reason === 'file' && (hash === null || hash === lastHash)) return;
      lastHash = hash;
      try {
        const config = await loadConfigFile(file, overrides);
        await proxy.reload(config);
      } catch (error) {
        if (error instanceof ConfigError) proxy.reloadFailed(error.problems);
        else if (error instanceof KeyRingError) proxy.reloadFailed([`tokens.signingKeys: ${error.message}`]);
        else proxy.reloadFailed([`unexpected error: ${(error as Error).message}`]);
      }
    });
  };
  const onSignal = () => reload('signal');
  process.on('SIGHUP', onSignal);

  // Watching the directory too catches editors and Kubernetes config maps that replace the file by rename.
  const watchers: FSWatcher[] = [];
  const schedule = () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => reload('file'), DEBOUNCE_MS);
  };
  try {
    watchers.push(watch(dirname(file), (_event, name) => {
      if (name === null || name === basename(file) || name === '..data') schedule();
    }));
  } catch {
    // No file watching on this platform or path: SIGHUP still works.
  }
  for (const watcher of watchers) watcher.on('error', () => watcher.close());
  return () => {
    stopped = true;
    process.off('SIGHUP', onSignal);
    for (const watcher of watchers) watcher.close();
    if (timer) clearTimeout(timer);
  };
}
