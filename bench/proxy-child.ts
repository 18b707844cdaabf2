// One Portcullis for one benchmark scenario, in a process of its own so that its CPU time and memory can be read
// from /proc and its core pinned apart from the load generator. The parent hands over the config as JSON (and the
// signing key through the environment, the way operators do) and learns the URL over IPC.
//
// Profiling is windowed: the parent says "profile-start" right before the measured run and "profile-stop" right
// after, so the profile shows the hot path only, not module loading and transpiling at startup (which a whole-life
// `--cpu-prof` profile is dominated by).

import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { pathToFileURL } from 'node:url';

// The compiled build when the parent made one: tsx keeps function names by wrapping every closure it creates in
// a defineProperty call, which costs the request path several microseconds that the shipped code does not pay.
const build = process.env['BENCH_BUILD_DIR'];
const from = (path: string) => (build ? pathToFileURL(`${build}/${path}.js`).href : `../src/${path}.js`);
const { resolveConfig } = (await import(from('config-loader'))) as typeof import('../src/config-loader.js');
const { Portcullis } = (await import(from('portcullis'))) as typeof import('../src/portcullis.js');

const raw = JSON.parse(process.env['BENCH_CONFIG'] ?? '{}') as Record<string, unknown>;
const config = await resolveConfig(raw, { source: 'bench', env: process.env });
const proxy = await Portcullis.start({ config });
let session: Session | null = null;

function post(method: string, params: Record<string, unknown> = {}): Promise<unknown> {
  return new Promise((resolve, reject) => session!.post(method, params, (error, result) => (error ? reject(error) : resolve(result))));
}

process.on('message', (message: { cmd: string; file?: string }) => {
  if (message.cmd === 'profile-start') {
    session = new Session();
    session.connect();
    void post('Profiler.enable')
      .then(() => post('Profiler.setSamplingInterval', { interval: 200 }))
      .then(() => post('Profiler.start'))
      .then(() => process.send?.({ cmd: 'profile-started' }));
  } else if (message.cmd === 'profile-stop' && session !== null) {
    void post('Profiler.stop').then((result) => {
      writeFileSync(message.file!, JSON.stringify((result as { profile: unknown }).profile));
      session?.disconnect();
      session = null;
      process.send?.({ cmd: 'profile-stopped' });
    });
  } else if (message.cmd === 'gc') {
    // Memory the process holds on to, as opposed to garbage V8 has not collected yet (which RSS also counts).
    (globalThis as { gc?: () => void }).gc?.();
    const usage = process.memoryUsage();
    process.send?.({ cmd: 'gc-done', heapUsed: usage.heapUsed, rss: usage.rss });
  } else if (message.cmd === 'stop') {
    void proxy.close(1000).then(() => process.exit(0));
  }
});
// The parent going away (Ctrl-C, a crash) must not leave a proxy behind.
process.on('disconnect', () => process.exit(0));
process.send?.({ cmd: 'ready', url: proxy.url, pid: process.pid });
