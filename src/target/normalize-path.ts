// Canonicalises the raw request-target (Node's req.url) before anything looks at it. The path returned here is
// both what routes are matched on and what goes upstream, so anything two parsers could read differently is
// rejected rather than repaired.

export type TargetRejection = 'target_form' | 'path_invalid' | 'path_ambiguous' | 'path_too_long';

export type NormalizedTarget =
  | { ok: true; path: string; search: string } // search is '' or starts with '?'
  | { ok: false; status: 400 | 414; reason: TargetRejection; message: string };

type Rejection = Extract<NormalizedTarget, { ok: false }>;

const DEFAULT_MAX_LENGTH = 8192;

// Rejections are shared frozen singletons: a flood of bad requests should not cost an allocation each.
function rejection(status: 400 | 414, reason: TargetRejection, message: string): Rejection {
  return Object.freeze({ ok: false, status, reason, message });
}
const ambiguous = (message: string): Rejection => rejection(400, 'path_ambiguous', message);

const TARGET_FORM = rejection(400, 'target_form', 'request target must be a path starting with a single slash');
const TOO_LONG = rejection(414, 'path_too_long', 'request target is too long');
const FRAGMENT = rejection(400, 'path_invalid', 'request target contains a fragment');
const BAD_CHAR = rejection(400, 'path_invalid', 'request target contains a space, control or non-ASCII character');
const BAD_ESCAPE = rejection(400, 'path_invalid', 'request path contains a malformed percent-escape');
const ENCODED_SLASH = ambiguous('request path contains an encoded slash');
const ENCODED_BACKSLASH = ambiguous('request path contains an encoded backslash');
const RAW_BACKSLASH = ambiguous('request path contains a backslash');
const PATH_PARAMS = ambiguous('request path contains a path parameter');
const ENCODED_CONTROL = ambiguous('request path contains an encoded control character');
const ENCODED_PERCENT = ambiguous('request path contains an encoded percent sign');
const BAD_UTF8 = ambiguous('request path contains an invalid UTF-8 escape sequence');
const EMPTY_SEGMENT = ambiguous('request path contains an empty segment');
const DOT_SEGMENT = ambiguous('request path contains a dot segment');
const DELIMITER_LOOKALIKE = ambiguous('request path contains a character some backends read as a path delimiter');

const SLASH = 0x2f;
const BACKSLASH = 0x5c;
const PERCENT = 0x25;
const SEMICOLON = 0x3b;
const DOT = 0x2e;

// Character classes for the single scan over the path; anything >= 0x80 is BAD.
const PLAIN = 0;
const C_SLASH = 1;
const C_PERCENT = 2;
const C_QUERY = 3;
const C_DOT = 4;
const C_BAD = 5;
const C_HASH = 6;
const C_BACKSLASH = 7;
const C_SEMICOLON = 8;

const CLASS = new Uint8Array(128);
for (let c = 0; c <= 0x20; c++) CLASS[c] = C_BAD;
CLASS[0x7f] = C_BAD;
CLASS[SLASH] = C_SLASH;
CLASS[PERCENT] = C_PERCENT;
CLASS[0x3f] = C_QUERY;
CLASS[DOT] = C_DOT;
CLASS[0x23] = C_HASH;
CLASS[BACKSLASH] = C_BACKSLASH;
CLASS[SEMICOLON] = C_SEMICOLON;

const HEX = new Int8Array(128).fill(-1);
for (let d = 0; d < 10; d++) HEX[0x30 + d] = d;
for (let d = 0; d < 6; d++) {
  HEX[0x41 + d] = 10 + d;
  HEX[0x61 + d] = 10 + d;
}

const UNRESERVED = new Uint8Array(128);
for (let c = 0x41; c <= 0x5a; c++) UNRESERVED[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) UNRESERVED[c] = 1;
for (let c = 0x30; c <= 0x39; c++) UNRESERVED[c] = 1;
UNRESERVED[0x2d] = UNRESERVED[DOT] = UNRESERVED[0x5f] = UNRESERVED[0x7e] = 1;

// Replacement strings are precomputed so the rewrite only concatenates interned pieces.
const UPPER_ESCAPE: string[] = [];
for (let b = 0; b < 256; b++) UPPER_ESCAPE.push('%' + b.toString(16).toUpperCase().padStart(2, '0'));
const DECODED: string[] = [];
for (let c = 0; c < 128; c++) DECODED.push(String.fromCharCode(c));

/** Byte value of the escape starting at s[i] (a '%'), or -1 when it is not followed by two hex digits. */
function escapeAt(s: string, i: number): number {
  const h = s.charCodeAt(i + 1);
  const l = s.charCodeAt(i + 2);
  // NaN (past the end) fails both comparisons and lands on -1 as well.
  const hv = h < 128 ? HEX[h] : -1;
  const lv = l < 128 ? HEX[l] : -1;
  return hv < 0 || lv < 0 ? -1 : (hv << 4) | lv;
}

/** Whether the (already validated) escape at s[i] uses lower-case hex; digits and 'A'-'F' are all below 'a'. */
function hasLowerHex(s: string, i: number): boolean {
  return s.charCodeAt(i + 1) >= 0x61 || s.charCodeAt(i + 2) >= 0x61;
}

/**
 * Validates the UTF-8 sequence of escapes that starts with `lead` at s[i] and returns how many continuation
 * bytes follow it, or a rejection. Overlong forms (%C0%AE for '.'), surrogates and stray continuation bytes
 * are refused because lenient decoders downstream turn them into '.', '/' or worse.
 */
function utf8Continuations(s: string, i: number, lead: number): number | Rejection {
  let n: number;
  let lo = 0x80;
  let hi = 0xbf;
  if (lead >= 0xc2 && lead <= 0xdf) {
    n = 1;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    n = 2;
    if (lead === 0xe0) lo = 0xa0;
    else if (lead === 0xed) hi = 0x9f;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    n = 3;
    if (lead === 0xf0) lo = 0x90;
    else if (lead === 0xf4) hi = 0x8f;
  } else {
    return BAD_UTF8;
  }
  for (let k = 1; k <= n; k++) {
    const j = i + 3 * k;
    if (s.charCodeAt(j) !== PERCENT) return BAD_UTF8;
    const b = escapeAt(s, j);
    if (b < 0) return BAD_ESCAPE;
    if (b < lo || b > hi) return BAD_UTF8;
    lo = 0x80;
    hi = 0xbf;
  }
  return n;
}

// Backends that apply Unicode compatibility normalisation (NFKC) or Windows "best-fit" code-page conversion read
// these as a dot, a slash, a backslash, ';', '%', '?' or '#': '/docs/x%EF%BC%8F..%EF%BC%8Fapi' stays under /docs here and is
// /api there. Best-fit mappings that NFKC does not cover are listed by hand.
const NFKC_DELIMITER = /[./\\;%?#]/;
const BEST_FIT_DELIMITERS: ReadonlySet<number> = new Set([0x00a5, 0x20a9, 0x2044, 0x2215, 0x2216, 0x29f5, 0x29f8, 0x29f9]);

/** Whether the (already validated) UTF-8 sequence of n continuation escapes at s[i] reads as a delimiter somewhere. */
function delimiterLookalike(s: string, i: number, lead: number, n: number): boolean {
  let cp = lead & (0x3f >> n);
  for (let k = 1; k <= n; k++) cp = (cp << 6) | (escapeAt(s, i + 3 * k) & 0x3f);
  return BEST_FIT_DELIMITERS.has(cp) || NFKC_DELIMITER.test(String.fromCodePoint(cp).normalize('NFKC'));
}

/** Second pass, only for paths that need it: decodes unreserved escapes and upper-cases the rest. */
function rewritePath(s: string, end: number): string {
  let out = '';
  let last = 0;
  for (let i = s.indexOf('%'); i !== -1 && i < end; i = s.indexOf('%', i + 3)) {
    const v = (HEX[s.charCodeAt(i + 1)] << 4) | HEX[s.charCodeAt(i + 2)];
    if (v < 128 && UNRESERVED[v] === 1) {
      out += s.slice(last, i) + DECODED[v];
      last = i + 3;
    } else if (hasLowerHex(s, i)) {
      out += s.slice(last, i) + UPPER_ESCAPE[v];
      last = i + 3;
    }
  }
  return out + s.slice(last, end);
}

/**
 * Validates and normalises a raw origin-form request-target. The query is checked for forbidden characters
 * but otherwise passed through verbatim: it is never matched as a path.
 */
export function normalizeRequestTarget(rawTarget: string, maxLength: number = DEFAULT_MAX_LENGTH): NormalizedTarget {
  const s = rawTarget;
  const len = s.length;
  // Node hands over req.url as latin1, so length is the byte count.
  if (len > maxLength) return TOO_LONG;
  // '//host/x' is refused as a form, not just as an empty segment: URL parsers read it as an authority.
  if (len === 0 || s.charCodeAt(0) !== SLASH || (len > 1 && s.charCodeAt(1) === SLASH)) return TARGET_FORM;

  let rewrite = false;
  // Decoded length of the current segment and how many of those characters are dots: a segment is a dot
  // segment when both are 1 or both are 2, however the dots were spelled.
  let segLen = 0;
  let segDots = 0;
  let end = len;
  let i = 1;
  while (i < len) {
    const c = s.charCodeAt(i);
    switch (c < 128 ? CLASS[c] : C_BAD) {
      case PLAIN:
        segLen++;
        i++;
        continue;
      case C_SLASH:
        if (segLen <= 2) {
          if (segLen === 0) return EMPTY_SEGMENT;
          if (segDots === segLen) return DOT_SEGMENT;
        }
        segLen = 0;
        segDots = 0;
        i++;
        continue;
      case C_DOT:
        segDots++;
        segLen++;
        i++;
        continue;
      case C_PERCENT: {
        const v = escapeAt(s, i);
        if (v < 0) return BAD_ESCAPE;
        if (v < 0x80) {
          if (v < 0x20 || v === 0x7f) return ENCODED_CONTROL;
          if (UNRESERVED[v] === 1) {
            rewrite = true;
            if (v === DOT) segDots++;
          } else {
            if (v === SLASH) return ENCODED_SLASH;
            if (v === BACKSLASH) return ENCODED_BACKSLASH;
            if (v === PERCENT) return ENCODED_PERCENT;
            if (v === SEMICOLON) return PATH_PARAMS;
            if (!rewrite && hasLowerHex(s, i)) rewrite = true;
          }
          segLen++;
          i += 3;
          continue;
        }
        const n = utf8Continuations(s, i, v);
        if (typeof n !== 'number') return n;
        if (delimiterLookalike(s, i, v, n)) return DELIMITER_LOOKALIKE;
        if (!rewrite) {
          for (let k = 0; k <= n; k++) {
            if (hasLowerHex(s, i + 3 * k)) {
              rewrite = true;
              break;
            }
          }
        }
        segLen++;
        i += 3 * (n + 1);
        continue;
      }
      case C_QUERY:
        end = i;
        i = len;
        continue;
      case C_HASH:
        return FRAGMENT;
      case C_BACKSLASH:
        return RAW_BACKSLASH;
      case C_SEMICOLON:
        return PATH_PARAMS;
      default:
        return BAD_CHAR;
    }
  }
  // A single trailing '/' leaves an empty last segment, which is allowed; '/a/.' and '/a/..' are not.
  if (segLen > 0 && segLen <= 2 && segDots === segLen) return DOT_SEGMENT;

  for (let j = end + 1; j < len; j++) {
    const c = s.charCodeAt(j);
    if (c <= 0x20 || c >= 0x7f) return BAD_CHAR;
    if (c === 0x23) return FRAGMENT;
  }

  if (end === len) return { ok: true, path: rewrite ? rewritePath(s, end) : s, search: '' };
  return { ok: true, path: rewrite ? rewritePath(s, end) : s.slice(0, end), search: s.slice(end) };
}
