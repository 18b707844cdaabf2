// The memory scenario: a pool of distinct tokens (a million by default) sent once each through a proxy with a
// small verified-token cache, with the proxy's RSS sampled as the tokens go through and its retained heap read
// after a full collection once the cache has filled and again at the end.

import type { ScenarioResult } from '../src/cli/loadtest.js';
import type { ProxyChild } from './harness.js';
import type { Measurer } from './measure.js';
import { readTree } from './process-tree.js';
import type { Load, Scenario } from './scenarios.js';

/** What src/tokens/verified-cache.ts counts per entry: an average token of 768 bytes plus 256 of overhead. */
export const CACHE_BYTES_PER_ENTRY = 768 + 256;
/** Room above the cache's byte bound for everything else the process grows by under load. */
export const RSS_MARGIN_MIB = 64;
/** Margin for the retained heap: at the end against just after the cache filled. */
const HEAP_MARGIN_MIB = 16;
const MIB = 1048576;

export interface CurvePoint {
  tokens: number;
  rssMiB: number;
}

export interface Retained {
  tokens: number;
  heapMiB: number;
  rssMiB: number;
}

export interface MemoryResult {
  row: ScenarioResult;
  curve: CurvePoint[];
  retained: Retained[];
  /** RSS before the first token, the peak while they went through, and the cache's byte bound, in MiB. */
  rssBeforeMiB: number;
  rssPeakMiB: number;
  cacheBoundMiB: number;
  seconds: number;
}

export async function runMemory(child: ProxyChild, scenario: Scenario, load: Load, m: Measurer, profile: string | null): Promise<MemoryResult> {
  const cacheSize = scenario.cacheSize ?? 0;
  const points: CurvePoint[] = [];
  const sample = () => {
    const reading = readTree(child.pid);
    if (reading) points.push({ tokens: load.progress?.() ?? 0, rssMiB: reading.rssBytes / MIB });
  };
  // Retained heap after a full collection, once when the cache has just filled and once at the end: the cache
  // bound is about what the process keeps, while RSS also holds garbage not yet collected.
  const retained: Retained[] = [];
  const collect = async () => {
    const tokens = load.progress?.() ?? 0;
    const { heapUsed, rss } = await child.collect();
    retained.push({ tokens, heapMiB: heapUsed / MIB, rssMiB: rss / MIB });
  };
  sample();
  let collecting: Promise<void> | null = null;
  const timer = setInterval(() => {
    sample();
    if (collecting === null && (load.progress?.() ?? 0) >= cacheSize * 1.5) collecting = collect();
  }, 500);
  // Bounded by the pool; the time bound only guards against a proxy that stopped answering.
  const limit = Math.max(300, (load.amount ?? 0) / 500);
  const started = Date.now();
  if (profile !== null) await child.startProfile();
  const row = await m.measured(child.pid, scenario.name, null, () => m.cannon(child.url, load, limit, load.amount));
  const seconds = (Date.now() - started) / 1000;
  if (profile !== null) await child.stopProfile(profile);
  clearInterval(timer);
  await collecting;
  sample();
  await collect();
  const rssBeforeMiB = points[0]?.rssMiB ?? 0;
  const rssPeakMiB = Math.max(...points.map((p) => p.rssMiB), (row.rssBytes ?? 0) / MIB);
  const verdict = memoryVerdict(points, retained, cacheSize);
  row.note = row.note ? `${verdict}; ${row.note}` : verdict;
  return { row, curve: points, retained, rssBeforeMiB, rssPeakMiB, cacheBoundMiB: (cacheSize * CACHE_BYTES_PER_ENTRY) / MIB, seconds };
}

/**
 * Once the verified-token cache is full, more distinct tokens must not make the process keep more memory: the
 * heap retained after a full collection at the end is within a fixed margin of the one retained just after the
 * cache filled. RSS is reported beside it (it also counts garbage V8 has not collected yet, so it peaks higher).
 */
function memoryVerdict(points: CurvePoint[], retained: Retained[], cacheSize: number): string {
  const first = retained[0];
  const last = retained[retained.length - 1];
  const end = points[points.length - 1];
  if (!first || !last || !end || retained.length < 2) return 'too few tokens went through to fill the cache';
  const peak = Math.max(...points.map((p) => p.rssMiB));
  const growth = last.heapMiB - first.heapMiB;
  const verdict = growth <= HEAP_MARGIN_MIB ? 'bounded' : 'NOT BOUNDED';
  // RSS levels off rather than tracking the token count: the second half of the run peaks no higher than the first.
  const half = (first.tokens + last.tokens) / 2;
  const firstHalf = Math.max(0, ...points.filter((p) => p.tokens >= first.tokens && p.tokens < half).map((p) => p.rssMiB));
  const secondHalf = Math.max(0, ...points.filter((p) => p.tokens >= half).map((p) => p.rssMiB));
  const rssTrend = secondHalf <= firstHalf + HEAP_MARGIN_MIB ? 'RSS levelled off' : 'RSS STILL GROWING';
  return (
    `${last.tokens} distinct tokens, cacheSize ${cacheSize}: heap retained ${first.heapMiB.toFixed(0)} MiB after ${first.tokens} tokens, ` +
    `${last.heapMiB.toFixed(0)} MiB at the end (${growth >= 0 ? '+' : ''}${growth.toFixed(1)} MiB): ${verdict} (margin ${HEAP_MARGIN_MIB} MiB); ` +
    `RSS ${points[0]!.rssMiB.toFixed(0)} MiB at start, peak ${firstHalf.toFixed(0)} in the first half and ${secondHalf.toFixed(0)} in the second: ${rssTrend}, ` +
    `${last.rssMiB.toFixed(0)} after the final collection (overall peak ${peak.toFixed(0)})`
  );
}
