// Readings of a local process from /proc (Linux only; elsewhere they are simply absent), for the CPU and RSS
// columns of the load-test and benchmark results.

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let ticksPerSecond: number | null = null;

export function clockTicks(): number {
  if (ticksPerSecond === null) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

export interface ProcessReading {
  /** User plus system CPU time the process has used so far. */
  cpuSeconds: number;
  rssBytes: number;
}

export function readProcess(pid: number): ProcessReading | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may hold spaces; the fields that follow are fixed.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rss = /^VmRSS:\s+(\d+) kB/m.exec(status);
    return { cpuSeconds: ticks / clockTicks(), rssBytes: rss ? Number(rss[1]) * 1024 : 0 };
  } catch {
    return null;
  }
}

/** Samples a process's RSS until stopped; keeps the peak. */
export function watchRss(pid: number | null, intervalMs = 200): { stop(): number | null } {
  if (pid === null) return { stop: () => null };
  let peak = readProcess(pid)?.rssBytes ?? 0;
  const timer = setInterval(() => {
    const reading = readProcess(pid);
    if (reading && reading.rssBytes > peak) peak = reading.rssBytes;
  }, intervalMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      const reading = readProcess(pid);
      if (reading && reading.rssBytes > peak) peak = reading.rssBytes;
      return peak || null;
    },
  };
}
