// OpenTelemetry traces over OTLP/HTTP (JSON), built only when `tracing.enabled`: with tracing off there is no
// tracer, no context storage and no exporter, and the pipeline is handed null. Spans leave in batches; a failed
// export drops its batch, never touches a request, and is logged at most once a minute with how many failed.

import type { Tracer } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  type ReadableSpan,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import type { TracingConfig } from '../config/schema/tracing.js';
import type { Logger } from '../log/logger.js';
import type { StoreObserver } from '../store/instrumented.js';
import { RequestTracing } from './tracing-request.js';

const FAILURE_LOG_INTERVAL_MS = 60_000;
const EXPORT_TIMEOUT_MS = 10_000;
const SHUTDOWN_TIMEOUT_MS = 5000;

export interface TracingOptions {
  logger: Logger;
  /** Where the collector's header values are read from. */
  env: NodeJS.ProcessEnv;
  /** How long spans wait before they are sent in one batch (tests and the benchmark shorten it). */
  scheduledDelayMs?: number;
}

export interface Tracing {
  readonly requests: RequestTracing;
  readonly store: StoreObserver;
  /** Exports what has been recorded so far. */
  flush(): Promise<void>;
  /** Exports what is left and stops, giving up after `timeoutMs` (closing the proxy waits this long at most). */
  shutdown(timeoutMs?: number): Promise<void>;
  /** Exports that failed since the start. */
  readonly exportFailures: number;
}

/** The collector's headers, each from its environment variable; a missing one stops the start with its name. */
export function collectorHeaders(config: TracingConfig, env: NodeJS.ProcessEnv): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, source] of Object.entries(config.headers)) {
    const value = env[source.env];
    if (value === undefined || value === '') throw new Error(`tracing.headers.${name}: environment variable ${source.env} is not set`);
    headers[name] = value;
  }
  return headers;
}

/** Passes every batch on, and tells `failed` about the ones the collector did not take. */
class ReportingExporter implements SpanExporter {
  constructor(
    private readonly inner: SpanExporter,
    private readonly failed: (error: Error | undefined) => void,
  ) {}

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.inner.export(spans, (result) => {
      if (result.code !== ExportResultCode.SUCCESS) this.failed(result.error);
      done(result);
    });
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}

/** The running tracer, or null when the section is off. */
export function startTracing(config: TracingConfig, options: TracingOptions): Tracing | null {
  if (!config.enabled || config.endpoint === undefined) return null;
  const { logger } = options;
  let failures = 0;
  let unlogged = 0;
  let lastLogged = -Infinity;
  const failed = (error: Error | undefined): void => {
    failures++;
    unlogged++;
    const now = performance.now();
    if (now - lastLogged < FAILURE_LOG_INTERVAL_MS) return;
    lastLogged = now;
    logger.warn({ err: error?.message ?? 'unknown', failedExports: unlogged, endpoint: new URL(config.endpoint!).origin }, 'trace export failed; its spans are dropped (logged at most once a minute)');
    unlogged = 0;
  };
  const exporter = new ReportingExporter(
    new OTLPTraceExporter({ url: config.endpoint, headers: collectorHeaders(config, options.env), timeoutMillis: EXPORT_TIMEOUT_MS }),
    failed,
  );
  const processor = new BatchSpanProcessor(exporter, {
    scheduledDelayMillis: options.scheduledDelayMs ?? 5000,
    exportTimeoutMillis: EXPORT_TIMEOUT_MS,
    maxQueueSize: 8192,
    maxExportBatchSize: 512,
  });
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: config.serviceName }),
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(config.sampleRatio) }),
    spanProcessors: [processor],
  });
  const tracer: Tracer = provider.getTracer('portcullis');
  const requests = new RequestTracing(tracer, config.trustIncomingTraceparent);
  let stopped: Promise<void> | null = null;
  return {
    requests,
    store: requests.store,
    // A failed export is already counted and logged by the exporter; flushing itself never throws.
    flush: () => provider.forceFlush().catch(() => {}),
    shutdown(timeoutMs = SHUTDOWN_TIMEOUT_MS) {
      stopped ??= (async () => {
        let timer: NodeJS.Timeout | undefined;
        const deadline = new Promise<void>((resolve) => {
          timer = setTimeout(resolve, timeoutMs);
          timer.unref();
        });
        await Promise.race([provider.shutdown().catch((error: unknown) => failed(error as Error)), deadline]);
        clearTimeout(timer);
      })();
      return stopped;
    },
    get exportFailures() {
      return failures;
    },
  };
}
