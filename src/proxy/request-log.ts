// The per-request log line: route id, outcome, reason id, status, latency and upstream status. The path is
// logged only after the face that knows where credentials hide in it has masked them.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../log/logger.js';
import type { RequestRecord } from './request-record.js';
import type { RequestObserver, Runtime } from './runtime.js';

export class RequestLogObserver implements RequestObserver {
  constructor(
    private readonly logger: Logger,
    private readonly current: () => Runtime,
    private readonly next: RequestObserver | null = null,
  ) {}

  requestFinished(record: RequestRecord, req: IncomingMessage, res: ServerResponse): void {
    if (this.logger.isLevelEnabled('info')) {
      const pcr = this.current().pcr;
      const path = record.path === null ? null : pcr ? pcr.maskPath(record.path) : record.path;
      this.logger.info(
        {
          msg: 'request',
          method: record.method,
          path,
          route: record.routeId,
          outcome: record.outcome,
          reason: record.reason,
          status: res.statusCode,
          ms: Number(process.hrtime.bigint() - record.startedAt) / 1e6,
          upstreamStatus: record.upstreamStatus,
          auth: record.authMethod,
        },
      );
    }
    this.next?.requestFinished(record, req, res);
  }
}
