// What one request's trace records: a server span for the request (own endpoints included), an authenticate
// span around the decision, store calls as children of whichever of the two is active, and a client span for
// the upstream call whose context is what the upstream receives as its traceparent. Attribute values are route
// ids, reason ids, authenticator names, statuses and the path as the request log masks it: never a credential.

import { AsyncLocalStorage } from 'node:async_hooks';
import type { IncomingMessage } from 'node:http';
import { defaultTextMapGetter, defaultTextMapSetter, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Span, type Tracer } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { ATTR_HTTP_REQUEST_METHOD, ATTR_HTTP_RESPONSE_STATUS_CODE, ATTR_HTTP_ROUTE, ATTR_URL_PATH } from '@opentelemetry/semantic-conventions';
import type { TracingConfig } from '../config/schema/tracing.js';
import type { ForwardResult } from '../forward/forwarder.js';
import type { Decision } from '../pipeline/decide.js';
import type { RequestTrace, RequestTracer } from '../pipeline/handle-request.js';
import type { RequestRecord } from '../pipeline/request-record.js';
import type { Runtime } from '../pipeline/runtime.js';
import type { StoreObserver, StoreOperation } from '../store/instrumented.js';

export const ATTR_OUTCOME = 'portcullis.outcome';
export const ATTR_REASON = 'portcullis.reason';
export const ATTR_AUTHENTICATOR = 'portcullis.authenticator';
export const ATTR_STORE_OPERATION = 'portcullis.store.operation';

type TrustRule = TracingConfig['trustIncomingTraceparent'];

const propagator = new W3CTraceContextPropagator();

/** The request tracer and the store observer of one tracer: they share the context of the request being served. */
export class RequestTracing implements RequestTracer {
  /** The active span's context while a request's stages run, so store calls know their parent. */
  readonly #active = new AsyncLocalStorage<Context>();

  constructor(
    private readonly tracer: Tracer,
    private readonly trust: TrustRule,
  ) {}

  start(req: IncomingMessage, runtime: Runtime): RequestTrace {
    const parent = this.#continues(req, runtime) ? propagator.extract(ROOT_CONTEXT, req.headers, defaultTextMapGetter) : ROOT_CONTEXT;
    const method = req.method ?? 'GET';
    const span = this.tracer.startSpan(method, { kind: SpanKind.SERVER, attributes: { [ATTR_HTTP_REQUEST_METHOD]: method } }, parent);
    return new TracedRequest(this.tracer, this.#active, trace.setSpan(parent, span), span);
  }

  #continues(req: IncomingMessage, runtime: Runtime): boolean {
    if (req.headers.traceparent === undefined || this.trust === 'never') return false;
    return this.trust === 'always' || runtime.isTrustedPeer(req.socket.remoteAddress ?? '');
  }

  /** Store operations as spans under the request that made them; operations outside any request are not traced. */
  readonly store: StoreObserver = {
    storeOperation: (operation: StoreOperation, seconds: number, failed: boolean): void => {
      const parent = this.#active.getStore();
      if (parent === undefined) return;
      const now = performance.now();
      const span = this.tracer.startSpan(
        `store ${operation}`,
        { kind: SpanKind.CLIENT, startTime: now - seconds * 1000, attributes: { [ATTR_STORE_OPERATION]: operation } },
        parent,
      );
      if (failed) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end(now);
    },
    revocationReceived(): void {},
  };
}

class TracedRequest implements RequestTrace {
  constructor(
    private readonly tracer: Tracer,
    private readonly active: AsyncLocalStorage<Context>,
    private readonly context: Context,
    private readonly span: Span,
  ) {}

  run(stages: () => void): void {
    this.active.run(this.context, stages);
  }

  decide(record: RequestRecord, decision: () => Decision | Promise<Decision>): Decision | Promise<Decision> {
    const span = this.tracer.startSpan('authenticate', { kind: SpanKind.INTERNAL }, this.context);
    let result: Decision | Promise<Decision>;
    try {
      result = this.active.run(trace.setSpan(this.context, span), decision);
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
      throw error;
    }
    if (!(result instanceof Promise)) {
      endDecision(span, record, result);
      return result;
    }
    return result.then(
      (settled) => {
        endDecision(span, record, settled);
        return settled;
      },
      (error: unknown) => {
        if (record.routeId !== null) span.setAttribute(ATTR_HTTP_ROUTE, record.routeId);
        span.setStatus({ code: SpanStatusCode.ERROR });
        span.end();
        throw error;
      },
    );
  }

  upstream(headers: Record<string, string | string[]>): (result: ForwardResult) => void {
    const span = this.tracer.startSpan('upstream', { kind: SpanKind.CLIENT }, this.context);
    // The client's own trace headers never reach the upstream: it sees the proxy's span, in a trace that is the
    // client's only when the client's context was trusted.
    delete headers['traceparent'];
    delete headers['tracestate'];
    propagator.inject(trace.setSpan(this.context, span), headers, defaultTextMapSetter);
    return (result) => {
      if (result.upstreamStatus !== null) span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, result.upstreamStatus);
      if (result.failure !== null) {
        span.setAttribute(ATTR_REASON, result.failure);
        if (result.failure !== 'client_aborted') span.setStatus({ code: SpanStatusCode.ERROR });
      }
      span.end();
    };
  }

  end(record: RequestRecord): void {
    const span = this.span;
    if (record.routeId !== null) {
      span.updateName(`${record.method} ${record.routeId}`);
      span.setAttribute(ATTR_HTTP_ROUTE, record.routeId);
    }
    // The path as the request log writes it: credentials the faces find in it masked, no query string.
    if (record.target !== null) span.setAttribute(ATTR_URL_PATH, record.maskPath(record.target));
    span.setAttribute(ATTR_OUTCOME, record.outcome);
    if (record.reason !== null) span.setAttribute(ATTR_REASON, record.reason);
    if (record.authMethod !== null) span.setAttribute(ATTR_AUTHENTICATOR, record.authMethod);
    span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, record.status);
    if (record.outcome === 'error') span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
  }
}

function endDecision(span: Span, record: RequestRecord, decision: Decision): void {
  if (record.routeId !== null) span.setAttribute(ATTR_HTTP_ROUTE, record.routeId);
  if (decision.kind === 'denial') {
    span.setAttribute(ATTR_OUTCOME, 'denied');
    span.setAttribute(ATTR_REASON, decision.reason);
  } else {
    span.setAttribute(ATTR_OUTCOME, 'pass');
    span.setAttribute(ATTR_AUTHENTICATOR, decision.attribution === null ? 'public' : decision.attribution.identity.method);
  }
  span.end();
}
