import {
  type IngestDeps,
  ingestEvents,
  type PartnerConfig,
  signatureHeaders,
  webhookHeaders,
} from '@lcm/shared/events';
import { publishMetrics } from '@lcm/shared/platform';
import { describe, expect, it } from 'vitest';
import { captureEmf, type EmfPoint, metricsStageForTests } from '../../support/emf.ts';

/** Inbound events accepted / rejected by partner and reason, as ingest decides (events/ingest.ts). */

const LDS_SOURCE = 'urn:lablet:lds:unit';
const SECRET = 'lds-unit-secret-0123456789';
const partners: PartnerConfig[] = [
  { id: 'lds', sources: [LDS_SOURCE], types: ['io.lablet.lds.'], secrets: [SECRET] },
  {
    id: 'grading',
    sources: ['urn:lablet:grading:unit'],
    types: ['io.lablet.grading.'],
    secrets: ['grading-unit-secret-0123'],
  },
];

const event = (over: Record<string, unknown> = {}) => ({
  specversion: '1.0',
  id: 'e-1',
  source: LDS_SOURCE,
  type: 'io.lablet.lds.session.running.v1',
  time: '2030-01-01T09:00:00Z',
  datacontenttype: 'application/json',
  data: { ldsSessionId: 'lds-1', lcmSessionId: 's-1' },
  ...over,
});

const published: unknown[] = [];
const deps: IngestDeps = {
  partners: { partners: async () => partners },
  publisher: { publish: async (events) => void published.push(...events) },
};

async function post(body: unknown, secret = SECRET, contentType = 'application/cloudevents-batch+json') {
  const raw = new TextEncoder().encode(typeof body === 'string' ? body : JSON.stringify(body));
  return ingestEvents(deps, {
    headers: { 'content-type': contentType, ...webhookHeaders(secret, 'msg-1', raw) },
    body: raw,
  });
}

const summary = (points: EmfPoint[]): Array<Record<string, unknown>> =>
  points.map((p) => ({ name: p.name, values: p.values, ...p.dimensions }));

describe('inbound event metrics (events/ingest.ts)', () => {
  metricsStageForTests('test');

  it('an accepted batch counts its events for the partner', async () => {
    const points = await captureEmf(async () => {
      await post([event(), event({ id: 'e-2' })]);
      publishMetrics();
    });
    expect(summary(points)).toEqual([
      { name: 'InboundEventsAccepted', values: [2], service: 'lcm', stage: 'test', partner: 'lds' },
    ]);
  });

  it('rejections by partner and the step that refused them', async () => {
    const points = await captureEmf(async () => {
      // wrong secret: no partner identified
      await expect(post([event()], 'not-the-secret-0123456789')).rejects.toMatchObject({ status: 401 });
      // a source the partner may not send
      await expect(post([event({ source: 'urn:other' }), event({ id: 'e-2' })])).rejects.toMatchObject({
        status: 403,
      });
      // a type LCM does not accept
      await expect(post([event({ type: 'io.lablet.lds.session.unknown.v1' })])).rejects.toMatchObject({
        status: 400,
      });
      // not a CloudEvents message
      await expect(post('{nope', SECRET, 'application/cloudevents+json')).rejects.toMatchObject({
        status: 400,
      });
      publishMetrics();
    });
    expect(summary(points).sort((a, b) => String(a.reason).localeCompare(String(b.reason)))).toEqual([
      {
        name: 'InboundEventsRejected',
        values: [1],
        service: 'lcm',
        stage: 'test',
        partner: 'lds',
        reason: 'BINDING',
      },
      {
        name: 'InboundEventsRejected',
        values: [1],
        service: 'lcm',
        stage: 'test',
        partner: 'lds',
        reason: 'DATA',
      },
      {
        name: 'InboundEventsRejected',
        values: [2],
        service: 'lcm',
        stage: 'test',
        partner: 'lds',
        reason: 'NOT_ALLOWED',
      },
      {
        name: 'InboundEventsRejected',
        values: [1],
        service: 'lcm',
        stage: 'test',
        partner: 'unknown',
        reason: 'SIGNATURE',
      },
    ]);
  });

  it('signature rejections by their precise reason: TIMESTAMP (replay window) and LEGACY_SIGNATURE name the partner', async () => {
    const raw = new TextEncoder().encode(JSON.stringify([event()]));
    const batch = 'application/cloudevents-batch+json';
    const points = await captureEmf(async () => {
      // Signed 10 minutes ago and 10 minutes ahead: outside the default 5-minute window.
      for (const offset of [-600_000, 600_000]) {
        await expect(
          ingestEvents(deps, {
            headers: {
              'content-type': batch,
              ...webhookHeaders(SECRET, 'm', raw, new Date(Date.now() + offset)),
            },
            body: raw,
          }),
        ).rejects.toMatchObject({ status: 401, reason: 'TIMESTAMP' });
      }
      // The old header from a partner not configured for it.
      await expect(
        ingestEvents(deps, {
          headers: { 'content-type': batch, ...signatureHeaders(SECRET, raw) },
          body: raw,
        }),
      ).rejects.toMatchObject({ status: 401, reason: 'LEGACY_SIGNATURE' });
      publishMetrics();
    });
    expect(summary(points).sort((a, b) => String(a.reason).localeCompare(String(b.reason)))).toEqual([
      {
        name: 'InboundEventsRejected',
        values: [1],
        service: 'lcm',
        stage: 'test',
        partner: 'lds',
        reason: 'LEGACY_SIGNATURE',
      },
      {
        name: 'InboundEventsRejected',
        values: [1, 1],
        service: 'lcm',
        stage: 'test',
        partner: 'lds',
        reason: 'TIMESTAMP',
      },
    ]);
  });
});
