// The PCR-360-style requests of the demo backend (/api/KEY/REQUEST.OUTPUT and /api/KEY/rpt/ID.html|pdf), the
// side API keys and PCR-360 sessions reach: table reads with the vendor's query filters, posts, a read-only
// `sql` request and reports.

import { receivedHeader } from './received.js';
import { isPlainObject, parseBody, sendBody, sendFormatted, sendJson, type Call, type OutputFormat } from './exchange.js';
import { PCR_DATA, SERVICE_DESK_ORDERS, type Row } from './fixtures.js';
import { buildPdf } from './pdf.js';

export const PCR_REQUESTS = ['sql', 'servicedesk', 'servicedesk.SO', 'servicedesk.IN', 'services', 'equipment', 'snmp'];

/** Query fields that name a column (case-insensitively) filter the rows, as the vendor's query string does. */
function filterRows(rows: readonly Row[], query: URLSearchParams): Row[] {
  const filters = [...query].map(([field, value]) => [field.toUpperCase(), value] as const);
  return rows.filter((row) =>
    filters.every(([field, value]) => !Object.hasOwn(row, field) || String(row[field]) === value),
  );
}

export function listPcrRows(call: Call, request: string, format: OutputFormat): void {
  const rows = filterRows(PCR_DATA[request] ?? [], call.query);
  sendFormatted(call.res, 200, format, { status: 'ok', request, count: rows.length, rows, received: call.received });
}

export async function acceptPcrPost(call: Call, request: string, format: OutputFormat): Promise<void> {
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

export async function runSql(call: Call, format: OutputFormat): Promise<void> {
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

export function serveReport({ res, received }: Call, id: string, kind: 'html' | 'pdf'): void {
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
