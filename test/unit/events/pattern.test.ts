import { type EventPattern, matchesAnyPattern, matchesPattern, validatePattern } from '@lcm/shared/events';
import { describe, expect, it } from 'vitest';

const event = {
  source: 'urn:lablet:lds',
  'detail-type': 'io.lablet.lds.session.running.v1',
  detail: {
    id: 'e-1',
    data: { lcmSessionId: 's-1', score: 7, tags: ['a', 'b'], nothing: null, flag: false },
  },
};

describe('matchesPattern', () => {
  it.each<[string, EventPattern, boolean]>([
    ['exact value', { source: ['urn:lablet:lds'] }, true],
    ['one of several values', { source: ['x', 'urn:lablet:lds'] }, true],
    ['no value matches', { source: ['x', 'y'] }, false],
    ['every field must match', { source: ['urn:lablet:lds'], 'detail-type': ['other'] }, false],
    ['nested field', { detail: { data: { lcmSessionId: ['s-1'] } } }, true],
    ['nested field mismatch', { detail: { data: { lcmSessionId: ['s-2'] } } }, false],
    ['prefix', { 'detail-type': [{ prefix: 'io.lablet.lds.' }] }, true],
    ['prefix mismatch', { 'detail-type': [{ prefix: 'io.lablet.grading.' }] }, false],
    ['suffix', { 'detail-type': [{ suffix: '.v1' }] }, true],
    ['equals-ignore-case', { source: [{ 'equals-ignore-case': 'URN:LABLET:LDS' }] }, true],
    ['anything-but a value', { source: [{ 'anything-but': 'lcm.control-plane' }] }, true],
    ['anything-but the value itself', { source: [{ 'anything-but': ['urn:lablet:lds'] }] }, false],
    ['anything-but prefix', { source: [{ 'anything-but': { prefix: 'urn:' } }] }, false],
    ['anything-but on a missing field', { detail: { missing: [{ 'anything-but': 'x' }] } }, false],
    ['exists true', { detail: { id: [{ exists: true }] } }, true],
    ['exists true on a missing field', { detail: { missing: [{ exists: true }] } }, false],
    ['exists false on a missing field', { detail: { missing: [{ exists: false }] } }, true],
    ['exists false on a present field', { detail: { id: [{ exists: false }] } }, false],
    ['exists true on an object is false (leaf values only)', { detail: { data: [{ exists: true }] } }, false],
    ['numeric range', { detail: { data: { score: [{ numeric: ['>', 5, '<=', 7] }] } } }, true],
    ['numeric out of range', { detail: { data: { score: [{ numeric: ['>', 7] }] } } }, false],
    ['array field: any element', { detail: { data: { tags: ['b'] } } }, true],
    ['array field: no element', { detail: { data: { tags: ['c'] } } }, false],
    ['null value', { detail: { data: { nothing: [null] } } }, true],
    ['boolean value', { detail: { data: { flag: [false] } } }, true],
    ['a string never equals a number', { detail: { data: { score: ['7'] } } }, false],
  ])('%s', (_name, pattern, expected) => {
    expect(validatePattern(pattern)).toEqual([]);
    expect(matchesPattern(pattern, event)).toBe(expected);
  });

  it('matches any of several patterns (Lambda filter criteria)', () => {
    expect(matchesAnyPattern([{ source: ['x'] }, { source: ['urn:lablet:lds'] }], event)).toBe(true);
    expect(matchesAnyPattern([{ source: ['x'] }], event)).toBe(false);
    expect(matchesAnyPattern([], event)).toBe(false);
  });
});

describe('validatePattern', () => {
  it.each<[string, unknown, RegExp]>([
    ['not an object', ['a'], /must be an object/],
    ['empty', {}, /must not be empty/],
    ['empty match list', { source: [] }, /must not be empty/],
    ['scalar instead of a list', { source: 'x' }, /match list/],
    ['unknown matcher', { source: [{ wildcard: 'x*' }] }, /unsupported matcher wildcard/],
    ['bad numeric', { n: [{ numeric: ['>>', 1] }] }, /numeric/],
    ['bad exists', { n: [{ exists: 'yes' }] }, /exists/],
  ])('refuses %s', (_name, pattern, message) => {
    expect(validatePattern(pattern).join('; ')).toMatch(message);
  });
});
