// How much an administrator's change costs: creates API keys one after another through a running proxy's admin
// API and reports the time per create as the number of keys grows, then the time of one page of the grid and of
// the first proxied request after the burst (which rebuilds the runtime once). Run it against `npm start`:
//
//   node --import tsx bench/admin-writes.ts [--count 2000] [--admin http://127.0.0.1:9091] [--public http://127.0.0.1:8080]
//
// The admin token is PORTCULLIS_ADMIN_TOKEN, or the demo's. Keys are named `bench-<run>-<n>`; delete them afterwards
// or run against a throw-away store.

import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '2000' },
    admin: { type: 'string', default: 'http://127.0.0.1:9091' },
    public: { type: 'string', default: 'http://127.0.0.1:8080' },
  },
});
const count = Number(values.count);
const token = process.env['PORTCULLIS_ADMIN_TOKEN'] ?? 'demo-admin-token';
const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
const run = Date.now().toString(36);
const step = Math.max(1, Math.floor(count / 4));

let last = performance.now();
for (let i = 1; i <= count; i++) {
  const res = await fetch(`${values.admin}/admin/keys`, { method: 'POST', headers, body: JSON.stringify({ id: `bench-${run}-${i}`, read: ['servicedesk'] }) });
  if (res.status !== 201) throw new Error(`create ${i}: ${res.status} ${await res.text()}`);
  await res.arrayBuffer();
  if (i % step === 0) {
    const now = performance.now();
    console.log(`${i} keys: ${((now - last) / step).toFixed(2)} ms per create over the last ${step}`);
    last = now;
  }
}
let started = performance.now();
const page = await fetch(`${values.admin}/admin/keys?limit=50`, { headers });
const body = await page.text();
console.log(`one page of 50 keys of ${JSON.parse(body).total}: ${(performance.now() - started).toFixed(1)} ms, ${body.length} bytes`);
started = performance.now();
const proxied = await fetch(`${values.public}/`);
await proxied.arrayBuffer();
console.log(`first proxied request after the burst: ${(performance.now() - started).toFixed(1)} ms (status ${proxied.status})`);
