// The PCR-360 output formats: every answer of ours on the PCR face (errors, login, logout) comes in the format
// the client asked for in its path (`.json`, `.xml`, or `.php` for PHP's serialize()).

import type { ServerResponse } from 'node:http';

export type PcrOutput = 'json' | 'xml' | 'php';

const CONTENT_TYPES: Record<PcrOutput, string> = {
  json: 'application/json; charset=utf-8',
  xml: 'application/xml; charset=utf-8',
  php: 'text/plain; charset=utf-8',
};

export function renderPcr(output: PcrOutput, payload: Record<string, unknown>): { body: string; contentType: string } {
  const body = output === 'json' ? JSON.stringify(payload) : output === 'xml' ? toXml('response', payload) : serializePhp(payload);
  return { body, contentType: CONTENT_TYPES[output] };
}

export function sendPcr(res: ServerResponse, status: number, output: PcrOutput, payload: Record<string, unknown>, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const { body, contentType } = renderPcr(output, payload);
  res.writeHead(status, {
    'content-type': contentType,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...headers,
  });
  res.end(res.req?.method === 'HEAD' ? undefined : body);
}

const XML_NAME = /^(?!xml)[A-Za-z_][A-Za-z0-9._-]*$/i;

export function toXml(rootName: string, value: unknown): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${xmlElement(rootName, value)}\n`;
}

function xmlElement(name: string, value: unknown): string {
  // Keys from clients (form fields, headers) need not be XML names; they keep their spelling in an attribute.
  const [open, close] = XML_NAME.test(name) ? [name, name] : [`item key="${escapeXml(name)}"`, 'item'];
  if (value === null || value === undefined) return `<${open}/>`;
  if (Array.isArray(value)) return `<${open}>${value.map((v) => xmlElement('item', v)).join('')}</${close}>`;
  if (typeof value === 'object') {
    const children = Object.entries(value as Record<string, unknown>).map(([k, v]) => xmlElement(k, v));
    return `<${open}>${children.join('')}</${close}>`;
  }
  return `<${open}>${escapeXml(String(value))}</${close}>`;
}

function escapeXml(text: string): string {
  return text
    .replace(/[^\t\n\r\x20-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/gu, '\ufffd')
    .replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A value PHP's `serialize()` can express. */
export type PhpValue = null | boolean | number | bigint | string | PhpValue[] | { [key: string]: PhpValue | undefined };

/**
 * PHP `serialize()`: strings carry their UTF-8 byte length, whole numbers become ints, objects become
 * associative arrays (with PHP's own rule that canonical integer keys are int keys).
 */
export function serializePhp(value: unknown): string {
  if (value === null || value === undefined) return 'N;';
  switch (typeof value) {
    case 'boolean':
      return `b:${value ? 1 : 0};`;
    case 'bigint':
      return `i:${value};`;
    case 'number':
      return Number.isSafeInteger(value) ? `i:${value};` : `d:${phpFloat(value)};`;
    case 'string':
      return `s:${Buffer.byteLength(value, 'utf8')}:"${value}";`;
    case 'object': {
      const entries: [string | number, unknown][] = Array.isArray(value)
        ? value.map((v, i) => [i, v])
        : Object.entries(value).filter(([, v]) => v !== undefined);
      const body = entries.map(([k, v]) => serializePhpKey(k) + serializePhp(v)).join('');
      return `a:${entries.length}:{${body}}`;
    }
    default:
      throw new TypeError(`PHP serialize cannot express a ${typeof value}`);
  }
}

function serializePhpKey(key: string | number): string {
  if (typeof key === 'number') return `i:${key};`;
  return /^(0|-?[1-9][0-9]*)$/.test(key) && Number.isSafeInteger(Number(key)) ? `i:${key};` : serializePhp(key);
}

/** PHP writes floats in shortest round-trip form (serialize_precision = -1), with `1.0E+25` style exponents. */
function phpFloat(n: number): string {
  if (Number.isNaN(n)) return 'NAN';
  if (!Number.isFinite(n)) return n > 0 ? 'INF' : '-INF';
  const text = String(n);
  const exp = /^(-?\d+)(\.\d+)?e([+-]\d+)$/.exec(text);
  return exp ? `${exp[1]}${exp[2] ?? '.0'}E${exp[3]}` : text;
}
