// /proc readings of a process together with all its descendants: with `workers: N` the proxy is the cluster
// primary plus its workers, and its CPU time and memory are the sum over all of them. For a single process
// (the proxy child, haproxy) the tree is the process alone.

import { readdirSync, readFileSync } from 'node:fs';
import { readProcess, type ProcessReading } from '../src/cli/loadtest.js';

function childrenFromTasks(pid: number): number[] | null {
  try {
    const children: number[] = [];
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      const text = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
      if (text) children.push(...text.split(/\s+/).map(Number));
    }
    return children;
  } catch {
    return null;
  }
}

/** Without /proc/<pid>/task/<tid>/children (a kernel option): every process whose parent is `pid`. */
function childrenFromScan(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) children.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return children;
}

/** `pid` and its descendants. */
export function processTree(pid: number): number[] {
  const all = [pid];
  for (let i = 0; i < all.length; i++) {
    const children = childrenFromTasks(all[i]!) ?? childrenFromScan(all[i]!);
    for (const child of children) if (!all.includes(child)) all.push(child);
  }
  return all;
}

export interface TreeReading extends ProcessReading {
  processes: number;
}

/** CPU time and RSS summed over the tree; null when the root is gone (or there is no /proc). */
export function readTree(pid: number): TreeReading | null {
  const root = readProcess(pid);
  if (root === null) return null;
  const reading = { ...root, processes: 1 };
  for (const other of processTree(pid).slice(1)) {
    const one = readProcess(other);
    if (one === null) continue;
    reading.cpuSeconds += one.cpuSeconds;
    reading.rssBytes += one.rssBytes;
    reading.processes++;
  }
  return reading;
}

/** Samples the tree's summed RSS until stopped; keeps the peak. */
export function watchTreeRss(pid: number, intervalMs = 200): { stop(): number | null } {
  let peak = readTree(pid)?.rssBytes ?? 0;
  const sample = () => {
    const reading = readTree(pid);
    if (reading && reading.rssBytes > peak) peak = reading.rssBytes;
  };
  const timer = setInterval(sample, intervalMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      sample();
      return peak || null;
    },
  };
}
