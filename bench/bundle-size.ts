/**
 * Lambda bundle sizes: bundles each API route group's handler (functions/api/<group>.ts) with
 * the esbuild options the CDK stack deploys (infra/lib/bundling.ts), prints a table and rewrites
 * the "## Lambda bundle sizes" section of docs/benchmarks.md (the rest of the file is kept; the
 * section is appended when absent). Run: npm run bundle:size
 *
 * Sizes are of the minified `index.mjs` the function runs (the linked source map is reported
 * apart); 1 KB = 1,000 bytes. A group whose handler module does not exist yet is listed as
 * missing; a bundle that fails to build fails the script.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build, type Metafile } from 'esbuild';
import { API_GROUPS, handlerEntryOf, handlerPathOf } from '../infra/lib/api-routes.ts';
import { esbuildOptions, LAMBDA_BUNDLE } from '../infra/lib/bundling.ts';

const DOC = new URL('../docs/benchmarks.md', import.meta.url);
const HEADING = '## Lambda bundle sizes';
/** Target per bundle (minified), from the API issue. */
const TARGET_BYTES = 500_000;
const TOP_PACKAGES = 3;

interface Row {
  readonly group: string;
  readonly entry: string;
  readonly status: 'ok' | 'missing';
  readonly bytes?: number;
  readonly gzipBytes?: number;
  readonly mapBytes?: number;
  readonly buildMs?: number;
  /** Largest contributors to the bundle, by package (or `(own code)`), in bytes of output. */
  readonly top?: readonly { readonly name: string; readonly bytes: number }[];
  /** Bytes of @aws-sdk/* and @smithy/* (what leaving the SDK to the runtime would save). */
  readonly sdkBytes?: number;
}

/** `node_modules/@aws-sdk/client-dynamodb/dist-es/...` → `@aws-sdk/client-dynamodb`; else own code. */
const packageOf = (input: string): string => {
  const i = input.lastIndexOf('node_modules/');
  if (i < 0) return input.startsWith('packages/shared/') ? '@lcm/shared' : '(own code)';
  const [first, second] = input.slice(i + 'node_modules/'.length).split('/');
  return first?.startsWith('@') ? `${first}/${second}` : (first ?? input);
};

const isAwsSdk = (name: string): boolean => name.startsWith('@aws-sdk/') || name.startsWith('@smithy/');

/** Output bytes per package, largest first. */
const byPackage = (metafile: Metafile): { name: string; bytes: number }[] => {
  // One JavaScript output per build (the other output is its source map).
  const output = Object.entries(metafile.outputs).find(([path]) => path.endsWith('.mjs'))?.[1];
  if (!output) throw new Error('esbuild reported no .mjs output');
  const bytes = new Map<string, number>();
  for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
    const name = packageOf(input);
    bytes.set(name, (bytes.get(name) ?? 0) + bytesInOutput);
  }
  return [...bytes.entries()].map(([name, b]) => ({ name, bytes: b })).sort((a, b) => b.bytes - a.bytes);
};

const measure = async (group: string, outDir: string): Promise<Row> => {
  const entry = handlerPathOf(group);
  if (!existsSync(handlerEntryOf(group))) return { group, entry, status: 'missing' };
  const outfile = join(outDir, group, 'index.mjs');
  const started = performance.now();
  const result = await build({ ...esbuildOptions(handlerEntryOf(group), outfile), metafile: true });
  const buildMs = Math.round(performance.now() - started);
  const code = readFileSync(outfile);
  const packages = byPackage(result.metafile);
  return {
    group,
    entry,
    status: 'ok',
    bytes: code.length,
    gzipBytes: gzipSync(code, { level: 9 }).length,
    mapBytes: statSync(`${outfile}.map`).size,
    buildMs,
    top: packages.slice(0, TOP_PACKAGES),
    sdkBytes: packages.filter((p) => isAwsSdk(p.name)).reduce((sum, p) => sum + p.bytes, 0),
  };
};

const kb = (bytes: number): string => (bytes / 1000).toFixed(1);
const verdict = (row: Row): string => {
  if (row.status === 'missing') return 'handler missing';
  return row.bytes! <= TARGET_BYTES ? 'within' : `**over** by ${kb(row.bytes! - TARGET_BYTES)} KB`;
};

function markdownSection(rows: readonly Row[]): string {
  const built = rows.filter((r) => r.status === 'ok');
  const largest = built.reduce<Row | undefined>((a, r) => (a && a.bytes! >= r.bytes! ? a : r), undefined);
  const over = built.filter((r) => r.bytes! > TARGET_BYTES);
  const missing = rows.filter((r) => r.status === 'missing');
  const lines = [
    HEADING,
    '',
    'One bundle per API route group (`functions/api/<group>.ts`, one Lambda function each), built',
    'with the esbuild options the CDK stack deploys (infra/lib/bundling.ts): ESM, minified, target',
    `${LAMBDA_BUNDLE.target}, every npm dependency bundled (the AWS SDK v3 included), linked source map`,
    'without sources content. Produced by `npm run bundle:size` (bench/bundle-size.ts), which',
    'rewrites this section only. Sizes in KB of 1,000 bytes; gzip -9 approximates the zipped asset;',
    '"AWS SDK" is the part from @aws-sdk/* and @smithy/*, which externalising the SDK would save',
    '(why it is bundled anyway: infra/lib/bundling.ts).',
    '',
    '| group | minified (KB) | gzip (KB) | source map (KB) | AWS SDK (KB) | vs 500 KB target | largest contributors (KB) |',
    '|---|---:|---:|---:|---:|---|---|',
    ...rows.map((r) =>
      r.status === 'missing'
        ? `| ${r.group} | – | – | – | – | ${verdict(r)} (\`${r.entry}\`) | – |`
        : `| ${r.group} | ${kb(r.bytes!)} | ${kb(r.gzipBytes!)} | ${kb(r.mapBytes!)} | ${kb(r.sdkBytes!)} | ${verdict(r)} | ${r
            .top!.map((t) => `${t.name} ${kb(t.bytes)}`)
            .join(', ')} |`,
    ),
    '',
    `Target: <= 500 KB minified per bundle — ${
      built.length === 0
        ? 'nothing built'
        : over.length === 0
          ? `met by all ${built.length} bundles built (largest: ${largest!.group}, ${kb(largest!.bytes!)} KB)`
          : `missed by ${over.map((r) => r.group).join(', ')}`
    }${missing.length > 0 ? `; not measured (handler missing): ${missing.map((r) => r.group).join(', ')}` : ''}.`,
    '',
    `Measured ${new Date().toISOString().slice(0, 10)} on Node ${process.version}.`,
    '',
  ];
  return lines.join('\n');
}

/** Replaces the "## Lambda bundle sizes" section (up to the next "## " heading) or appends it. */
function writeSection(section: string): void {
  const current = existsSync(DOC) ? readFileSync(DOC, 'utf8') : '# Benchmarks\n';
  const start = current.indexOf(`${HEADING}\n`);
  let next: string;
  if (start < 0) {
    next = `${current.trimEnd()}\n\n${section}`;
  } else {
    const nextHeading = current.indexOf('\n## ', start + HEADING.length);
    const after = nextHeading < 0 ? '' : `\n${current.slice(nextHeading + 1)}`;
    next = `${current.slice(0, start)}${section}${after}`;
  }
  writeFileSync(DOC, next);
}

const outDir = mkdtempSync(join(tmpdir(), 'lcm-bundles-'));
try {
  const rows: Row[] = [];
  for (const group of API_GROUPS) rows.push(await measure(group, outDir));
  console.table(
    rows.map((r) => ({
      group: r.group,
      'minified KB': r.bytes === undefined ? '-' : kb(r.bytes),
      'gzip KB': r.gzipBytes === undefined ? '-' : kb(r.gzipBytes),
      'map KB': r.mapBytes === undefined ? '-' : kb(r.mapBytes),
      'SDK KB': r.sdkBytes === undefined ? '-' : kb(r.sdkBytes),
      'build ms': r.buildMs ?? '-',
      'vs 500 KB': verdict(r).replaceAll('**', ''),
    })),
  );
  const section = markdownSection(rows);
  writeSection(section);
  console.log(`\nWrote "${HEADING}" to ${DOC.pathname}`);
} finally {
  rmSync(outDir, { recursive: true, force: true });
}
