import { BindingError, MAX_BATCH_EVENTS, parseHttpMessage } from '@lcm/shared/events';
import { CloudEvent, HTTP } from 'cloudevents';
import { describe, expect, it } from 'vitest';

const utf8 = (s: string) => Buffer.from(s, 'utf8');

const attrs = {
  id: 'evt-1',
  source: 'urn:lablet:lds:sandbox',
  type: 'io.lablet.lds.session.running.v1',
  time: '2030-01-01T09:00:00.000Z',
  datacontenttype: 'application/json',
  data: { ldsSessionId: 'lds-1', lcmSessionId: 's-1' },
};

const headersOf = (h: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(h).map(([k, v]) => [k, String(v)])) as Record<string, string>;

describe('parseHttpMessage (CloudEvents HTTP binding)', () => {
  it('structured mode: the body is the event (as the cloudevents SDK serialises it)', () => {
    const message = HTTP.structured(new CloudEvent(attrs));
    const parsed = parseHttpMessage(headersOf(message.headers), utf8(String(message.body)));
    expect(parsed.mode).toBe('structured');
    expect(parsed.events).toHaveLength(1);
    expect(parsed.events[0]).toMatchObject({ specversion: '1.0', ...attrs });
  });

  it('binary mode: attributes from ce-* headers, data from the body (as the SDK serialises it)', () => {
    const message = HTTP.binary(new CloudEvent({ ...attrs, partnerext: 'x y' }));
    const parsed = parseHttpMessage(headersOf(message.headers), utf8(String(message.body)));
    expect(parsed.mode).toBe('binary');
    expect(parsed.events[0]).toEqual({
      specversion: '1.0',
      ...attrs,
      partnerext: 'x y',
    });
  });

  it('binary mode: header names are case-insensitive and values percent-decoded', () => {
    const parsed = parseHttpMessage(
      {
        'CE-SpecVersion': '1.0',
        'Ce-Id': 'evt%201',
        'ce-source': 'urn:x',
        'ce-type': 't',
        'Content-Type': 'application/json; charset=utf-8',
      },
      utf8('{"a":1}'),
    );
    expect(parsed.events[0]).toEqual({
      specversion: '1.0',
      id: 'evt 1',
      source: 'urn:x',
      type: 't',
      datacontenttype: 'application/json; charset=utf-8',
      data: { a: 1 },
    });
  });

  it('binary mode without a body has no data; with non-JSON content it is carried as text or base64', () => {
    const base = { 'ce-specversion': '1.0', 'ce-id': '1', 'ce-source': 's', 'ce-type': 't' };
    expect(parseHttpMessage(base, new Uint8Array()).events[0]).not.toHaveProperty('data');
    expect(parseHttpMessage({ ...base, 'content-type': 'text/plain' }, utf8('hi')).events[0]).toMatchObject({
      data: 'hi',
    });
    expect(
      parseHttpMessage({ ...base, 'content-type': 'application/octet-stream' }, Buffer.from([1, 2]))
        .events[0],
    ).toMatchObject({ data_base64: 'AQI=' });
  });

  it('batch mode: a JSON array of structured events', () => {
    const events = [new CloudEvent(attrs), new CloudEvent({ ...attrs, id: 'evt-2' })];
    const parsed = parseHttpMessage(
      { 'content-type': 'application/cloudevents-batch+json' },
      utf8(JSON.stringify(events)),
    );
    expect(parsed.mode).toBe('batch');
    expect(parsed.events.map((e) => e.id)).toEqual(['evt-1', 'evt-2']);
  });

  it('does not invent an id or a time (the SDK deserializer would)', () => {
    const { id: _id, time: _time, ...rest } = attrs;
    const parsed = parseHttpMessage(
      { 'content-type': 'application/cloudevents+json' },
      utf8(JSON.stringify({ specversion: '1.0', ...rest })),
    );
    expect(parsed.events[0]).not.toHaveProperty('id');
    expect(parsed.events[0]).not.toHaveProperty('time');
  });

  it.each<[string, Record<string, string>, Uint8Array, RegExp, string]>([
    [
      'plain JSON without ce- headers',
      { 'content-type': 'application/json' },
      utf8('{}'),
      /not a CloudEvent/,
      'content-type',
    ],
    ['no content type', {}, utf8('{}'), /not a CloudEvent/, 'content-type'],
    [
      'structured: invalid JSON',
      { 'content-type': 'application/cloudevents+json' },
      utf8('{'),
      /not valid JSON/,
      'body',
    ],
    [
      'structured: an array',
      { 'content-type': 'application/cloudevents+json' },
      utf8('[]'),
      /JSON object/,
      'body',
    ],
    [
      'structured: not UTF-8',
      { 'content-type': 'application/cloudevents+json' },
      Buffer.from([0xff, 0xfe]),
      /UTF-8/,
      'body',
    ],
    [
      'a charset other than UTF-8',
      { 'content-type': 'application/cloudevents+json; charset=latin1' },
      utf8('{}'),
      /UTF-8/,
      'content-type',
    ],
    [
      'another event format',
      { 'content-type': 'application/cloudevents+avro' },
      utf8('x'),
      /unsupported event format/,
      'content-type',
    ],
    [
      'batch: not an array',
      { 'content-type': 'application/cloudevents-batch+json' },
      utf8('{}'),
      /JSON array/,
      'body',
    ],
    ['batch: empty', { 'content-type': 'application/cloudevents-batch+json' }, utf8('[]'), /empty/, 'body'],
    [
      'batch: an element that is not an object',
      { 'content-type': 'application/cloudevents-batch+json' },
      utf8('[{}, 3]'),
      /JSON object/,
      '[1]',
    ],
    [
      'binary: invalid JSON data',
      { 'ce-id': '1', 'content-type': 'application/json' },
      utf8('{'),
      /not valid JSON/,
      'body',
    ],
    ['binary: bad percent-encoding', { 'ce-id': '%E0%A4%A' }, new Uint8Array(), /percent-encoded/, 'ce-id'],
    [
      'binary: a ce-datacontenttype header',
      { 'ce-id': '1', 'ce-datacontenttype': 'x' },
      new Uint8Array(),
      /not a binary-mode header/,
      'ce-datacontenttype',
    ],
  ])('refuses %s', (_name, headers, body, message, path) => {
    let error: unknown;
    try {
      parseHttpMessage(headers, body);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(BindingError);
    expect((error as BindingError).message).toMatch(message);
    expect((error as BindingError).path).toBe(path);
  });

  it(`refuses a batch of more than ${MAX_BATCH_EVENTS} events`, () => {
    const batch = Array.from({ length: MAX_BATCH_EVENTS + 1 }, (_, i) => ({ ...attrs, id: `e-${i}` }));
    expect(() =>
      parseHttpMessage({ 'content-type': 'application/cloudevents-batch+json' }, utf8(JSON.stringify(batch))),
    ).toThrow(/at most/);
  });
});
