// Which demo handler answers a request target: Cockpit paths, PCR-360 paths with or without the API key the
// proxy may have removed, and the 400, 404 and 405 answers for everything else.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { describeRequest, type EchoSettings } from './received.js';
import { OUTPUT_FORMATS, sendJson, type Handler, type MethodTable, type OutputFormat } from './exchange.js';
import { createTicket, deleteTicket, listTickets, serveDashboard, serveOperator, showTicket, updateTicket } from './cockpit-api.js';
import { PCR_REQUESTS, acceptPcrPost, listPcrRows, runSql, serveReport } from './pcr-api.js';

const REPORT_FILE = /^([A-Za-z0-9_-]{1,64})\.(html|pdf)$/;
const TICKET_ID = /^[0-9]{1,9}$/;

export async function handle(req: IncomingMessage, res: ServerResponse, settings: EchoSettings): Promise<void> {
  const target = splitTarget(req.url ?? '/');
  const segments = target && decodeSegments(target.pathname);
  const received = describeRequest(req, settings, segments ?? []);
  if (!target || !segments) {
    sendJson(res, 400, { error: 'bad_path', received });
    return;
  }
  const table = route(segments);
  if (!table) {
    sendJson(res, 404, { error: 'not_found', received });
    return;
  }
  const method = req.method === 'HEAD' ? 'GET' : (req.method ?? 'GET');
  const handler = Object.hasOwn(table, method) ? table[method as keyof MethodTable] : undefined;
  if (!handler) {
    const allowed = Object.keys(table).flatMap((m) => (m === 'GET' ? ['GET', 'HEAD'] : [m]));
    res.setHeader('allow', allowed.join(', '));
    sendJson(res, 405, { error: 'method_not_allowed', received });
    return;
  }
  await handler({ req, res, received, query: new URLSearchParams(target.search) });
}

/** Splits origin-form and absolute-form targets; undefined when the target is not a usable path. */
function splitTarget(url: string): { pathname: string; search: string } | undefined {
  let target = url;
  if (!target.startsWith('/')) {
    try {
      const parsed = new URL(target);
      target = parsed.pathname + parsed.search;
    } catch {
      return undefined;
    }
  }
  const q = target.indexOf('?');
  return q < 0 ? { pathname: target, search: '' } : { pathname: target.slice(0, q), search: target.slice(q + 1) };
}

function decodeSegments(pathname: string): string[] | undefined {
  try {
    return pathname.split('/').slice(1).map(decodeURIComponent);
  } catch {
    return undefined;
  }
}

function route(segments: string[]): MethodTable | undefined {
  if (segments.length === 1 && segments[0] === '') return { GET: serveIndex };
  if (segments[0] !== 'api') return undefined;
  const rest = segments.slice(1);

  if (rest.length === 1 && rest[0] === 'dashboard') return { GET: serveDashboard };
  if (rest.length === 2 && rest[0] === 'operators' && rest[1] === 'me') return { GET: serveOperator };
  if (rest[0] === 'tickets') {
    if (rest.length === 1) return { GET: listTickets, POST: createTicket };
    if (rest.length === 2 && TICKET_ID.test(rest[1]!)) {
      const id = Number(rest[1]);
      return {
        GET: (call) => showTicket(call, id),
        PUT: (call) => updateTicket(call, id, 'replace'),
        PATCH: (call) => updateTicket(call, id, 'merge'),
        DELETE: (call) => deleteTicket(call, id),
      };
    }
    return undefined;
  }

  // PCR-360 paths carry the API key first unless the proxy removed it; both shapes are served.
  const report = rest.at(-2) === 'rpt' && (rest.length === 2 || rest.length === 3) ? REPORT_FILE.exec(rest.at(-1)!) : null;
  if (report) {
    const [, id, kind] = report;
    return { GET: (call) => serveReport(call, id!, kind as 'html' | 'pdf') };
  }
  if (rest.length === 1 || rest.length === 2) return pcrRoute(rest.at(-1)!);
  return undefined;
}

function pcrRoute(file: string): MethodTable | undefined {
  const dot = file.lastIndexOf('.');
  if (dot <= 0) return undefined;
  const request = file.slice(0, dot);
  const output = file.slice(dot + 1);
  if (!PCR_REQUESTS.includes(request)) return undefined;
  if (!(OUTPUT_FORMATS as readonly string[]).includes(output)) {
    const reject: Handler = ({ res, received }) => sendJson(res, 400, { error: 'unsupported_output', received });
    return { GET: reject, POST: reject };
  }
  const format = output as OutputFormat;
  if (request === 'sql') return { POST: (call) => runSql(call, format) };
  return { GET: (call) => listPcrRows(call, request, format), POST: (call) => acceptPcrPost(call, request, format) };
}

const serveIndex: Handler = ({ res, received }) => {
  sendJson(res, 200, {
    name: 'Portcullis demo ITSM backend',
    cockpit: [
      'GET /api/dashboard',
      'GET|POST /api/tickets',
      'GET|PUT|PATCH|DELETE /api/tickets/:id',
      'GET /api/operators/me',
    ],
    pcr360: {
      paths: ['/api/API_KEY/REQUEST.OUTPUT', '/api/API_KEY/rpt/ID.html|pdf'],
      requests: PCR_REQUESTS,
      outputs: OUTPUT_FORMATS,
    },
    received,
  });
};
