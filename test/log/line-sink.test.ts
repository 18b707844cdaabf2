// The log destination: lines written during one event-loop turn leave together, in order, nothing is lost on a
// flush, and a reader that stops reading makes lines drop (counted and reported) instead of stalling requests.

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

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
async function settle(sink: BufferedLineSink): Promise<void> {
  await sink.close();
}

describe('BufferedLineSink', () => {
  it('writes every line, in order, after the turn that wrote them', async () => {
    const { path, fd } = tempFile();
    const sink = new BufferedLineSink({ fd });
    for (let i = 0; i < 1000; i++) sink.write(`{"n":${i}}\n`);
    expect(readFileSync(path, 'utf8')).toBe('');
    await turn();
    await turn();
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
