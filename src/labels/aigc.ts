// The implicit AI-content label of GB 45438-2025 (《人工智能生成合成内容标识办法》): the `AIGC` field, a JSON
// object with exactly seven string keys, printable ASCII only. ReservedCode1 holds an HMAC-SHA256 (hex) over the
// other six fields with the server's label key, so a label whose fields were changed, or one we never wrote, is
// told apart from ours. Verification accepts the current key and any retired ones (AIGC_LABEL_OLD_KEYS).
import { createHmac, timingSafeEqual } from 'node:crypto';

export const AIGC_KEYS = ['Label', 'ContentProducer', 'ProduceID', 'ReservedCode1', 'ContentPropagator', 'PropagateID', 'ReservedCode2'] as const;
export type AigcField = (typeof AIGC_KEYS)[number];
export type AigcLabel = Record<AigcField, string>;

/** Printable ASCII (0x20–0x7e), as the standard asks of every field. */
export const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

export interface LabelIdentity {
  /** ContentProducer: the service provider's code (AIGC_PRODUCER_CODE) */
  producer: string;
  /** ContentPropagator (AIGC_PROPAGATOR_CODE), empty when not set */
  propagator: string;
}

/** The fields the HMAC covers, in a fixed order, one per line (a field cannot hold a line break). */
function signedText(l: Omit<AigcLabel, 'ReservedCode1'>): string {
  return ['GB45438-AIGC-v1', l.Label, l.ContentProducer, l.ProduceID, l.ContentPropagator, l.PropagateID, l.ReservedCode2].join('\n');
}

const mac = (key: Uint8Array, text: string) => createHmac('sha256', key).update(text).digest();

/** The label of one output: AI-generated ("1"), produced by us, ProduceID = the task id, signed with `key`. */
export function buildAigcLabel(id: LabelIdentity, taskId: string, key: Uint8Array): AigcLabel {
  const fields = { Label: '1', ContentProducer: id.producer, ProduceID: taskId, ContentPropagator: id.propagator, PropagateID: id.propagator ? taskId : '', ReservedCode2: '' };
  for (const [k, v] of Object.entries(fields)) {
    if (!PRINTABLE_ASCII.test(v)) throw new Error(`AIGC label field ${k} is not printable ASCII`);
  }
  const label: AigcLabel = {
    Label: fields.Label,
    ContentProducer: fields.ContentProducer,
    ProduceID: fields.ProduceID,
    ReservedCode1: mac(key, signedText(fields)).toString('hex'),
    ContentPropagator: fields.ContentPropagator,
    PropagateID: fields.PropagateID,
    ReservedCode2: fields.ReservedCode2,
  };
  return label;
}

/** The `AIGC` value as written into files: compact JSON of the seven keys in the standard's order. */
export function serializeAigc(label: AigcLabel): string {
  const json = JSON.stringify(Object.fromEntries(AIGC_KEYS.map((k) => [k, label[k]])));
  if (!PRINTABLE_ASCII.test(json)) throw new Error('AIGC label is not printable ASCII');
  return json;
}

/** Parses an `AIGC` value: a JSON object whose values are strings (unknown keys are dropped; missing ones are ''). */
export function parseAigc(value: string): { label: AigcLabel; complete: boolean } | null {
  if (value.length > 8192) return null;
  let obj: unknown;
  try {
    obj = JSON.parse(value);
  } catch {
    return null;
  }
  if (!obj || typeof obj !== 'object' || Array.isArray(obj)) return null;
  const rec = obj as Record<string, unknown>;
  let complete = true;
  const label = {} as AigcLabel;
  for (const k of AIGC_KEYS) {
    const v = rec[k];
    if (typeof v === 'string' && PRINTABLE_ASCII.test(v)) label[k] = v;
    else {
      label[k] = '';
      complete = false;
    }
  }
  return { label, complete };
}

/** True when ReservedCode1 is the HMAC of the other fields under one of `keys`. */
export function verifyAigc(label: AigcLabel, keys: readonly Uint8Array[]): boolean {
  if (!/^[0-9a-f]{64}$/.test(label.ReservedCode1)) return false;
  const given = Buffer.from(label.ReservedCode1, 'hex');
  const text = signedText(label);
  return keys.some((k) => timingSafeEqual(mac(k, text), given));
}
