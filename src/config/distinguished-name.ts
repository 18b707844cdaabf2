// Certificate subjects as the config writes them ("CN=ops-admin, O=Operations") and as a TLS socket reports them
// (node's subject object), in one canonical form so the two can be compared.
//
// The rule: a subject matches when it has exactly the attributes written, no more and no fewer, in any order.
// Attribute names (CN, O, OU, C, ST, L, DC, emailAddress or E: OpenSSL's short names) compare case-insensitively;
// values compare exactly, case included, after trimming the spaces around them. Exact rather than X.500's
// case-folding match, so an entry never admits a subject its author did not write, and a whole-subject match
// rather than a subset, so "CN=ops-admin" does not also admit "CN=ops-admin, O=Contractor". A backslash takes the
// next character literally ("O=Ops\, Inc."); a bare "+" (a multi-valued name) is refused rather than guessed at.

export interface NameAttribute {
  /** Upper-cased attribute name. */
  type: string;
  value: string;
}

/** A subject in canonical form: attributes sorted by name, then value. */
export type DistinguishedName = readonly NameAttribute[];

const ATTRIBUTE_TYPE = /^[A-Za-z][A-Za-z0-9-]*$/;

/** Other names for an attribute, as other tools print it, mapped to the one node's socket reports. */
const ALIASES: ReadonlyMap<string, string> = new Map([['E', 'EMAILADDRESS'], ['EMAIL', 'EMAILADDRESS']]);

function canonical(attributes: NameAttribute[]): DistinguishedName {
  return attributes.sort((a, b) => (a.type === b.type ? (a.value < b.value ? -1 : a.value > b.value ? 1 : 0) : a.type < b.type ? -1 : 1));
}

/** Splits on unescaped commas, keeping escapes for the attribute; the problem for a bare "+" or a lone backslash. */
function splitAttributes(text: string): string[] | string {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < text.length; i += 1) {
    const ch = text[i]!;
    if (ch === '\\') {
      if (i + 1 >= text.length) return 'ends with a lone backslash';
      current += ch + text[i + 1]!;
      i += 1;
    } else if (ch === ',') {
      parts.push(current);
      current = '';
    } else if (ch === '+') {
      return 'has a "+" (a multi-valued name): write each attribute separated by commas, or escape it as \\+ inside a value';
    } else {
      current += ch;
    }
  }
  parts.push(current);
  return parts;
}

function unescape(raw: string): string {
  return raw.replace(/\\(.)/g, '$1');
}

/**
 * "CN=ops-admin, O=Operations" in canonical form, or the reason it is not a subject. Written as RFC 4514 and
 * `openssl x509 -subject -nameopt RFC2253` print it, comma-separated; the order does not matter.
 */
export function parseDistinguishedName(text: string): DistinguishedName | string {
  const parts = splitAttributes(text);
  if (typeof parts === 'string') return parts;
  const attributes: NameAttribute[] = [];
  for (const part of parts) {
    const equals = part.indexOf('=');
    const type = (equals < 0 ? part : part.slice(0, equals)).trim();
    if (equals < 0 || !ATTRIBUTE_TYPE.test(type)) return `expected attributes like "CN=ops-admin, O=Operations", not "${part.trim()}"`;
    // Trim only unescaped space: an escaped trailing space ("\ ") is part of the value.
    const value = unescape(part.slice(equals + 1).replace(/^\s+/, '').replace(/(?<!\\)\s+$/, ''));
    if (value === '') return `the attribute ${type} has no value`;
    attributes.push({ type: ALIASES.get(type.toUpperCase()) ?? type.toUpperCase(), value });
  }
  return canonical(attributes);
}

/**
 * The subject of a peer certificate as node's TLS socket reports it (`getPeerCertificate().subject`: one key per
 * attribute name, an array when it repeats), in canonical form.
 */
export function peerSubject(subject: Readonly<Record<string, string | readonly string[] | undefined>>): DistinguishedName {
  const attributes: NameAttribute[] = [];
  for (const [type, values] of Object.entries(subject)) {
    if (values === undefined) continue;
    for (const value of typeof values === 'string' ? [values] : values) attributes.push({ type: type.toUpperCase(), value });
  }
  return canonical(attributes);
}

export function sameDistinguishedName(a: DistinguishedName, b: DistinguishedName): boolean {
  return a.length === b.length && a.every((attribute, i) => attribute.type === b[i]!.type && attribute.value === b[i]!.value);
}

/** One line for messages and logs: "CN=ops-admin, O=Operations" in canonical order. */
export function formatDistinguishedName(name: DistinguishedName): string {
  return name.map((a) => `${a.type}=${a.value.replace(/([\\,+])/g, '\\$1')}`).join(', ');
}
