import { plainText, textProblem } from '@lcm/shared/kernel';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';

describe('textProblem (kernel/text.ts): what ids and free text may hold', () => {
  it('accepts well-formed text: letters of any script, emoji (surrogate pairs), combining marks', () => {
    for (const ok of ['r-2026-0001', 'Zoë', 'ｆｕｌｌ', '😀👩‍👩‍👧', 'e\u0301', '日本語', '', 'a b']) {
      expect(textProblem(ok), ok).toBeUndefined();
    }
  });

  it('refuses C0 and C1 controls and DEL, naming the character and where', () => {
    expect(textProblem('ab\u0000')).toBe('a control character (U+0000) at position 2');
    expect(textProblem('\u001f')).toMatch(/U\+001F/);
    expect(textProblem('\u007f')).toMatch(/U\+007F/);
    expect(textProblem('\u0080')).toMatch(/U\+0080/);
    expect(textProblem('\u009f')).toMatch(/U\+009F/);
    expect(textProblem('\u00a0')).toBeUndefined(); // NO-BREAK SPACE is text
  });

  it('TAB, LF and CR only in multi-line text', () => {
    for (const c of ['\t', '\n', '\r']) {
      expect(textProblem(`a${c}b`)).toMatch(/control character/);
      expect(textProblem(`a${c}b`, { multiline: true })).toBeUndefined();
    }
    expect(textProblem('a\n\u0000', { multiline: true })).toMatch(/U\+0000/);
  });

  it('refuses lone surrogates (not encodable as UTF-8) and U+FFFD (invalid UTF-8 where decoded)', () => {
    expect(textProblem('\ud800')).toMatch(/lone surrogate \(U\+D800\) at position 0/);
    expect(textProblem('a\udfff')).toMatch(/lone surrogate \(U\+DFFF\) at position 1/);
    expect(textProblem('\ud83d\ude00\ud83d')).toMatch(/position 2/);
    expect(textProblem('x\ufffd')).toBe('invalid UTF-8 (the replacement character U+FFFD) at position 1');
  });

  it('agrees with the definition: a string is accepted iff it is well formed and has no Cc and no U+FFFD', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 30 }), (v) => {
        const expected =
          (v as unknown as { isWellFormed(): boolean }).isWellFormed() && !/[\p{Cc}\ufffd]/u.test(v);
        expect(textProblem(v) === undefined).toBe(expected);
      }),
      { numRuns: 500 },
    );
  }, 30_000);

  it('plainText: the zod check keeps the schema and its other rules, and the issue names the field', () => {
    const schema = z.object({ name: plainText(z.string().min(1).max(5)) });
    expect(schema.safeParse({ name: 'abc' }).success).toBe(true);
    expect(schema.safeParse({ name: 'abcdefg' }).success).toBe(false);
    const r = schema.safeParse({ name: 'a\u0007' });
    expect(r.error?.issues).toEqual([
      expect.objectContaining({
        path: ['name'],
        message: expect.stringMatching(/U\+0007 at position 1|\(U\+0007\) at position 1/),
      }),
    ]);
  });
});
