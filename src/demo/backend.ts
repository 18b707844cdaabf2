// The built-in demo ITSM backend, started in-process when the config says `upstream: demo`. It speaks both
// vendor dialects (Cockpit-style JSON on /api/..., PCR-360-style /api/KEY/REQUEST.OUTPUT) and reports on
// every response what reached it, so a user can see the identity the proxy forwarded and that no client
// credential got through.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BodyTooLargeError, readBody } from '../http/body.js';
import { serializePhp, toXml } from '../respond/pcr-formats.js';

export { serializePhp, toXml, type PhpValue } from '../respond/pcr-formats.js';

export const DEFAULT_IDENTITY_HEADERS: readonly string[] = [
  'x-portcullis-auth',
  'x-portcullis-user',
  'x-portcullis-client-id',
  'x-portcullis-scope',
  'x-portcullis-teams',
  'x-portcullis-organizations',
  'x-portcullis-features',
  'x-portcullis-api-key-id',
  'x-portcullis-section',
  'x-portcullis-access',
];

export const DEFAULT_CREDENTIAL_HEADERS: readonly string[] = [
  'authorization',
  'pcr-auth-token',
  'pcr-auth-username',
  'pcr-auth-password',
];

/** The entry `credentialsSeen` gets when a path segment is a client's API key rather than an upstream one. */
export const PATH_KEY_CREDENTIAL = 'api-key-in-path';

export interface DemoBackendOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
  /** Header names echoed under `received.identity`; default DEFAULT_IDENTITY_HEADERS. */
  identityHeaders?: string[];
  /** Header names reported in `received.credentialsSeen` when present; default DEFAULT_CREDENTIAL_HEADERS. */
  credentialHeaders?: string[];
  /** Tells whether a (decoded) path segment is a client's API key, so a leaked key is flagged too. */
  clientKeysToFlag?: (pathSegment: string) => boolean;
}

export interface DemoBackend {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** What the backend saw of one request; part of every response. */
export interface ReceivedRequest {
  method: string;
  /** The request target exactly as it arrived, query included. */
  path: string;
  identity: Record<string, string>;
  credentialsSeen: string[];
}

const MAX_BODY_BYTES = 1024 * 1024;

export async function startDemoBackend(options: DemoBackendOptions = {}): Promise<DemoBackend> {
  const host = options.host ?? '127.0.0.1';
  const server = createServer(createDemoHandler(options));
  // Longer than any sensible proxy agent idle timeout, so the proxy (not the backend) closes idle keep-alive
  // sockets and never reuses one the backend is closing at that very moment.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${urlHost}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeIdleConnections();
      }),
  };
}

export function createDemoHandler(
  options: DemoBackendOptions = {},
): (req: IncomingMessage, res: ServerResponse) => void {
  const settings: HandlerSettings = {
    identityHeaders: (options.identityHeaders ?? DEFAULT_IDENTITY_HEADERS).map((h) => h.toLowerCase()),
    credentialHeaders: (options.credentialHeaders ?? DEFAULT_CREDENTIAL_HEADERS).map((h) => h.toLowerCase()),
    clientKeysToFlag: options.clientKeysToFlag,
  };
  return (req, res) => {
    handle(req, res, settings).catch(() => {
      // A demo must stay up whatever a client sends; a half-written response can only be cut off.
      if (res.headersSent) res.destroy();
      else sendJson(res, 500, { error: 'server_error' });
    });
  };
}

interface HandlerSettings {
  identityHeaders: string[];
  credentialHeaders: string[];
  clientKeysToFlag: ((pathSegment: string) => boolean) | undefined;
}

interface Call {
  req: IncomingMessage;
  res: ServerResponse;
  received: ReceivedRequest;
  query: URLSearchParams;
}

type Handler = (call: Call) => void | Promise<void>;
/** Handlers by method; HEAD is served by GET (node drops the body of a HEAD response itself). */
type MethodTable = Partial<Record<'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', Handler>>;

async function handle(req: IncomingMessage, res: ServerResponse, settings: HandlerSettings): Promise<void> {
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

function describeRequest(req: IncomingMessage, settings: HandlerSettings, segments: string[]): ReceivedRequest {
  const identity: Record<string, string> = {};
  for (const name of settings.identityHeaders) {
    const value = req.headers[name];
    if (value !== undefined) identity[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  const credentialsSeen = settings.credentialHeaders.filter((name) => req.headers[name] !== undefined);
  const isClientKey = settings.clientKeysToFlag;
  if (isClientKey && segments.some((segment) => segment !== '' && isClientKey(segment))) {
    credentialsSeen.push(PATH_KEY_CREDENTIAL);
  }
  return { method: req.method ?? 'GET', path: req.url ?? '/', identity, credentialsSeen };
}

// ---------------------------------------------------------------------------------------------------------
// Routing

const PCR_REQUESTS = ['sql', 'servicedesk', 'servicedesk.SO', 'servicedesk.IN', 'services', 'equipment', 'snmp'];
const OUTPUT_FORMATS = ['json', 'xml', 'php'] as const;
type OutputFormat = (typeof OUTPUT_FORMATS)[number];
const REPORT_FILE = /^([A-Za-z0-9_-]{1,64})\.(html|pdf)$/;
const TICKET_ID = /^[0-9]{1,9}$/;

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

// ---------------------------------------------------------------------------------------------------------
// Cockpit-style routes

interface Ticket {
  id: number;
  title: string;
  status: string;
  priority: string;
  team: string;
  requester: string;
  createdAt: string;
  [field: string]: unknown;
}

const TICKETS: readonly Ticket[] = [
  {
    id: 1001,
    title: 'Printer on 3rd floor offline',
    status: 'open',
    priority: 'medium',
    team: 'Field Support',
    requester: 'j.martin',
    createdAt: '2026-01-05T08:12:00Z',
  },
  {
    id: 1002,
    title: 'VPN drops every 10 minutes',
    status: 'in_progress',
    priority: 'high',
    team: 'Network',
    requester: 'a.dupont',
    createdAt: '2026-01-05T09:40:00Z',
  },
  {
    id: 1003,
    title: 'New laptop for onboarding',
    status: 'pending',
    priority: 'low',
    team: 'Service Desk',
    requester: 'm.nguyen',
    createdAt: '2026-01-06T14:03:00Z',
  },
];
const NEXT_TICKET_ID = 1004;

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

const serveDashboard: Handler = ({ res, received }) => {
  sendJson(res, 200, {
    dashboard: {
      openTickets: 42,
      slaBreaches: 3,
      unassignedTickets: 7,
      ticketsCreatedToday: 12,
      ticketsResolvedToday: 9,
      averageResolutionHours: 5.4,
      customerSatisfaction: 0.92,
    },
    received,
  });
};

/** Finds an identity value by its role, so renamed headers (`x-acme-user`) still work. */
function identityValue(identity: Record<string, string>, role: string): string | null {
  for (const [name, value] of Object.entries(identity)) {
    if (name === role || name.endsWith(`-${role}`)) return value;
  }
  return null;
}

function identityList(identity: Record<string, string>, role: string): string[] {
  const value = identityValue(identity, role);
  return value === null ? [] : value.split(',').map((v) => v.trim()).filter((v) => v !== '');
}

const serveOperator: Handler = ({ res, received }) => {
  const { identity } = received;
  sendJson(res, 200, {
    operator: {
      login: identityValue(identity, 'user'),
      authMethod: identityValue(identity, 'auth'),
      clientId: identityValue(identity, 'client-id'),
      scope: identityValue(identity, 'scope'),
      teams: identityList(identity, 'teams'),
      organizations: identityList(identity, 'organizations'),
      features: identityList(identity, 'features'),
    },
    received,
  });
};

const listTickets: Handler = ({ res, received }) => {
  sendJson(res, 200, { tickets: TICKETS, total: TICKETS.length, received });
};

function findTicket(call: Call, id: number): Ticket | undefined {
  const ticket = TICKETS.find((t) => t.id === id);
  if (!ticket) sendJson(call.res, 404, { error: 'not_found', received: call.received });
  return ticket;
}

function showTicket(call: Call, id: number): void {
  const ticket = findTicket(call, id);
  if (ticket) sendJson(call.res, 200, { ticket, received: call.received });
}

/** Reads a body that must be a JSON (or form) object; answers the error itself and returns undefined. */
async function readObjectBody(call: Call): Promise<Record<string, unknown> | undefined> {
  const body = await parseBody(call);
  if (body === undefined) return undefined;
  if (!isPlainObject(body)) {
    sendJson(call.res, 400, { error: 'invalid_body', detail: 'expected a JSON object', received: call.received });
    return undefined;
  }
  return body;
}

async function createTicket(call: Call): Promise<void> {
  const fields = await readObjectBody(call);
  if (!fields) return;
  // The demo keeps no state, so every create gets the same id; clients only need a plausible answer.
  call.res.setHeader('location', `/api/tickets/${NEXT_TICKET_ID}`);
  sendJson(call.res, 201, { ticket: { ...fields, id: NEXT_TICKET_ID }, received: call.received });
}

async function updateTicket(call: Call, id: number, mode: 'replace' | 'merge'): Promise<void> {
  const existing = findTicket(call, id);
  if (!existing) return;
  const fields = await readObjectBody(call);
  if (!fields) return;
  // Nothing is stored: the answer shows what the update would have made of the ticket.
  sendJson(call.res, 200, { ticket: { ...(mode === 'merge' ? existing : {}), ...fields, id }, received: call.received });
}

function deleteTicket(call: Call, id: number): void {
  if (!findTicket(call, id)) return;
  // A 204 has no body to carry `received`, so it travels in a header instead.
  call.res.writeHead(204, { 'x-demo-received': receivedHeader(call.received) });
  call.res.end();
}

// ---------------------------------------------------------------------------------------------------------
// PCR-360-style routes

type Row = Record<string, string | number | boolean | null>;

const SERVICE_DESK_ORDERS: readonly Row[] = [
  { SD_ID: 'SO-1001', TYPE: 'SO', STATUS: 'Open', PRIORITY: 2, SUMMARY: 'Move phone line to room 214', REQUESTER: 'jdoe' },
  { SD_ID: 'SO-1002', TYPE: 'SO', STATUS: 'Pending', PRIORITY: 3, SUMMARY: 'New desk phone for Zürich office', REQUESTER: 'mmüller' },
  { SD_ID: 'SO-1003', TYPE: 'SO', STATUS: 'Closed', PRIORITY: 1, SUMMARY: 'Disconnect fax line', REQUESTER: 'asmith' },
];
const SERVICE_DESK_INCIDENTS: readonly Row[] = [
  { SD_ID: 'IN-2001', TYPE: 'IN', STATUS: 'Open', PRIORITY: 1, SUMMARY: 'No dial tone in building B', REQUESTER: 'kli' },
  { SD_ID: 'IN-2002', TYPE: 'IN', STATUS: 'Resolved', PRIORITY: 2, SUMMARY: 'Voicemail PIN reset', REQUESTER: 'jdoe' },
];
const PCR_DATA: Readonly<Record<string, readonly Row[]>> = {
  servicedesk: [...SERVICE_DESK_ORDERS, ...SERVICE_DESK_INCIDENTS],
  'servicedesk.SO': SERVICE_DESK_ORDERS,
  'servicedesk.IN': SERVICE_DESK_INCIDENTS,
  services: [
    { SERVICE_ID: 'SVC-3001', CATEGORY: 'Voice', NUMBER: '555-0101', STATUS: 'Active', MONTHLY_COST: 24.5 },
    { SERVICE_ID: 'SVC-3002', CATEGORY: 'Data', NUMBER: null, STATUS: 'Active', MONTHLY_COST: 80 },
    { SERVICE_ID: 'SVC-3003', CATEGORY: 'Voice', NUMBER: '555-0199', STATUS: 'Inactive', MONTHLY_COST: 0 },
  ],
  equipment: [
    { EQUIPMENT_ID: 'EQ-4001', CATEGORY: 'Switch', MODEL: 'Catalyst 9300', LOCATION: 'Zürich – Rack 3', IN_SERVICE: true },
    { EQUIPMENT_ID: 'EQ-4002', CATEGORY: 'Phone', MODEL: 'Yealink T54W', LOCATION: 'Room 214', IN_SERVICE: true },
    { EQUIPMENT_ID: 'EQ-4003', CATEGORY: 'Router', MODEL: 'ISR 4331', LOCATION: 'Spare stock', IN_SERVICE: false },
  ],
  snmp: [
    { DEVICE: 'core-sw-01', OID: '1.3.6.1.2.1.1.3.0', NAME: 'sysUpTime', VALUE: 81234500 },
    { DEVICE: 'core-sw-01', OID: '1.3.6.1.2.1.2.2.1.8.1', NAME: 'ifOperStatus', VALUE: 1 },
    { DEVICE: 'edge-rt-02', OID: '1.3.6.1.2.1.1.5.0', NAME: 'sysName', VALUE: 'edge-rt-02' },
  ],
};

/** Query fields that name a column (case-insensitively) filter the rows, as the vendor's query string does. */
function filterRows(rows: readonly Row[], query: URLSearchParams): Row[] {
  const filters = [...query].map(([field, value]) => [field.toUpperCase(), value] as const);
  return rows.filter((row) =>
    filters.every(([field, value]) => !Object.hasOwn(row, field) || String(row[field]) === value),
  );
}

function listPcrRows(call: Call, request: string, format: OutputFormat): void {
  const rows = filterRows(PCR_DATA[request] ?? [], call.query);
  sendFormatted(call.res, 200, format, { status: 'ok', request, count: rows.length, rows, received: call.received });
}

async function acceptPcrPost(call: Call, request: string, format: OutputFormat): Promise<void> {
  const fields = await parseBody(call);
  if (fields === undefined) return;
  sendFormatted(call.res, 200, format, { status: 'ok', request, data: fields, received: call.received });
}

/** Picks the demo table a SELECT reads from; the demo understands no more SQL than that. */
function tableOf(sql: string): string | undefined {
  const from = /\bfrom\s+[`"[]?([A-Za-z_][\w.]*)/i.exec(sql)?.[1]?.toLowerCase();
  if (!from) return undefined;
  if (from.includes('desk') || from.includes('sd_')) return 'servicedesk';
  if (from.includes('equip')) return 'equipment';
  if (from.includes('snmp')) return 'snmp';
  if (from.includes('serv')) return 'services';
  return undefined;
}

async function runSql(call: Call, format: OutputFormat): Promise<void> {
  const fields = await parseBody(call);
  if (fields === undefined) return;
  const sql = isPlainObject(fields) ? fields['sql'] : undefined;
  if (typeof sql !== 'string' || sql.trim() === '') {
    sendJson(call.res, 400, { error: 'missing_sql', received: call.received });
    return;
  }
  // `sql` only ever reads; anything but a single SELECT is refused like the vendor does.
  if (!/^\s*select\b/i.test(sql) || /;\s*\S/.test(sql)) {
    sendJson(call.res, 400, { error: 'invalid_sql', received: call.received });
    return;
  }
  const table = tableOf(sql);
  const rows = table ? [...(PCR_DATA[table] ?? [])] : [];
  sendFormatted(call.res, 200, format, {
    status: 'ok',
    request: 'sql',
    sql,
    count: rows.length,
    rows,
    received: call.received,
  });
}

function serveReport({ res, received }: Call, id: string, kind: 'html' | 'pdf'): void {
  if (kind === 'pdf') {
    const pdf = buildPdf([`Portcullis demo report ${id}`, `Open service desk orders: ${SERVICE_DESK_ORDERS.length}`]);
    sendBody(res, 200, 'application/pdf', pdf, {
      'content-disposition': `inline; filename="report-${id}.pdf"`,
      'x-demo-received': receivedHeader(received),
    });
    return;
  }
  const rows = SERVICE_DESK_ORDERS.map(
    (row) => `<tr><td>${escapeHtml(String(row['SD_ID']))}</td><td>${escapeHtml(String(row['SUMMARY']))}</td></tr>`,
  ).join('');
  // `<` is escaped so no value can close the script element early.
  const receivedJson = JSON.stringify(received).replace(/</g, '\\u003c');
  const html =
    `<!doctype html><html><head><meta charset="utf-8"><title>Report ${id}</title></head><body>` +
    `<h1>Report ${id}</h1><table><tr><th>Order</th><th>Summary</th></tr>${rows}</table>` +
    `<script type="application/json" id="received">${receivedJson}</script></body></html>`;
  sendBody(res, 200, 'text/html; charset=utf-8', Buffer.from(html, 'utf8'), {
    'x-demo-received': receivedHeader(received),
  });
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A one-page PDF with correct xref offsets, so strict readers open it too. Lines must be printable ASCII. */
export function buildPdf(lines: string[]): Buffer {
  const text = lines
    .map((line, i) => `${i === 0 ? '' : '0 -20 Td '}(${line.replace(/[^\x20-\x7e]/g, '?').replace(/[\\()]/g, '\\$&')}) Tj`)
    .join('\n');
  const content = `BT\n/F1 14 Tf\n72 740 Td\n${text}\nET`;
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    `<< /Length ${content.length} >>\nstream\n${content}\nendstream`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ];
  let pdf = '%PDF-1.4\n';
  const offsets: number[] = [];
  objects.forEach((body, i) => {
    offsets.push(pdf.length);
    pdf += `${i + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xrefAt = pdf.length;
  pdf += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  pdf += offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('');
  pdf += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xrefAt}\n%%EOF\n`;
  // Everything above is ASCII, so string offsets are byte offsets.
  return Buffer.from(pdf, 'latin1');
}

// ---------------------------------------------------------------------------------------------------------
// Bodies

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reads and parses a JSON or form body; answers the error itself and returns undefined on failure. */
async function parseBody({ req, res, received }: Call): Promise<unknown> {
  let raw: Buffer;
  try {
    raw = await readBody(req, MAX_BODY_BYTES);
  } catch (err) {
    if (!(err instanceof BodyTooLargeError)) throw err;
    sendJson(res, 413, { error: 'payload_too_large', limit: MAX_BODY_BYTES, received });
    return undefined;
  }
  const text = raw.toString('utf8');
  const mime = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  const looksJson = mime === '' && /^\s*[[{]/.test(text);
  if (mime === 'application/json' || mime.endsWith('+json') || looksJson) {
    if (text.trim() === '') return {};
    try {
      return JSON.parse(text) as unknown;
    } catch {
      sendJson(res, 400, { error: 'invalid_json', received });
      return undefined;
    }
  }
  if (mime === '' || mime === 'application/x-www-form-urlencoded') return formToObject(new URLSearchParams(text));
  sendJson(res, 400, { error: 'unsupported_content_type', received });
  return undefined;
}

/** Repeated form fields become arrays instead of silently keeping one value. */
function formToObject(form: URLSearchParams): Record<string, string | string[]> {
  // No prototype, so a field named `__proto__` is just a field.
  const result = Object.create(null) as Record<string, string | string[]>;
  for (const [key, value] of form) {
    const existing = result[key];
    if (existing === undefined) result[key] = value;
    else result[key] = Array.isArray(existing) ? [...existing, value] : [existing, value];
  }
  return result;
}

// ---------------------------------------------------------------------------------------------------------
// Output formats

function sendBody(
  res: ServerResponse,
  status: number,
  contentType: string,
  body: Buffer,
  extraHeaders: Record<string, string> = {},
): void {
  res.writeHead(status, { ...extraHeaders, 'content-type': contentType, 'content-length': body.length });
  res.end(body);
}

function sendJson(res: ServerResponse, status: number, payload: unknown): void {
  sendBody(res, status, 'application/json; charset=utf-8', Buffer.from(JSON.stringify(payload), 'utf8'));
}

function sendFormatted(res: ServerResponse, status: number, format: OutputFormat, payload: Record<string, unknown>): void {
  if (format === 'json') sendJson(res, status, payload);
  else if (format === 'xml') sendBody(res, status, 'application/xml; charset=utf-8', Buffer.from(toXml('response', payload), 'utf8'));
  else sendBody(res, status, 'text/plain; charset=utf-8', Buffer.from(serializePhp(payload), 'utf8'));
}

/** `received` as a header value: JSON with everything outside printable ASCII escaped, so node accepts it. */
function receivedHeader(received: ReceivedRequest): string {
  return JSON.stringify(received).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
