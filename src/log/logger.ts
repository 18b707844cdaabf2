// Structured JSON logs (pino). Credentials never reach a log line: every field that can carry one is redacted
// here, and request lines are built from already-masked values by their callers.

import { pino, type Logger, type LevelWithSilent } from 'pino';
import { sharedLineSink } from './line-sink.js';

export type { Logger };

const REDACTED_PATHS = [
  'authorization',
  'password',
  'secret',
  'client_secret',
  'refresh_token',
  'access_token',
  'token',
  '*.authorization',
  '*.password',
  '*.secret',
  '*.client_secret',
  '*.refresh_token',
  '*.access_token',
  '*.token',
  'headers.authorization',
  'headers["pcr-auth-token"]',
  'headers["pcr-auth-password"]',
  'headers["pcr-auth-username"]',
  'headers.cookie',
  'headers["proxy-authorization"]',
  // The same headers one level down (a request or an error carrying them) and the camel-case field names.
  '*.headers.authorization',
  '*.headers["proxy-authorization"]',
  '*.headers["pcr-auth-token"]',
  '*.headers["pcr-auth-password"]',
  '*.headers["pcr-auth-username"]',
  '*.headers.cookie',
  'apiKey',
  'accessToken',
  'refreshToken',
  'clientSecret',
];

export function createLogger(options: { level?: LevelWithSilent; destination?: NodeJS.WritableStream } = {}): Logger {
  const level = options.level ?? ((process.env['PORTCULLIS_LOG_LEVEL'] as LevelWithSilent | undefined) ?? 'info');
  return pino(
    {
      level,
      base: { service: 'portcullis' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    (options.destination ?? sharedLineSink(1)) as pino.DestinationStream,
  );
}

/** A logger that writes nothing, for tests and tools that do not care. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
