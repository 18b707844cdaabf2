import autocannon from 'autocannon';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { readProcess } from '../src/cli/loadtest.js';
import { startBenchUpstream } from './upstream.js';
import { benchConfig } from './scenarios.js';
import { generateSigningKey } from '../src/tokens/keyring.js';
const up = await startBenchUpstream();
const pem = generateSigningKey('RS256', 'bench-key-1').privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
const h = 'scrypt$N=16384,r=8,p=1$qXLYTKKpQFCD5Kz_AV-CXQ$5eU55Yu0BOyhsWr5oOwDFgj2jty02fN_CB1aHjjRelU';
const config = benchConfig({ upstreamUrl: up.url, engine: 'undici', requestLog: process.argv[2] === 'log', alg: 'RS256', hashes: { client: h, operator: h, apiUser: h }, redisUrl: null, cacheSize: null });
writeFileSync('/tmp/ab-child.mjs', `import { resolveConfig } from '/work/main/dist/config/load.js'; import { Portcullis } from '/work/main/dist/server.js';
const c = await resolveConfig(JSON.parse(process.env.BENCH_CONFIG), { env: process.env }); const p = await Portcullis.start({ config: c }); process.send({ cmd: 'ready', url: p.url, pid: process.pid });`);
for (const mode of ['dist', 'tsx', 'dist', 'tsx']) {
  const args = mode === 'dist' ? ['-c', '0', process.execPath, '/tmp/ab-child.mjs'] : ['-c', '0', process.execPath, '--import', 'tsx', 'bench/proxy-child.ts'];
  const child = spawn('taskset', args, { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], env: { ...process.env, BENCH_CONFIG: JSON.stringify(config), BENCH_SIGNING_KEY: pem } });
  const ready = await new Promise<any>((r) => child.on('message', (m: any) => m.cmd === 'ready' && r(m)));
  await autocannon({ url: ready.url + '/public/x', connections: 64, duration: 2 });
  const b = readProcess(ready.pid)!;
  const r = await autocannon({ url: ready.url + '/public/x', connections: 64, duration: 4 });
  const a = readProcess(ready.pid)!;
  console.log(mode, Math.round(r.requests.total / r.duration), 'rps', ((a.cpuSeconds - b.cpuSeconds) * 1e6 / r.requests.total).toFixed(1), 'µs/req');
  child.kill();
}
await up.close();
