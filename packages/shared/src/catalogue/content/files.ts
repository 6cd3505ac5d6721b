import { parseDocument } from 'yaml';
import * as z from 'zod';
import { DeviceSchema } from '../../kernel/index.ts';
import { ContentPackageError } from './errors.ts';

/**
 * The files LCM reads from a content package: decoding and parsing untrusted text under the
 * size limits (each failure names the file), and the schemas of the manifest, devices.json and
 * mosaic_meta.json. package.ts decides which files to read and what they mean.
 */

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function textOf(path: string, bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new ContentPackageError('INVALID_FILE', path, 'not UTF-8 text');
  }
}

function checkParsedSize(path: string, text: string, max: number): void {
  if (text.length > max) {
    throw new ContentPackageError(
      'TOO_LARGE',
      path,
      `${text.length} characters; files LCM parses may have at most ${max}`,
      { maxParsedFileChars: max },
    );
  }
}

export function yamlOf(path: string, text: string, max: number): unknown {
  checkParsedSize(path, text, max);
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  const err = doc.errors[0];
  if (err) {
    const pos = err.linePos?.[0];
    const where = pos ? ` at line ${pos.line}, column ${pos.col}` : '';
    const reason = err.message.split('\n')[0]?.replace(/ at line \d+, column \d+:?$/, '') ?? err.code;
    throw new ContentPackageError('INVALID_FILE', path, `invalid YAML${where}: ${reason}`);
  }
  try {
    return doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    throw new ContentPackageError('INVALID_FILE', path, `invalid YAML: ${(e as Error).message}`);
  }
}

export function jsonOf(path: string, text: string, max: number): unknown {
  checkParsedSize(path, text, max);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ContentPackageError('INVALID_FILE', path, `invalid JSON: ${(e as Error).message}`);
  }
}

export const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

export function firstIssue(path: string, error: z.ZodError, prefix = ''): ContentPackageError {
  const issue = error.issues[0]!;
  const field = [prefix, ...issue.path.map(String)].filter((s) => s !== '').join('.') || '(root)';
  return new ContentPackageError('INVALID_FILE', path, `${field}: ${issue.message}`, { field });
}

// Schemas of the files LCM reads

/** PAv1/manifest.yaml: what LCM reads (unknown keys are kept). */
export const ManifestSchema = z.looseObject({
  version: z.union([z.string().min(1), z.number()]).optional(),
  pod_type: z.string().optional(),
  content_id: z.string().trim().min(1).max(512).optional(),
  name: z.string().max(256).optional(),
  /** Path of the topology, relative to PAv1/ (e.g. `topology/cml.yaml`). */
  topology: z.string().min(1).max(512).optional(),
  /** Path of the devices file, relative to PAv1/. */
  devices: z.string().min(1).max(512).optional(),
});

/** One device in devices.json; `node`/`port` are accepted for `nodeLabel`/`portName`. */
const DeviceEntrySchema = z
  .looseObject({
    name: z.string(),
    nodeLabel: z.string().optional(),
    node: z.string().optional(),
    portName: z.string().optional(),
    port: z.string().optional(),
    protocol: z
      .string()
      .transform((p) => p.toLowerCase())
      .optional(),
    username: z.string().optional(),
    password: z.string().optional(),
  })
  .transform(({ node, port, nodeLabel, portName, name, protocol, username, password }) => {
    const device: Record<string, unknown> = { name };
    if ((nodeLabel ?? node) !== undefined) device.nodeLabel = nodeLabel ?? node;
    if ((portName ?? port) !== undefined) device.portName = portName ?? port;
    if (protocol !== undefined) device.protocol = protocol;
    if (username !== undefined) device.username = username;
    if (password !== undefined) device.password = password;
    return device;
  })
  .pipe(DeviceSchema);
export const DevicesSchema = z.array(DeviceEntrySchema).max(200);

export const MosaicMetaSchema = z.looseObject({
  formQualifiedName: z.string().trim().min(1).max(512).optional(),
  form_qualified_name: z.string().trim().min(1).max(512).optional(),
});
