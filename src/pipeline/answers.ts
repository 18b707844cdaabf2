// How the pipeline ends a request it does not forward: a denial in the style of the face the request spoke to,
// or a failure of our own, each written to the request's record for the log line and metrics.

import type { ServerResponse } from 'node:http';
import type { DenialReason } from '../errors/reasons.js';
import { bearerDenial, sendDenial, type Denial } from '../respond/errors.js';
import type { RequestRecord } from './request-record.js';
import type { PipelineServices } from './runtime.js';

export function deny(res: ServerResponse, record: RequestRecord, denial: Denial): void {
  record.outcome = 'denied';
  record.reason = denial.reason;
  sendDenial(res, denial);
}

export function fail(res: ServerResponse, record: RequestRecord, reason: DenialReason, services: Pick<PipelineServices, 'logger'>, error?: unknown): void {
  record.outcome = 'error';
  record.reason = reason;
  if (error !== undefined && reason === 'internal_error') services.logger.error({ err: error }, 'request failed');
  if (!res.headersSent) sendDenial(res, bearerDenial(reason));
  else res.destroy();
}
