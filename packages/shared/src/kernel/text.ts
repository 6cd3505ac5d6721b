import * as z from 'zod';

/**
 * What ids and free text may hold (issue 12, item 6): well-formed Unicode without control
 * characters. Refused: C0 controls (U+0000–U+001F; TAB, LF and CR allowed only in multi-line text
 * such as descriptions, reasons and topology YAML), DEL and C1 controls (U+007F–U+009F), lone
 * surrogates (a string that cannot be encoded as UTF-8, so it could be stored but never looked up
 * again by a client), and U+FFFD, the replacement character: what invalid UTF-8 becomes where it
 * was decoded (a gateway, a query string), so a field holding it received bytes that were not
 * UTF-8. One rule, `textProblem`, as one zod check, `plainText`, on every id and free-text field
 * of the entity schemas, from which the API's bodies, path parameters and query values derive; a
 * refused value is a 400 problem naming the field (api/dispatch.ts).
 */

export interface TextRuleOptions {
  /** Allow TAB, LF and CR (descriptions, reasons, YAML). */
  multiline?: boolean;
}

const u = (code: number) => `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;

/** Why `value` is not acceptable text, or undefined when it is. Pure. */
export function textProblem(value: string, opts: TextRuleOptions = {}): string | undefined {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = value.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
      return `a lone surrogate (${u(c)}) at position ${i}: not encodable as UTF-8`;
    }
    if (c >= 0xdc00 && c <= 0xdfff)
      return `a lone surrogate (${u(c)}) at position ${i}: not encodable as UTF-8`;
    if (c === 0xfffd) return `invalid UTF-8 (the replacement character U+FFFD) at position ${i}`;
    if (c < 0x20) {
      if (opts.multiline && (c === 0x09 || c === 0x0a || c === 0x0d)) continue;
      return `a control character (${u(c)}) at position ${i}`;
    }
    if (c >= 0x7f && c <= 0x9f) return `a control character (${u(c)}) at position ${i}`;
  }
  return undefined;
}

/** The zod check of `textProblem`: `plainText(z.string().max(256))`, `plainText(schema, {multiline: true})`. */
export function plainText<T extends z.ZodString>(schema: T, opts: TextRuleOptions = {}): T {
  return schema.check(
    z.superRefine((value: string, ctx) => {
      const problem = textProblem(value, opts);
      if (problem)
        ctx.addIssue({
          code: 'custom',
          message: `must be text without ${problem.startsWith('invalid') ? 'invalid UTF-8' : 'control characters or lone surrogates'}; found ${problem}`,
        });
    }),
  );
}
