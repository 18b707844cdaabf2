// One request, one pass: parse the target once, serve our own endpoints, match a route, decide (authenticate,
// session, authorize), rewrite the headers and forward; or, asked by a proxy in front (forward-auth), decide and
// only answer. Every decision is made on the normalised path, the one Authorization header and the method of the
// request that is forwarded. The runtime (config-derived state) is read once at the start, so a request finishes
// under the config it started with even if a reload swaps it. With tracing on, each stage also reports to the
// request's trace; with it off the tracer is null and a stage pays one test.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuthRequest } from '../authenticate/contract.js';
import type { ForwardResult } from '../forward/forwarder.js';
import { bearerDenial } from '../respond/errors.js';
import { addHsts } from '../respond/hsts.js';
import { outgoingHeaders } from '../rewrite/outgoing-headers.js';
import { StoreUnavailableError } from '../store/store.js';
import { parseRequestTarget, type RequestTarget } from '../target/request-target.js';
import { deny, fail } from './answers.js';
import { decideRequest, type Decision, type Pass } from './decide.js';
import { answerForwardAuth } from './forward-auth.js';
import type { RequestRecord } from './request-record.js';
import type { PipelineServices, Runtime } from './runtime.js';

const UNMASKED = (target: RequestTarget) => target.path;
/** Where a response keeps the record of its request until it closes. */
const RECORD = Symbol('portcullis.requestRecord');
type Recorded = ServerResponse & { [RECORD]?: RequestRecord };

/** Traces requests (OpenTelemetry); the pipeline holds null instead when tracing is off. */
export interface RequestTracer {
  /** Starts the request's server span, continuing the incoming trace context when it is trusted. */
  start(req: IncomingMessage, runtime: Runtime): RequestTrace;
}

/** One request's trace, told what each stage did. */
export interface RequestTrace {
  /** Runs the request's stages with its span active, so the store calls they make become its children. */
  run(stages: () => void): void;
  /** Runs the decision inside an authenticate span, ended once the decision is known. */
  decide(record: RequestRecord, decision: () => Decision | Promise<Decision>): Decision | Promise<Decision>;
  /** Starts the upstream call's span and writes its traceparent over whatever the client sent. */
  upstream(headers: Record<string, string | string[]>): (result: ForwardResult) => void;
  /** Ends the server span with the record's route, outcome, reason and status. */
  end(record: RequestRecord): void;
}

export function createRequestHandler(services: PipelineServices, tracer: RequestTracer | null = null) {
  // One listener function for every response (it finds its record on the response), rather than a closure and a
  // once() wrapper allocated per request.
  function finished(this: Recorded): void {
    const record = this[RECORD];
    if (record === undefined) return;
    this[RECORD] = undefined;
    record.status = this.statusCode;
    services.observer.requestFinished(record, this.req, this);
  }
  return function handleRequest(req: IncomingMessage, res: ServerResponse): void {
    const runtime = services.current();
    const record: RequestRecord = {
      startedAt: performance.now(),
      method: req.method ?? 'GET',
      routeId: null,
      ownEndpoint: false,
      outcome: 'denied',
      reason: null,
      status: 0,
      upstreamStatus: null,
      upstreamSeconds: null,
      authSeconds: null,
      authMethod: null,
      target: null,
      maskPath: UNMASKED,
    };
    (res as Recorded)[RECORD] = record;
    res.on('close', finished);
    if (tracer !== null) {
      traced(req, res, runtime, services, record, tracer.start(req, runtime));
      return;
    }
    try {
      route(req, res, runtime, services, record, null);
    } catch (error) {
      fail(res, record, 'internal_error', services, error);
    }
  };
}

function traced(req: IncomingMessage, res: ServerResponse, runtime: Runtime, services: PipelineServices, record: RequestRecord, trace: RequestTrace): void {
  // After `finished`, which writes the final status onto the record.
  res.on('close', () => trace.end(record));
  trace.run(() => {
    try {
      route(req, res, runtime, services, record, trace);
    } catch (error) {
      fail(res, record, 'internal_error', services, error);
    }
  });
}

function route(req: IncomingMessage, res: ServerResponse, runtime: Runtime, services: PipelineServices, record: RequestRecord, trace: RequestTrace | null): void {
  const raw = req.url ?? '';
  const forwardAuth = runtime.forwardAuth;
  // Asked before the target is parsed: a call appending the original target (Envoy) is judged on that target alone.
  if (forwardAuth !== null && forwardAuth.serves(raw)) {
    addHsts(req, res, runtime.hsts);
    answerForwardAuth(req, res, runtime, services, record, forwardAuth, raw);
    return;
  }
  const parsed = parseRequestTarget(raw);
  if (!parsed.ok) {
    deny(res, record, bearerDenial(parsed.reason));
    return;
  }
  const target = parsed.target;
  record.target = target;
  record.maskPath = runtime.maskPath;

  // The endpoint's path spelled with escapes is still the endpoint, never a path to forward.
  if (forwardAuth !== null && forwardAuth.serves(target.path)) {
    addHsts(req, res, runtime.hsts);
    answerForwardAuth(req, res, runtime, services, record, forwardAuth, target.path + target.search);
    return;
  }
  const own = runtime.ownEndpointAt(target);
  if (own !== undefined) {
    record.outcome = 'own';
    record.routeId = own.id;
    record.ownEndpoint = true;
    // The proxy's own answers only: a forwarded answer carries whatever policy the upstream chose (respond/hsts.ts).
    addHsts(req, res, runtime.hsts);
    own.handle(req, res, record);
    return;
  }
  const request: AuthRequest = { method: record.method, target, headers: req.headers, rawHeaders: req.rawHeaders };
  const decision = trace === null ? decideRequest(request, runtime, services.liveness, record) : trace.decide(record, () => decideRequest(request, runtime, services.liveness, record));
  if (decision instanceof Promise) {
    decision.then(
      (settled) => proceed(req, res, runtime, services, record, settled, trace),
      (error: unknown) => {
        if (error instanceof StoreUnavailableError) fail(res, record, 'store_unavailable', services);
        else fail(res, record, 'internal_error', services, error);
      },
    );
  } else {
    proceed(req, res, runtime, services, record, decision, trace);
  }
}

function proceed(req: IncomingMessage, res: ServerResponse, runtime: Runtime, services: PipelineServices, record: RequestRecord, decision: Decision, trace: RequestTrace | null): void {
  if (decision.kind === 'denial') deny(res, record, decision);
  else forward(req, res, runtime, services, record, record.target!, decision, performance.now(), trace);
}

function forward(req: IncomingMessage, res: ServerResponse, runtime: Runtime, services: PipelineServices, record: RequestRecord, target: RequestTarget, pass: Pass, startedAt: number, trace: RequestTrace | null): void {
  const attribution = pass.attribution;
  const headers = outgoingHeaders(req, runtime, attribution === null ? null : attribution.identity);
  record.outcome = 'forwarded';
  record.authMethod = attribution === null ? 'public' : attribution.identity.method;
  const upstreamSpan = trace === null ? null : trace.upstream(headers);
  services.forwarder.forward(req, res, { path: (attribution?.forwardPath ?? target.path) + target.search, headers, startedAt }, (result) => {
    if (upstreamSpan !== null) upstreamSpan(result);
    record.upstreamStatus = result.upstreamStatus;
    record.upstreamSeconds = result.upstreamSeconds;
    if (result.failure !== null) {
      record.outcome = result.failure === 'client_aborted' ? 'aborted' : 'error';
      record.reason = result.failure;
    }
    if (result.upstreamStatus !== null) pass.afterUse?.(result.upstreamStatus);
  });
}
