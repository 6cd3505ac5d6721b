import { createHmac } from 'node:crypto';
import {
  headerValue,
  KEY_ID_HEADER,
  SIGNATURE_HEADER,
  signatureHeaders,
  signBody,
  verifySignature,
} from '@lcm/shared/events';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const CURRENT = 'current-secret-2026-0123456789';
const PREVIOUS = 'previous-secret-2025-987654321';
const BODY =
  '{"specversion":"1.0","id":"e-1","source":"urn:lds","type":"io.lablet.lds.session.running.v1","data":{}}';

describe('signBody', () => {
  it('is sha256=<hex HMAC-SHA256> of the raw body', () => {
    const expected = createHmac('sha256', CURRENT).update(BODY).digest('hex');
    expect(signBody(CURRENT, BODY)).toBe(`sha256=${expected}`);
    expect(signBody(CURRENT, Buffer.from(BODY))).toBe(`sha256=${expected}`);
    expect(signBody(CURRENT, BODY)).toMatch(/^sha256=[0-9a-f]{64}$/);
  });

  it('builds the headers, with the optional key id', () => {
    expect(signatureHeaders(CURRENT, BODY)).toEqual({ [SIGNATURE_HEADER]: signBody(CURRENT, BODY) });
    expect(signatureHeaders(CURRENT, BODY, 'k-1')).toEqual({
      'x-lcm-signature': signBody(CURRENT, BODY),
      'x-lcm-key-id': 'k-1',
    });
    expect(KEY_ID_HEADER).toBe('x-lcm-key-id');
  });

  it('matches the known answer documented in docs/integrations.md (computed with openssl)', () => {
    const body =
      '{"specversion":"1.0","id":"9b1d-01","source":"https://labs.example.com","type":"io.lablet.lds.session.running.v1","time":"2026-11-22T10:00:05Z","datacontenttype":"application/json","data":{"ldsSessionId":"lds-42","lcmSessionId":"01JD5Z3K8Q","at":"2026-11-22T10:00:05Z"}}';
    expect(signBody('example-secret-do-not-use-000', body)).toBe(
      'sha256=23e2a92e8e1678ddd5feec24594b7938b5327a5584cd4856586a3bef29366e30',
    );
  });

  it('refuses an empty secret', () => {
    expect(() => signBody('', BODY)).toThrow();
  });
});

describe('verifySignature', () => {
  it('accepts the current secret and, during a rotation, the previous one', () => {
    expect(verifySignature(BODY, signBody(CURRENT, BODY), [CURRENT, PREVIOUS])).toEqual({
      ok: true,
      secretIndex: 0,
    });
    expect(verifySignature(BODY, signBody(PREVIOUS, BODY), [CURRENT, PREVIOUS])).toEqual({
      ok: true,
      secretIndex: 1,
    });
  });

  it('rejects a retired secret once rotation is complete', () => {
    expect(verifySignature(BODY, signBody(PREVIOUS, BODY), [CURRENT])).toEqual({
      ok: false,
      reason: 'MISMATCH',
    });
  });

  it('detects tampering with the body or the signature', () => {
    const sig = signBody(CURRENT, BODY);
    expect(verifySignature(BODY.replace('e-1', 'e-2'), sig, [CURRENT])).toEqual({
      ok: false,
      reason: 'MISMATCH',
    });
    expect(verifySignature(`${BODY} `, sig, [CURRENT]).ok).toBe(false);
    // Re-serialised JSON is different bytes: verification must use the raw body.
    expect(verifySignature(JSON.stringify(JSON.parse(BODY), null, 1), sig, [CURRENT]).ok).toBe(false);
    const flipped = sig.slice(0, -1) + (sig.endsWith('0') ? '1' : '0');
    expect(verifySignature(BODY, flipped, [CURRENT])).toEqual({ ok: false, reason: 'MISMATCH' });
  });

  it('tells missing, malformed and no-secret apart', () => {
    expect(verifySignature(BODY, undefined, [CURRENT])).toEqual({ ok: false, reason: 'MISSING' });
    expect(verifySignature(BODY, '  ', [CURRENT])).toEqual({ ok: false, reason: 'MISSING' });
    expect(verifySignature(BODY, 'sha1=abcd', [CURRENT])).toEqual({ ok: false, reason: 'MALFORMED' });
    expect(verifySignature(BODY, `sha256=${'a'.repeat(63)}`, [CURRENT])).toEqual({
      ok: false,
      reason: 'MALFORMED',
    });
    expect(verifySignature(BODY, `sha256=${'z'.repeat(64)}`, [CURRENT])).toEqual({
      ok: false,
      reason: 'MALFORMED',
    });
    expect(verifySignature(BODY, signBody(CURRENT, BODY), [])).toEqual({ ok: false, reason: 'NO_SECRETS' });
    expect(verifySignature(BODY, signBody(CURRENT, BODY), [''])).toEqual({ ok: false, reason: 'NO_SECRETS' });
  });

  it('accepts upper-case hex, surrounding whitespace and a header array', () => {
    const sig = signBody(CURRENT, BODY);
    expect(verifySignature(BODY, `SHA256=${sig.slice(7).toUpperCase()}`, [CURRENT]).ok).toBe(true);
    expect(verifySignature(BODY, ` ${sig} `, [CURRENT]).ok).toBe(true);
    expect(verifySignature(BODY, [sig], [CURRENT]).ok).toBe(true);
  });

  it('uses the key id to pick a keyed secret, and falls back to all for an unknown id', () => {
    const secrets = [
      { keyId: 'k-2026', secret: CURRENT },
      { keyId: 'k-2025', secret: PREVIOUS },
    ];
    expect(verifySignature(BODY, signBody(PREVIOUS, BODY), secrets, 'k-2025')).toEqual({
      ok: true,
      secretIndex: 1,
    });
    // Named the wrong key: only that key is tried.
    expect(verifySignature(BODY, signBody(PREVIOUS, BODY), secrets, 'k-2026').ok).toBe(false);
    expect(verifySignature(BODY, signBody(PREVIOUS, BODY), secrets, 'k-unknown')).toEqual({
      ok: true,
      secretIndex: 1,
    });
    expect(verifySignature(BODY, signBody(PREVIOUS, BODY), secrets)).toEqual({ ok: true, secretIndex: 1 });
  });

  it('round-trips for any body and secret, and fails for any other body', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.string(), fc.string(), (secret, body, other) => {
        const sig = signBody(secret, body);
        const same = verifySignature(body, sig, [secret]).ok;
        const differs = body === other || !verifySignature(other, sig, [secret]).ok;
        return same && differs;
      }),
    );
  });
});

describe('headerValue', () => {
  it('reads headers case-insensitively', () => {
    expect(headerValue({ 'X-LCM-Signature': 'a' }, SIGNATURE_HEADER)).toBe('a');
    expect(headerValue({ 'x-lcm-signature': ['b', 'c'] }, 'X-Lcm-Signature')).toBe('b');
    expect(headerValue(undefined, SIGNATURE_HEADER)).toBeUndefined();
  });
});
