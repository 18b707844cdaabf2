// The log destination: lines written during one event-loop turn leave together, in order, nothing is lost on a
// flush, and a reader that stops reading makes lines drop (counted and reported) instead of stalling requests.

import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BufferedLineSink } from '../../src/log/line-sink.js';
import { createLogger } from '../../src/log/logger.js';

const dirs: string[] = [];
function tempFile(): { path: string; fd: number } {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-sink-'));
  dirs.push(dir);
  const path = join(dir, 'out.log');
  return { path, fd: openSync(path, 'w') };
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
async function settle(sink: BufferedLineSink): Promise<void> {
  await sink.close();
}

/** A child's stdin: a non-blocking pipe whose reader (`cat`) starts reading only after `delayMs`. */
function slowReader(delayMs: number): { fd: number; output(): Promise<string>; end(): void } {
  const child = spawn('sh', ['-c', `sleep ${delayMs / 1000}; exec cat`], { stdio: ['pipe', 'pipe', 'inherit'] });
  const chunks: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const fd = (child.stdin as unknown as { _handle: { fd: number } })._handle.fd;
  return {
    fd,
    end: () => child.stdin.end(),
    output: async () => {
      await exited;
      return Buffer.concat(chunks).toString('utf8');
    },
  };
}

describe('BufferedLineSink', () => {
  it('writes every line, in order, once the batch time is over', async () => {
    const { path, fd } = tempFile();
    const sink = new BufferedLineSink({ fd, batchMs: 5 });
    for (let i = 0; i < 1000; i++) sink.write(`{"n":${i}}\n`);
    expect(readFileSync(path, 'utf8')).toBe('');
    await pause(50);
    expect(readFileSync(path, 'utf8').trimEnd().split('\n')).toHaveLength(1000);
    for (let i = 1000; i < 2000; i++) sink.write(`{"n":${i}}\n`);
    await settle(sink);
    closeSync(fd);
    const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(2000);
    expect(lines.map((line) => (JSON.parse(line) as { n: number }).n)).toEqual(Array.from({ length: 2000 }, (_, i) => i));
  });

  it('keeps multi-byte text intact', async () => {
    const { path, fd } = tempFile();
    const sink = new BufferedLineSink({ fd });
    sink.write('{"msg":"Zürich — 東京"}\n');
    await settle(sink);
    closeSync(fd);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({ msg: 'Zürich — 東京' });
  });

  it('drops lines past its bound rather than growing, and says how many it dropped', async () => {
    const { path, fd } = tempFile();
    const sink = new BufferedLineSink({ fd, maxBufferedBytes: 100 });
    const line = `{"pad":"${'x'.repeat(30)}"}\n`;
    const accepted = Array.from({ length: 10 }, () => sink.write(line)).filter(Boolean).length;
    expect(accepted).toBe(2);
    expect(sink.droppedTotal).toBe(8);
    await settle(sink);
    closeSync(fd);
    const lines = readFileSync(path, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(3);
    expect(lines[2]).toMatchObject({ level: 'warn', dropped: 8 });
  });

  it('writes a large batch at once, without waiting', async () => {
    const { path, fd } = tempFile();
    const sink = new BufferedLineSink({ fd, batchMs: 60_000 });
    const line = `{"pad":"${'x'.repeat(1000)}"}\n`;
    for (let i = 0; i < 100; i++) sink.write(line);
    expect(readFileSync(path, 'utf8').length).toBeGreaterThanOrEqual(64 * 1024);
    await sink.close();
    closeSync(fd);
    expect(readFileSync(path, 'utf8')).toBe(line.repeat(100));
  });

  it('waits for a full pipe instead of blocking or losing lines, then writes them in order', async () => {
    const reader = slowReader(300);
    const sink = new BufferedLineSink({ fd: reader.fd, batchMs: 1 });
    const line = `{"pad":"${'y'.repeat(200)}"}\n`;
    // Far more than a pipe holds (64 KiB) while nobody reads: write() must return at once every time.
    const started = Date.now();
    for (let i = 0; i < 2000; i++) expect(sink.write(line)).toBe(true);
    expect(Date.now() - started).toBeLessThan(250);
    await sink.close();
    reader.end();
    expect(sink.droppedTotal).toBe(0);
    expect(await reader.output()).toBe(line.repeat(2000));
  });

  it('takes nothing after it is closed', async () => {
    const { path, fd } = tempFile();
    const sink = new BufferedLineSink({ fd });
    sink.write('{"n":1}\n');
    await settle(sink);
    expect(sink.write('{"n":2}\n')).toBe(false);
    closeSync(fd);
    expect(readFileSync(path, 'utf8')).toBe('{"n":1}\n');
  });

  it('carries pino lines, and flush() writes them before its callback', async () => {
    const { path, fd } = tempFile();
    const sink = new BufferedLineSink({ fd });
    const logger = createLogger({ level: 'info', destination: sink as unknown as NodeJS.WritableStream });
    logger.info({ password: 'hunter2', user: 'u' }, 'hello');
    await new Promise<void>((resolve) => logger.flush(() => resolve()));
    const line = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    expect(line).toMatchObject({ level: 'info', msg: 'hello', service: 'portcullis', password: '[redacted]', user: 'u' });
    await settle(sink);
    closeSync(fd);
  });
});
