// Runs the `portcullis` CLI as a child process on a config file written from config/example.yaml, and reads its
// JSON log lines, for tests of what only a real process has: signals, file watching, exit codes.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const RUNNER = fileURLToPath(new URL('./cli-runner.ts', import.meta.url));

export type LogLine = Record<string, unknown>;

export interface CliProcess {
  child: ChildProcess;
  url: string;
  port: number;
  /** Every JSON log line printed on stdout so far. */
  logs(): LogLine[];
  /** Everything printed on stderr so far (the banner, fatal errors). */
  stderr(): string;
  /** The first log line from now on, or already printed after `after` lines, that matches. */
  waitForLog(match: (line: LogLine) => boolean, options?: { timeoutMs?: number; after?: number }): Promise<LogLine>;
  signal(signal: NodeJS.Signals): void;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Ends the process if it is still running and removes its config directory. */
  kill(): void;
}

/** config/example.yaml, with both listeners on free ports, the given upstream instead of the demo backend and its database beside the config. */
export function exampleConfig(upstreamUrl: string): Record<string, unknown> {
  const config = parse(readFileSync(join(ROOT, 'config/example.yaml'), 'utf8')) as Record<string, Record<string, unknown>>;
  config['listen'] = { ...config['listen'], host: '127.0.0.1', port: 0 };
  config['admin'] = { ...config['admin'], port: 0 };
  config['upstream'] = { ...config['upstream'], url: upstreamUrl };
  // Each test's database beside its own config file (relative paths are read from there), never a shared one.
  if (config['store']?.['type'] === 'sqlite') config['store'] = { ...config['store'], path: 'portcullis.db' };
  return config;
}

/** Writes the config into a new temporary directory and returns the file's path. */
export function writeCliConfig(upstreamUrl: string, edit: (config: Record<string, unknown>) => void = () => {}): string {
  const config = exampleConfig(upstreamUrl);
  edit(config);
  const file = join(mkdtempSync(join(tmpdir(), 'portcullis-cli-')), 'portcullis.yaml');
  writeFileSync(file, stringify(config));
  return file;
}

/** Replaces the file the way editors and config-map updates do: a new file renamed over the old one. */
export function replaceConfigFile(file: string, content: Record<string, unknown> | string): void {
  const temporary = `${file}.tmp-${process.pid}`;
  writeFileSync(temporary, typeof content === 'string' ? content : stringify(content));
  renameSync(temporary, file);
}

export async function startCli(file: string, extraArgs: string[] = []): Promise<CliProcess> {
  const env = { ...process.env };
  delete env['PORTCULLIS_LOG_LEVEL'];
  delete env['PORTCULLIS_CONFIG'];
  const child = spawn(process.execPath, ['--import', 'tsx', RUNNER, '--config', file, ...extraArgs], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: LogLine[] = [];
  const listeners = new Set<() => void>();
  let stdoutRest = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    const parts = (stdoutRest + chunk).split('\n');
    stdoutRest = parts.pop() ?? '';
    for (const part of parts) {
      if (part.trim() === '') continue;
      try {
        lines.push(JSON.parse(part) as LogLine);
      } catch {
        lines.push({ msg: part, unparsed: true });
      }
    }
    for (const listener of listeners) listener();
  });
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      for (const listener of listeners) listener();
      resolve({ code, signal });
    });
  });
  let running = true;
  void exited.then(() => (running = false));
  // A test that fails half-way must not leave a proxy running.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  void exited.then(() => process.off('exit', killOnExit));

  const waitForLog: CliProcess['waitForLog'] = (match, options = {}) => {
    const timeoutMs = options.timeoutMs ?? 10_000;
    let from = options.after ?? lines.length;
    return new Promise((resolve, reject) => {
      const look = () => {
        for (; from < lines.length; from++) {
          if (match(lines[from]!)) {
            done();
            resolve(lines[from]!);
            return;
          }
        }
        if (!running) {
          done();
          reject(new Error(`the process exited before the expected log line; stderr:\n${stderr}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no matching log line within ${timeoutMs} ms; lines:\n${lines.map((l) => JSON.stringify(l)).join('\n')}\nstderr:\n${stderr}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        listeners.delete(look);
      };
      listeners.add(look);
      look();
    });
  };

  const kill = () => {
    if (running) child.kill('SIGKILL');
    rmSync(join(file, '..'), { recursive: true, force: true });
  };
  let listening: LogLine;
  try {
    listening = await waitForLog((line) => line['msg'] === 'listening', { after: 0, timeoutMs: 20_000 });
  } catch (error) {
    kill();
    throw error;
  }
  const url = String(listening['url']);
  return {
    child,
    url,
    port: Number(new URL(url).port),
    logs: () => lines,
    stderr: () => stderr,
    waitForLog,
    signal: (signal) => child.kill(signal),
    exited,
    kill,
  };
}
