import type * as z from 'zod';
import { ValidationError } from '../../kernel/index.ts';
import { type Item, validateInput } from './items.ts';

/** Allocates #n/:v placeholders so attribute names never clash with reserved words. */
export class Expr {
  readonly names: Record<string, string> = {};
  readonly values: Item = {};
  private n = 0;
  private v = 0;
  private readonly nameOf = new Map<string, string>();

  name(attribute: string): string {
    let placeholder = this.nameOf.get(attribute);
    if (!placeholder) {
      placeholder = `#n${this.n++}`;
      this.nameOf.set(attribute, placeholder);
      this.names[placeholder] = attribute;
    }
    return placeholder;
  }

  value(v: unknown): string {
    const placeholder = `:v${this.v++}`;
    this.values[placeholder] = v;
    return placeholder;
  }

  /** `#a = :v` for every defined entry (undefined entries are skipped). */
  assignments(sets: Item): string[] {
    return Object.entries(sets)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${this.name(k)} = ${this.value(v)}`);
  }

  update(sets: string[], removes: string[] = []): string {
    const parts: string[] = [];
    if (sets.length) parts.push(`SET ${sets.join(', ')}`);
    if (removes.length) parts.push(`REMOVE ${removes.map((r) => this.name(r)).join(', ')}`);
    return parts.join(' ');
  }

  /** Names/values for a command, omitting empty maps (DynamoDB rejects them). */
  attributes(): { ExpressionAttributeNames?: Record<string, string>; ExpressionAttributeValues?: Item } {
    return {
      ...(Object.keys(this.names).length ? { ExpressionAttributeNames: this.names } : {}),
      ...(Object.keys(this.values).length ? { ExpressionAttributeValues: this.values } : {}),
    };
  }
}

/**
 * A patch where `null` removes an optional attribute and undefined leaves it alone; split
 * into SET and REMOVE parts.
 */
export function splitPatch(patch: Item): { sets: Item; removes: string[] } {
  const sets: Item = {};
  const removes: string[] = [];
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) removes.push(k);
    else if (v !== undefined) sets[k] = v;
  }
  return { sets, removes };
}

/**
 * Validates a patch against the editable part of an entity schema: every named field must be
 * editable, set values must parse, and only optional fields may be removed (`null`).
 */
export function validatePatch(
  editable: z.ZodObject,
  patch: Item,
  root = '',
): { sets: Item; removes: string[] } {
  const shape = editable.shape as Record<string, z.ZodType>;
  const field = (k: string) => (root ? `${root}.${k}` : k);
  for (const k of Object.keys(patch)) {
    if (!(k in shape)) throw new ValidationError(field(k), 'cannot be changed here');
  }
  const { sets, removes } = splitPatch(patch);
  for (const k of removes) {
    if (!(shape[k] as z.ZodType).safeParse(undefined).success) {
      throw new ValidationError(field(k), 'is required and cannot be removed');
    }
  }
  const valid = validateInput(editable.partial(), sets, root) as Item;
  return { sets: pickDefined(valid, Object.keys(sets)), removes };
}

/** The named fields of `source` that are defined (validated patches keep only what was sent). */
export function pickDefined(source: Item, names: readonly string[]): Item {
  const out: Item = {};
  for (const n of names) if (source[n] !== undefined) out[n] = source[n];
  return out;
}
