// Volcengine OpenAPI request signing (HMAC-SHA256, "签名方法", volcengine.com/docs/6369/67269), written from the
// public description. It is AWS SigV4 in shape, with Volcengine's names:
//
//   CanonicalRequest = Method \n CanonicalURI \n CanonicalQueryString \n CanonicalHeaders \n SignedHeaders \n hex(sha256(body))
//   CredentialScope  = YYYYMMDD/<region>/<service>/request
//   StringToSign     = "HMAC-SHA256" \n X-Date \n CredentialScope \n hex(sha256(CanonicalRequest))
//   kSigning         = HMAC(HMAC(HMAC(HMAC(SecretKey, YYYYMMDD), region), service), "request")   (the raw secret, no prefix)
//   Authorization    = HMAC-SHA256 Credential=<AK>/<scope>, SignedHeaders=<names>, Signature=hex(HMAC(kSigning, StringToSign))
//
// Canonical headers are `lowercase(name):trim(value)\n`, sorted by name; host and x-date must be signed. Query
// parameters are RFC 3986-encoded and sorted by name. The signed headers here are content-type, host,
// x-content-sha256 and x-date, as the visual (cv) service documents for JSON POSTs.
import { createHash, createHmac } from 'node:crypto';

export const VOLC_ALGORITHM = 'HMAC-SHA256';

const sha256Hex = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data, 'utf8').digest();

/** RFC 3986 percent-encoding: everything but A–Z a–z 0–9 - _ . ~ */
export function rfc3986(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

/** `Action=…&Version=…`: names and values encoded, sorted by name (a repeated name keeps its order). */
export function canonicalQuery(params: URLSearchParams): string {
  const pairs = [...params.entries()].map(([k, v]) => [rfc3986(k), rfc3986(v)] as const);
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

/** YYYYMMDD'T'HHMMSS'Z' in UTC. */
export function volcDate(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

/** The derived signing key for one day, region and service. */
export function signingKey(secretKey: string, shortDate: string, region: string, service: string): Buffer {
  return hmac(hmac(hmac(hmac(secretKey, shortDate), region), service), 'request');
}

export interface CanonicalParts {
  method: string;
  /** the URL path, already percent-encoded as sent ('/' when empty) */
  path: string;
  query: URLSearchParams;
  /** the headers to sign, names in any case */
  headers: Record<string, string>;
  /** hex sha256 of the body (the X-Content-Sha256 value) */
  payloadHash: string;
}

/** CanonicalRequest and the SignedHeaders list, from the parts of a request. */
export function canonicalRequest(p: CanonicalParts): { canonical: string; signedHeaders: string } {
  const entries = Object.entries(p.headers)
    .map(([k, v]) => [k.toLowerCase(), v.trim()] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const signedHeaders = entries.map(([k]) => k).join(';');
  const canonicalHeaders = entries.map(([k, v]) => `${k}:${v}\n`).join('');
  const canonical = [p.method.toUpperCase(), p.path || '/', canonicalQuery(p.query), canonicalHeaders, signedHeaders, p.payloadHash].join('\n');
  return { canonical, signedHeaders };
}

/** hex HMAC of the StringToSign, given the canonical request. */
export function signature(secretKey: string, xDate: string, region: string, service: string, canonical: string): string {
  const shortDate = xDate.slice(0, 8);
  const scope = `${shortDate}/${region}/${service}/request`;
  const stringToSign = [VOLC_ALGORITHM, xDate, scope, sha256Hex(canonical)].join('\n');
  return createHmac('sha256', signingKey(secretKey, shortDate, region, service)).update(stringToSign, 'utf8').digest('hex');
}

export interface VolcCredentials {
  accessKey: string;
  secretKey: string;
  region: string;
  service: string;
}

/**
 * The headers of a signed JSON POST to `url` (Host, X-Date, X-Content-Sha256, Content-Type, Authorization).
 * `now` is the signing time (X-Date).
 */
export function signJsonPost(url: string, body: string, c: VolcCredentials, now = new Date()): Record<string, string> {
  const u = new URL(url);
  const xDate = volcDate(now);
  const payloadHash = sha256Hex(body);
  const signed = {
    'Content-Type': 'application/json',
    Host: u.host,
    'X-Content-Sha256': payloadHash,
    'X-Date': xDate,
  };
  const { canonical, signedHeaders } = canonicalRequest({ method: 'POST', path: u.pathname, query: u.searchParams, headers: signed, payloadHash });
  const sig = signature(c.secretKey, xDate, c.region, c.service, canonical);
  const scope = `${xDate.slice(0, 8)}/${c.region}/${c.service}/request`;
  return {
    ...signed,
    Authorization: `${VOLC_ALGORITHM} Credential=${c.accessKey}/${scope}, SignedHeaders=${signedHeaders}, Signature=${sig}`,
  };
}
