import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  EVENT_RULE_TARGETS,
  EVENT_RULES,
  eventPatternJson,
  INBOUND_EVENT_TYPE_LIST,
  LCM_EVENT_SOURCE,
  OUTBOUND_EVENT_TYPE_LIST,
  rulesMatching,
  validatePattern,
} from '@lcm/shared/events';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const PARTNER_SOURCES = ['urn:lablet:lds:sandbox', 'https://labs.example.com', 'urn:lablet:grading:sandbox'];

const busEvent = (source: string, type: string) => ({
  version: '0',
  id: 'b-1',
  source,
  'detail-type': type,
  account: '000000000000',
  time: '2030-01-01T00:00:00Z',
  region: 'us-east-1',
  resources: [],
  detail: { specversion: '1.0', id: 'e-1', source, type, data: {} },
});

describe('EVENT_RULES', () => {
  it('are valid patterns with unique names and existing target modules', () => {
    expect(new Set(EVENT_RULES.map((r) => r.name)).size).toBe(EVENT_RULES.length);
    for (const rule of EVENT_RULES) {
      expect(validatePattern(rule.pattern), rule.name).toEqual([]);
      expect(rule.name).toMatch(/^[A-Za-z0-9-]+$/);
      expect(existsSync(`${ROOT}${rule.target.module}`), rule.target.module).toBe(true);
      expect(JSON.parse(eventPatternJson(rule))).toEqual(rule.pattern);
      expect(rule.pattern['detail-type']).toEqual(rule.types);
    }
    expect(EVENT_RULE_TARGETS.map((t) => t.module).sort()).toEqual([
      'functions/events/grading-results.ts',
      'functions/events/learner-events.ts',
    ]);
  });

  it('route every inbound type, from any partner source, to exactly one rule: its own', () => {
    for (const type of INBOUND_EVENT_TYPE_LIST) {
      for (const source of PARTNER_SOURCES) {
        const matched = rulesMatching(busEvent(source, type));
        expect(
          matched.map((r) => r.name),
          `${type} from ${source}`,
        ).toHaveLength(1);
        expect(matched[0]!.types).toContain(type);
      }
    }
  });

  it('each rule matches its types and no other type', () => {
    for (const rule of EVENT_RULES) {
      for (const type of [
        ...INBOUND_EVENT_TYPE_LIST,
        ...OUTBOUND_EVENT_TYPE_LIST,
        'io.lablet.lds.unknown.v1',
      ]) {
        const matched = rulesMatching(busEvent('urn:lablet:lds:sandbox', type), [rule]).length === 1;
        expect(matched, `${rule.name} / ${type}`).toBe((rule.types as readonly string[]).includes(type));
      }
    }
  });

  it("never match LCM's own events (no loop from the outbox back into the handlers)", () => {
    for (const type of [...INBOUND_EVENT_TYPE_LIST, ...OUTBOUND_EVENT_TYPE_LIST]) {
      expect(rulesMatching(busEvent(LCM_EVENT_SOURCE, type)), type).toEqual([]);
    }
  });

  it('route learner events to learner-events.ts and grading results to grading-results.ts', () => {
    const targetOf = (type: string) => rulesMatching(busEvent('urn:x', type))[0]?.target.module;
    expect(targetOf('io.lablet.lds.session.running.v1')).toBe('functions/events/learner-events.ts');
    expect(targetOf('io.lablet.lds.session.paused.v1')).toBe('functions/events/learner-events.ts');
    expect(targetOf('io.lablet.lds.session.ended.v1')).toBe('functions/events/learner-events.ts');
    expect(targetOf('io.lablet.lds.session.user-finished.v1')).toBe('functions/events/learner-events.ts');
    expect(targetOf('io.lablet.grading.session.completed.v1')).toBe('functions/events/grading-results.ts');
    expect(targetOf('io.lablet.grading.session.failed.v1')).toBe('functions/events/grading-results.ts');
  });
});
