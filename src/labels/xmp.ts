// XMP packet for the GB 45438 implicit label: builds the packet that the image carriers (PNG, JPEG, WebP)
// embed, and reads the label back out of any XMP packet (ours or another tool's). Also holds the small
// byte helpers the image carriers share (UTF-8, bounds-checked integer reads, one-pass splicing).
//
// The reader is a tiny namespace-aware XML tokenizer, not a regex over the text: another property's text
// could otherwise fake `TC260:AIGC="…"`, and a tool may bind the namespace to any prefix.

export const TC260_NS = 'http://www.tc260.org.cn/ns/AIGC/1.0/';
export const IPTC_EXT_NS = 'http://iptc.org/std/Iptc4xmpExt/2008-02-29/';
export const TRAINED_ALGORITHMIC_MEDIA = 'http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia';
const RDF_NS = 'http://www.w3.org/1999/02/22-rdf-syntax-ns#';
const XML_NS = 'http://www.w3.org/XML/1998/namespace';

/** Throw unless `s` is a non-empty string of printable ASCII (0x20–0x7E), as GB 45438 requires of the label. */
export function assertPrintableAscii(s: string, what = 'AIGC label'): void {
  if (typeof s !== 'string' || s.length === 0) throw new Error(`${what} must be a non-empty string`);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) throw new Error(`${what} must be printable ASCII (bad character code ${c} at ${i})`);
  }
}

export function xmlEscape(s: string): string {
  return s.replace(/[&<>"']/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&apos;'));
}

/**
 * A complete XMP packet holding TC260:AIGC = `aigc` and Iptc4xmpExt:DigitalSourceType = trainedAlgorithmicMedia.
 * The header carries the literal U+FEFF the XMP spec asks for (3 bytes in UTF-8); everything else is ASCII.
 * No trailing padding: carriers rewrite the whole packet rather than editing it in place.
 */
export function buildXmp(aigc: string): string {
  assertPrintableAscii(aigc);
  return (
    '<?xpacket begin="\uFEFF" id="W5M0MpCehiHzreSzNTczkc9d"?>\n' +
    '<x:xmpmeta xmlns:x="adobe:ns:meta/">\n' +
    ` <rdf:RDF xmlns:rdf="${RDF_NS}">\n` +
    '  <rdf:Description rdf:about=""\n' +
    `    xmlns:TC260="${TC260_NS}"\n` +
    `    xmlns:Iptc4xmpExt="${IPTC_EXT_NS}">\n` +
    `   <TC260:AIGC>${xmlEscape(aigc)}</TC260:AIGC>\n` +
    `   <Iptc4xmpExt:DigitalSourceType>${TRAINED_ALGORITHMIC_MEDIA}</Iptc4xmpExt:DigitalSourceType>\n` +
    '  </rdf:Description>\n' +
    ' </rdf:RDF>\n' +
    '</x:xmpmeta>\n' +
    '<?xpacket end="w"?>'
  );
}

// ------------------------------------------------------------------ reading

function decodeEntities(s: string): string {
  if (s.indexOf('&') < 0) return s;
  return s.replace(/&(#x[0-9a-fA-F]{1,6}|#[0-9]{1,7}|amp|lt|gt|quot|apos);/g, (_, e: string) => {
    if (e === 'amp') return '&';
    if (e === 'lt') return '<';
    if (e === 'gt') return '>';
    if (e === 'quot') return '"';
    if (e === 'apos') return "'";
    const n = e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
    return n > 0 && n <= 0x10ffff && (n < 0xd800 || n > 0xdfff) ? String.fromCodePoint(n) : '\uFFFD';
  });
}

const isSpace = (c: string | undefined) => c === ' ' || c === '\t' || c === '\n' || c === '\r';

/**
 * `name="value"` pairs of a start tag's body (after the element name). A hand-written linear scan: a regex
 * here backtracks quadratically on a long run of junk, and these packets come from untrusted files.
 * Returns null when the attribute syntax is broken.
 */
function parseAttrs(s: string, from: number): [string, string][] | null {
  const out: [string, string][] = [];
  let i = from;
  const n = s.length;
  for (;;) {
    while (i < n && isSpace(s[i])) i++;
    if (i >= n) return out;
    const ns = i;
    while (i < n && !isSpace(s[i]) && s[i] !== '=') i++;
    const name = s.slice(ns, i);
    while (i < n && isSpace(s[i])) i++;
    if (s[i] !== '=') return null;
    i++;
    while (i < n && isSpace(s[i])) i++;
    const q = s[i];
    if (q !== '"' && q !== "'") return null;
    const e = s.indexOf(q, i + 1);
    if (e < 0) return null;
    out.push([name, s.slice(i + 1, e)]);
    i = e + 1;
  }
}

interface Scope {
  decls: Map<string, string> | null; // namespaces this element declares: prefix → URI ('' = default)
  name: string; // qualified name as written, to match the end tag
  capture: boolean; // this element is the property being read
}

/** Deeper nesting than any real XMP packet: treated as malformed (bounds the scope walk below). */
const MAX_DEPTH = 256;

const localName = (qname: string) => qname.slice(qname.indexOf(':') + 1);

/** Namespace URI of a qualified name, looking through the open elements' declarations (innermost first). */
function nsOf(qname: string, own: Map<string, string> | null, stack: Scope[], isAttr: boolean): string {
  const i = qname.indexOf(':');
  if (i < 0 && isAttr) return ''; // unprefixed attributes are in no namespace
  const prefix = i < 0 ? '' : qname.slice(0, i);
  if (prefix === 'xml') return XML_NS;
  if (own?.has(prefix)) return own.get(prefix)!;
  for (let j = stack.length - 1; j >= 0; j--) {
    const d = stack[j]!.decls;
    if (d?.has(prefix)) return d.get(prefix)!;
  }
  return '';
}

/**
 * The value of the first XMP property (namespace URI + local name) in attribute form (`p:Name="…"`),
 * element form (`<p:Name>…</p:Name>`, text and CDATA) or resource form (`<p:Name rdf:resource="…"/>`).
 * Entities are decoded. Returns null when absent. Malformed XML ends the search (null) rather than throwing.
 * Linear in the packet size: the packets come from untrusted files.
 */
export function readXmpProperty(xmp: string, nsUri: string, local: string): string | null {
  const stack: Scope[] = [];
  let text: string | null = null; // collecting element content when non-null
  let i = 0;
  const n = xmp.length;
  while (i < n) {
    const lt = xmp.indexOf('<', i);
    if (lt < 0) break;
    if (text !== null) text += xmp.slice(i, lt);
    if (xmp.startsWith('<!--', lt)) {
      const e = xmp.indexOf('-->', lt + 4);
      if (e < 0) return null;
      i = e + 3;
    } else if (xmp.startsWith('<![CDATA[', lt)) {
      const e = xmp.indexOf(']]>', lt + 9);
      if (e < 0) return null;
      if (text !== null) text += xmp.slice(lt + 9, e).replace(/&/g, '&amp;'); // kept literal through decodeEntities
      i = e + 3;
    } else if (xmp[lt + 1] === '?' || xmp[lt + 1] === '!') {
      const e = xmp.indexOf('>', lt + 2);
      if (e < 0) return null;
      i = e + 1;
    } else {
      const e = findTagEnd(xmp, lt + 1);
      if (e < 0) return null;
      const body = xmp.slice(lt + 1, e);
      i = e + 1;
      if (body[0] === '/') {
        const top = stack.pop();
        if (!top || top.name !== body.slice(1).trim()) return null; // mismatched tags: not well-formed
        if (top.capture && text !== null) return decodeEntities(text);
        continue;
      }
      const selfClosing = body.endsWith('/');
      const inner = selfClosing ? body.slice(0, -1) : body;
      const m = /^[^\s/>]+/.exec(inner);
      if (!m) return null;
      const name = m[0];
      const attrs = parseAttrs(inner, name.length);
      if (!attrs) return null;
      let decls: Map<string, string> | null = null;
      for (const [k, v] of attrs) {
        if (k === 'xmlns' || k.startsWith('xmlns:')) (decls ??= new Map()).set(k === 'xmlns' ? '' : k.slice(6), decodeEntities(v));
      }
      // resolve namespaces only for names whose local part matches (keeps the scope walk rare)
      for (const [k, v] of attrs) {
        if (k.startsWith('xmlns') || localName(k) !== local) continue;
        if (nsOf(k, decls, stack, true) === nsUri) return decodeEntities(v);
      }
      const capture = text === null && localName(name) === local && nsOf(name, decls, stack, false) === nsUri;
      if (capture) {
        const res = attrs.find(([k]) => localName(k) === 'resource' && nsOf(k, decls, stack, true) === RDF_NS);
        if (res) return decodeEntities(res[1]);
        if (selfClosing) return '';
      }
      if (!selfClosing) {
        if (stack.length >= MAX_DEPTH) return null;
        stack.push({ decls, name, capture });
        if (capture) text = '';
      }
    }
  }
  return null;
}

/** Index of the `>` closing a tag whose body starts at `from`, skipping quoted attribute values. */
function findTagEnd(s: string, from: number): number {
  let q = '';
  for (let i = from; i < s.length; i++) {
    const c = s[i]!;
    if (q) {
      if (c === q) q = '';
    } else if (c === '"' || c === "'") q = c;
    else if (c === '>') return i;
  }
  return -1;
}

/** The TC260:AIGC value of an XMP packet (any prefix bound to the TC260 namespace), or null. */
export function readXmpAigc(xmp: string): string | null {
  return readXmpProperty(xmp, TC260_NS, 'AIGC');
}

/** The Iptc4xmpExt:DigitalSourceType value of an XMP packet, or null. */
export function readXmpSourceType(xmp: string): string | null {
  const v = readXmpProperty(xmp, IPTC_EXT_NS, 'DigitalSourceType');
  return v === null ? null : v.trim();
}

// ------------------------------------------------------------------ byte helpers shared by the carriers

const utf8 = new TextEncoder();
const utf8Dec = new TextDecoder('utf-8', { fatal: false });

export function encodeUtf8(s: string): Uint8Array {
  return utf8.encode(s);
}

/** UTF-8 text of an XMP payload; a leading BOM and trailing NULs (some writers add them) are dropped. */
export function decodeXmpText(b: Uint8Array): string {
  let end = b.length;
  while (end > 0 && b[end - 1] === 0) end--;
  return utf8Dec.decode(b.subarray(0, end)).replace(/^\uFEFF/, '');
}

export function ascii(b: Uint8Array, start: number, len: number): string {
  let s = '';
  for (let i = 0; i < len; i++) s += String.fromCharCode(b[start + i]!);
  return s;
}

export function startsWithAscii(b: Uint8Array, at: number, s: string): boolean {
  if (at + s.length > b.length) return false;
  for (let i = 0; i < s.length; i++) if (b[at + i] !== s.charCodeAt(i)) return false;
  return true;
}

export interface Edit {
  start: number; // bytes [start, end) of the source are dropped…
  end: number;
  insert?: Uint8Array; // …and replaced by these
}

/** Apply sorted, non-overlapping edits to `src` in one copy (the carriers never re-encode anything). */
export function spliceBytes(src: Uint8Array, edits: Edit[]): Uint8Array {
  let size = src.length;
  let prev = 0;
  for (const e of edits) {
    if (e.start < prev || e.end < e.start || e.end > src.length) throw new Error('internal: bad splice edits');
    prev = e.end;
    size += (e.insert?.length ?? 0) - (e.end - e.start);
  }
  const out = new Uint8Array(size);
  let s = 0;
  let o = 0;
  for (const e of edits) {
    out.set(src.subarray(s, e.start), o);
    o += e.start - s;
    if (e.insert) {
      out.set(e.insert, o);
      o += e.insert.length;
    }
    s = e.end;
  }
  out.set(src.subarray(s), o);
  return out;
}
