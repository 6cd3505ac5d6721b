import { createHmac } from 'node:crypto';
import { verifyWebhook, webhookHeaders } from '@lcm/shared/events';
import { describe, expect, it } from 'vitest';

/** Standard Webhooks signing and verification (events/webhooks.ts, the `standardwebhooks` library). */

const BODY = '{"specversion":"1.0","id":"e-1"}';
const RAW_SECRET = 'lds-unit-secret-0123456789';
const KEY = Buffer.from('a 32-byte key for the whsec form').toString('base64');
const WHSEC = `whsec_${KEY}`;
const AT = new Date('2030-01-01T09:00:00Z');
const NOW = AT.getTime();
const TS = NOW / 1000;
const signed = (secret = RAW_SECRET) => {
  const h = webhookHeaders(secret, 'msg-1', BODY, AT);
  return { id: h['webhook-id'], timestamp: h['webhook-timestamp'], signature: h['webhook-signature'] };
};

describe('Standard Webhooks signatures', () => {
  it('sign "<id>.<timestamp>.<body>" with HMAC-SHA256, as the standard says (checked independently)', () => {
    expect(webhookHeaders(RAW_SECRET, 'msg-1', BODY, AT)).toEqual({
      'webhook-id': 'msg-1',
      'webhook-timestamp': String(TS),
      'webhook-signature': `v1,${createHmac('sha256', RAW_SECRET).update(`msg-1.${TS}.${BODY}`).digest('base64')}`,
    });
    // whsec_<base64>: the key is the decoded bytes.
    expect(signed(WHSEC).signature).toBe(
      `v1,${createHmac('sha256', Buffer.from(KEY, 'base64')).update(`msg-1.${TS}.${BODY}`).digest('base64')}`,
    );
  });

  it('verifies with any active secret (rotation) and says which; a changed id, timestamp or body does not', () => {
    const h = signed();
    expect(verifyWebhook(BODY, h, [WHSEC, RAW_SECRET], { nowMs: NOW })).toEqual({
      ok: true,
      secretIndex: 1,
      timestamp: TS,
    });
    expect(verifyWebhook(`${BODY} `, h, [RAW_SECRET], { nowMs: NOW })).toEqual({
      ok: false,
      reason: 'MISMATCH',
    });
    expect(verifyWebhook(BODY, { ...h, id: 'msg-2' }, [RAW_SECRET], { nowMs: NOW })).toMatchObject({
      reason: 'MISMATCH',
    });
    expect(
      verifyWebhook(BODY, { ...h, timestamp: String(TS + 1) }, [RAW_SECRET], { nowMs: NOW }),
    ).toMatchObject({ reason: 'MISMATCH' });
    expect(verifyWebhook(BODY, h, [], { nowMs: NOW })).toEqual({ ok: false, reason: 'NO_SECRETS' });
  });

  it('the replay window: 300 s either way by default, configurable; verified but outside it is TIMESTAMP', () => {
    const h = signed();
    expect(verifyWebhook(BODY, h, [RAW_SECRET], { nowMs: NOW + 300_000 }).ok).toBe(true);
    expect(verifyWebhook(BODY, h, [RAW_SECRET], { nowMs: NOW + 301_000 })).toEqual({
      ok: false,
      reason: 'TIMESTAMP',
      secretIndex: 0,
      skewSeconds: 301,
    });
    expect(verifyWebhook(BODY, h, [RAW_SECRET], { nowMs: NOW - 301_000 })).toMatchObject({
      reason: 'TIMESTAMP',
      skewSeconds: -301,
    });
    expect(verifyWebhook(BODY, h, [RAW_SECRET], { nowMs: NOW + 20_000, toleranceSeconds: 10 })).toMatchObject(
      {
        reason: 'TIMESTAMP',
      },
    );
  });

  it('missing and malformed headers; several signatures, one matching, verify', () => {
    const h = signed();
    expect(verifyWebhook(BODY, { ...h, id: undefined }, [RAW_SECRET], { nowMs: NOW })).toMatchObject({
      reason: 'MISSING',
    });
    expect(verifyWebhook(BODY, { ...h, timestamp: '1.5' }, [RAW_SECRET], { nowMs: NOW })).toMatchObject({
      reason: 'MALFORMED',
    });
    expect(verifyWebhook(BODY, { ...h, signature: 'v1a,xyz' }, [RAW_SECRET], { nowMs: NOW })).toMatchObject({
      reason: 'MALFORMED',
    });
    expect(
      verifyWebhook(BODY, { ...h, signature: `v1,AAAA ${h.signature}` }, [RAW_SECRET], { nowMs: NOW }).ok,
    ).toBe(true);
  });
});
