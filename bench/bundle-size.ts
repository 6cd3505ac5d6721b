/**
 * Lambda bundle sizes and import times: bundles every function the CDK stacks build (the function
 * catalogue, functions/catalogue.ts: API route groups, session and fleet workflow tasks,
 * schedules, event-rule targets, table-stream consumers) with the esbuild options the stacks
 * deploy (infra/lib/bundling.ts), imports each bundle in fresh Node processes as a cold-start
 * proxy, prints a table and rewrites the "## Lambda bundle sizes" section of docs/benchmarks.md
 * (the rest of the file is kept; the section is appended when absent).
 *
 *   npm run bundle:size                      # every function, 7 import runs each, writes the doc
 *   npm run bundle:size -- --only=health,scale-up --runs=3 --doc=/tmp/bundles.md
 *   npm run bundle:size -- --json=/tmp/bundles.json   # also the rows as JSON (before/after comparisons)
 *
 * Exit code 1 when a bundle exceeds its budget (500 KB for an API function, 800 KB for any
 * other), fails to build or fails to import, so the script doubles as a check. Sizes are of the
 * minified `index.mjs` the function runs; 1 KB = 1,000 bytes.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build, type Message, type Metafile } from 'esbuild';
import {
  environmentOf,
  FUNCTION_KINDS,
  FUNCTIONS,
  type FunctionKind,
  type FunctionSpec,
  functionNameOf,
  type Need,
  needsOf,
  optionalEnvOf,
} from '../functions/catalogue.ts';
import { esbuildOptions, LAMBDA_BUNDLE, REPO_ROOT } from '../infra/lib/bundling.ts';

const HEADING = '## Lambda bundle sizes';

/** Minified bytes allowed per bundle (issue 9): an API function answers requests, so less. */
const budgetOf = (kind: FunctionKind): number => (kind === 'api' ? 500_000 : 800_000);

/** A placeholder for a variable the stacks set: well-formed, but naming nothing that exists. */
const placeholderOf = (name: string): string => {
  if (name === 'WORKFLOW_ENGINE') return 'stepfunctions';
  if (name.endsWith('_STATE_MACHINE_ARN')) {
    const machine = name.slice(0, -'_STATE_MACHINE_ARN'.length).toLowerCase().replaceAll('_', '-');
    return `arn:aws:states:us-east-1:000000000000:stateMachine:lcm-bench-${machine}`;
  }
  if (name.endsWith('_SECRET_ID')) {
    return `arn:aws:secretsmanager:us-east-1:000000000000:secret:lcm-bench-${name.toLowerCase()}`;
  }
  if (name.endsWith('_BASE_URL')) return 'https://bench.invalid';
  if (name === 'LCM_WORKER_INSTANCE_PROFILE') {
    return 'arn:aws:iam::000000000000:instance-profile/lcm-bench-worker';
  }
  return `lcm-bench-${name.toLowerCase().replaceAll('_', '-')}`;
};

/**
 * The environment of an import-time run: what the stacks set for this function (its needs'
 * variables without the optional ones, the common Powertools and Lambda ones) with placeholder
 * values: enough to load the handler module, never to call anything.
 */
const importEnvOf = (spec: FunctionSpec): Record<string, string> => {
  const optional = new Set(needsOf(spec).flatMap(optionalEnvOf));
  return {
    PATH: process.env.PATH ?? '',
    AWS_REGION: 'us-east-1',
    AWS_LAMBDA_FUNCTION_NAME: functionNameOf('bench', spec),
    LCM_STAGE: 'bench',
    POWERTOOLS_SERVICE_NAME: FUNCTION_KINDS[spec.kind].serviceName,
    POWERTOOLS_LOG_LEVEL: 'WARN',
    ...Object.fromEntries(
      environmentOf(spec)
        .filter((name) => !optional.has(name))
        .map((name) => [name, placeholderOf(name)]),
    ),
  };
};

/**
 * The AWS SDK clients (`@aws-sdk/client-<name>`) each need may use: a bundle that carries
 * another client pays for code its function never calls (the "beyond its needs" column).
 */
const CLIENTS_OF_NEED: Record<Need, readonly string[]> = {
  'ws-verify': [],
  'ws-post': ['apigatewaymanagementapi'],
  'table-read': ['dynamodb'],
  'table-write': ['dynamodb'],
  cml: ['secrets-manager'],
  'cml-license': ['secrets-manager'],
  lds: ['secrets-manager'],
  booking: [],
  grading: ['secrets-manager'],
  'evidence-read': ['s3'],
  'evidence-write': ['s3'],
  'topology-read': ['s3'],
  'topology-write': ['s3'],
  uploads: ['s3'],
  'content-read': ['s3'],
  'stream-failures': ['sqs', 'dynamodb-streams', 'lambda'],
  'session-engine': ['sfn'],
  'fleet-engine': ['sfn'],
  'task-tokens': ['sfn'],
  'session-workflow': ['sfn'],
  'fleet-workflows': ['sfn'],
  'workflow-status': ['sfn'],
  bus: ['eventbridge'],
  'event-partners': ['secrets-manager'],
  'ec2-read': ['ec2'],
  'ec2-instance-types': ['ec2'],
  'ec2-launch': ['ec2'],
  'ec2-start': ['ec2'],
  'ec2-stop': ['ec2'],
  'ec2-terminate': ['ec2'],
  cloudwatch: ['cloudwatch'],
};

/** Packages named in the "carries" column when a bundle holds them (heavy, and not every function needs them). */
const NOTABLE = [
  'yaml',
  'fflate',
  'cloudevents',
  'jose',
  '@aws-lambda-powertools/idempotency',
  '@aws-lambda-powertools/batch',
  '@asteasolutions/zod-to-openapi',
  '@middy/core',
];

const args = new Map(
  process.argv.slice(2).map((a) => {
    const [key, value] = a.replace(/^--/, '').split('=');
    return [key!, value ?? 'true'] as const;
  }),
);
const RUNS = Number(args.get('runs') ?? 7);
const ONLY = args.get('only')?.split(',');
/** `--doc=<file>` writes the section there instead (also with --only, which otherwise writes nothing). */
const DOC = args.has('doc')
  ? pathToFileURL(args.get('doc')!)
  : new URL('../docs/benchmarks.md', import.meta.url);
const WRITE = !args.has('no-write') && (!ONLY || args.has('doc'));
const JSON_OUT = args.get('json');
const TOP_PACKAGES = 4;

interface Row extends Pick<FunctionSpec, 'name' | 'kind' | 'entry'> {
  readonly spec: FunctionSpec;
  readonly bytes: number;
  readonly gzipBytes: number;
  readonly buildMs: number;
  /** Contributors by package (`@lcm/shared`, `(own code)` for functions/), bytes of output, largest first. */
  readonly packages: readonly { readonly name: string; readonly bytes: number }[];
  /** Of the AWS SDK bytes, the clients' generated schemas (isSdkSchema). */
  readonly sdkSchemaBytes: number;
  /** zod locales other than English. */
  readonly zodLocales: number;
  readonly outfile: string;
  importMs: number[];
  importError?: string;
}

/** `node_modules/@aws-sdk/client-dynamodb/dist-es/...` → `@aws-sdk/client-dynamodb`; else own code. */
const packageOf = (input: string): string => {
  const i = input.lastIndexOf('node_modules/');
  if (i < 0) return input.startsWith('packages/shared/') ? '@lcm/shared' : '(own code)';
  const [first, second] = input.slice(i + 'node_modules/'.length).split('/');
  return first?.startsWith('@') ? `${first}/${second}` : (first ?? input);
};

/** zod's locale messages other than English (the default): what a `z` object import drags in. */
const isZodForeignLocale = (input: string): boolean =>
  /node_modules\/zod\/v4\/locales\//.test(input) && !input.endsWith('/en.js');

/**
 * The SDK clients' generated schemas (`dist-es/schemas/schemas_0.js`): as published, their object
 * literals have computed keys, which esbuild keeps whether used or not (aws/aws-sdk-js-v3#7607,
 * evanw/esbuild#4373), so a client's whole API model would land in the bundle (client-ec2's is some
 * 550 KB); tools/aws-sdk-schema-keys.mjs, the root `postinstall`, makes them literal keys.
 */
const isSdkSchema = (input: string): boolean =>
  /node_modules\/@aws-sdk\/[^/]+\/dist-es\/schemas\//.test(input);

const outputOf = (metafile: Metafile) => {
  const output = Object.entries(metafile.outputs).find(([path]) => path.endsWith('.mjs'))?.[1];
  if (!output) throw new Error('esbuild reported no .mjs output');
  return output;
};

const byPackage = (metafile: Metafile): { name: string; bytes: number }[] => {
  const bytes = new Map<string, number>();
  for (const [input, { bytesInOutput }] of Object.entries(outputOf(metafile).inputs)) {
    const name = packageOf(input);
    bytes.set(name, (bytes.get(name) ?? 0) + bytesInOutput);
  }
  return [...bytes.entries()].map(([name, b]) => ({ name, bytes: b })).sort((a, b) => b.bytes - a.bytes);
};

const bytesOf = (metafile: Metafile, which: (input: string) => boolean): number =>
  Object.entries(outputOf(metafile).inputs)
    .filter(([input]) => which(input))
    .reduce((sum, [, { bytesInOutput }]) => sum + bytesInOutput, 0);

async function bundle(fn: FunctionSpec, outDir: string): Promise<Row> {
  const outfile = join(outDir, `${fn.kind}-${fn.name}`, 'index.mjs');
  const started = performance.now();
  const result = await build({ ...esbuildOptions(join(REPO_ROOT, fn.entry), outfile), metafile: true });
  const code = readFileSync(outfile);
  return {
    name: fn.name,
    kind: fn.kind,
    entry: fn.entry,
    spec: fn,
    bytes: code.length,
    gzipBytes: gzipSync(code, { level: 9 }).length,
    buildMs: Math.round(performance.now() - started),
    packages: byPackage(result.metafile),
    sdkSchemaBytes: bytesOf(result.metafile, isSdkSchema),
    zodLocales: bytesOf(result.metafile, isZodForeignLocale),
    outfile,
    importMs: [],
  };
}

/** esbuild's first errors with their locations (its message alone says only how many). */
const buildErrorOf = (error: Error & { errors?: Message[] }): string =>
  error.errors?.length
    ? error.errors
        .slice(0, 3)
        .map((e) => `${e.location ? `${e.location.file}:${e.location.line}: ` : ''}${e.text}`)
        .join('; ')
    : error.message;

/**
 * One import of a bundle in a fresh Node process, as Lambda loads it (NODE_OPTIONS
 * --enable-source-maps, as the stacks set it): milliseconds from before `import()` to after
 * the module and everything it imports evaluated.
 */
function importOnce(row: Row): number {
  const script = `const t = performance.now(); await import(${JSON.stringify(pathToFileURL(row.outfile).href)}); console.log(performance.now() - t);`;
  const run = spawnSync(process.execPath, ['--enable-source-maps', '--input-type=module', '-e', script], {
    env: importEnvOf(row.spec),
    encoding: 'utf8',
    timeout: 30_000,
  });
  const ms = Number(run.stdout.trim().split('\n').at(-1));
  if (run.status !== 0 || !Number.isFinite(ms)) {
    throw new Error(
      `import failed (${run.status}): ${(run.stderr || run.stdout).trim().split('\n').slice(0, 3).join(' ')}`,
    );
  }
  return ms;
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

const kb = (bytes: number): string => (bytes / 1000).toFixed(1);
const isAwsSdk = (name: string): boolean => name.startsWith('@aws-sdk/') || name.startsWith('@smithy/');
const sdkBytesOf = (row: Row): number =>
  row.packages.filter((p) => isAwsSdk(p.name)).reduce((sum, p) => sum + p.bytes, 0);
const over = (row: Row): number => row.bytes - budgetOf(row.kind);
const verdict = (row: Row): string => (over(row) <= 0 ? 'within' : `**over** by ${kb(over(row))} KB`);
const importOf = (row: Row): string =>
  row.importError ? 'failed' : row.importMs.length ? median(row.importMs).toFixed(0) : '–';
const clientsOf = (row: Row) =>
  row.packages
    .filter((p) => p.name.startsWith('@aws-sdk/client-'))
    .map((p) => ({ name: p.name.slice('@aws-sdk/client-'.length), bytes: p.bytes }));
/** The AWS SDK clients in a bundle (`client-ec2` → `ec2`), then the notable packages with their KB. */
const carriesOf = (row: Row): string =>
  [
    ...clientsOf(row).map((c) => c.name),
    ...row.packages.filter((p) => NOTABLE.includes(p.name)).map((p) => `${p.name} ${kb(p.bytes)}`),
  ].join(', ');
/** Clients in the bundle that none of the function's needs uses, with their KB. */
const beyondNeedsOf = (row: Row): string => {
  const allowed = new Set(needsOf(row.spec).flatMap((n) => CLIENTS_OF_NEED[n]));
  return clientsOf(row)
    .filter((c) => !allowed.has(c.name))
    .map((c) => `${c.name} ${kb(c.bytes)}`)
    .join(', ');
};

/** Packages of 1 KB or more in every bundle, largest first, with their smallest and largest share. */
function commonPackages(rows: readonly Row[]): { name: string; min: number; max: number }[] {
  const [first] = rows;
  if (!first) return [];
  return first.packages
    .filter((p) => p.name !== '(own code)' && rows.every((r) => r.packages.some((q) => q.name === p.name)))
    .map(({ name }) => {
      const sizes = rows.map((r) => r.packages.find((p) => p.name === name)?.bytes ?? 0);
      return { name, min: Math.min(...sizes), max: Math.max(...sizes) };
    })
    .filter((p) => p.min >= 1000)
    .sort((a, b) => b.max - a.max);
}

const loadAverage = (): string => {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' / ');
  } catch {
    return 'unknown';
  }
};

function markdownSection(rows: readonly Row[]): string {
  const failed = rows.filter((r) => over(r) > 0);
  const withLocales = rows.filter((r) => r.zodLocales > 0);
  const largest = (kind: (k: FunctionKind) => boolean) =>
    rows
      .filter((r) => kind(r.kind))
      .reduce<Row | undefined>((a, r) => (a && a.bytes >= r.bytes ? a : r), undefined);
  const api = largest((k) => k === 'api');
  const other = largest((k) => k !== 'api');
  const imports = rows.filter((r) => !r.importError).map((r) => median(r.importMs));
  const lines = [
    HEADING,
    '',
    `Every Lambda function the CDK stacks build (${rows.length}: the API route groups, session and fleet`,
    'workflow tasks, schedules, event-rule targets and table-stream consumers of functions/catalogue.ts),',
    'bundled with the esbuild options they deploy (infra/lib/bundling.ts): ESM, minified, target',
    `${LAMBDA_BUNDLE.target}, every npm dependency bundled (the AWS SDK v3 included), linked source map without`,
    'sources content. Produced by `npm run bundle:size` (bench/bundle-size.ts), which rewrites this',
    'section only and exits non-zero when a bundle is over its budget: 500 KB minified for an API',
    'function, 800 KB for any other. Sizes in KB of 1,000 bytes; gzip -9 approximates the zipped',
    'asset; "AWS SDK" is the part from @aws-sdk/* and @smithy/*, and in brackets the part of it that is',
    "the clients' generated schemas: esbuild would keep each client's whole (aws/aws-sdk-js-v3#7607:",
    'computed keys in their object literals count as side effects, evanw/esbuild#4373), so the root',
    '`postinstall` (tools/aws-sdk-schema-keys.mjs) writes those keys as literals and only the schemas of',
    'the commands a bundle sends remain.',
    '',
    `**Import** is the median of ${RUNS} imports of the bundle, each in a fresh Node ${process.versions.node.split('.')[0]} process`,
    '(`node --enable-source-maps`, as the functions run), from before `import()` to the handler module',
    'evaluated, with placeholder values for the environment the stacks set (table name, state machine',
    'ARNs, bus name: enough to load, not to call anything). Runs go round-robin over the functions so',
    'load on the machine spreads evenly. It leaves out what Lambda adds (starting the runtime, fetching',
    'and unzipping the code), so it is a proxy for the part of a cold start that the bundle decides.',
    '"Carries" lists the AWS SDK clients in the bundle, then other heavy packages with their KB;',
    '"clients beyond its needs" are the clients none of its catalogue needs calls.',
    '',
    '| function | kind | minified (KB) | gzip (KB) | AWS SDK (schemas) (KB) | import (ms) | vs budget | largest contributors (KB) | carries | clients beyond its needs (KB) |',
    '|---|---|---:|---:|---:|---:|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.name} | ${r.kind} | ${kb(r.bytes)} | ${kb(r.gzipBytes)} | ${kb(sdkBytesOf(r))} (${kb(r.sdkSchemaBytes)}) | ${importOf(r)} | ${verdict(r)} | ${r.packages
          .slice(0, TOP_PACKAGES)
          .map((t) => `${t.name} ${kb(t.bytes)}`)
          .join(', ')} | ${carriesOf(r) || '–'} | ${beyondNeedsOf(r) || '–'} |`,
    ),
    '',
    `Budgets: ${
      failed.length === 0
        ? `met by all ${rows.length} bundles (largest API function: ${api ? `${api.name}, ${kb(api.bytes)} KB` : '–'}; largest other: ${other ? `${other.name}, ${kb(other.bytes)} KB` : '–'})`
        : `missed by ${failed.length} of ${rows.length}: ${failed.map((r) => `${r.name} (${kb(r.bytes)} KB)`).join(', ')}`
    }. Import medians range ${imports.length ? `${Math.min(...imports).toFixed(0)}–${Math.max(...imports).toFixed(0)} ms` : '–'}. zod locales other than English: ${
      withLocales.length === 0
        ? 'in no bundle'
        : `in ${withLocales.length} bundles (${kb(Math.max(...withLocales.map((r) => r.zodLocales)))} KB at most)`
    }.`,
    '',
    'In every bundle (the floor a function starts from), KB in the smallest and the largest bundle:',
    '',
    '| package | KB |',
    '|---|---:|',
    ...commonPackages(rows).map(
      ({ name, min, max }) => `| ${name} | ${kb(min) === kb(max) ? kb(min) : `${kb(min)}–${kb(max)}`} |`,
    ),
    '',
    `Measured ${new Date().toISOString().slice(0, 10)} on Node ${process.version}; load average ${loadAverage()} at the end.`,
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

const selected = ONLY ? FUNCTIONS.filter((f) => ONLY.includes(f.name)) : FUNCTIONS;
if (selected.length === 0) throw new Error(`No function named ${ONLY?.join(', ')}`);
const outDir = mkdtempSync(join(tmpdir(), 'lcm-bundles-'));
let exitCode = 0;
try {
  const started = performance.now();
  // One at a time: esbuild uses every core for each build already.
  const rows: Row[] = [];
  const buildFailures: { name: string; error: string }[] = [];
  for (const fn of selected) {
    try {
      rows.push(await bundle(fn, outDir));
    } catch (error) {
      buildFailures.push({ name: fn.name, error: buildErrorOf(error as Error) });
    }
  }
  const builtMs = performance.now() - started;
  // A function that does not build has no size: report it and write nothing (the table would lie).
  for (const f of buildFailures) console.error(`${f.name} does not build: ${f.error}`);
  for (let run = 0; run < RUNS; run++) {
    for (const row of rows) {
      if (row.importError) continue;
      try {
        row.importMs.push(importOnce(row));
      } catch (error) {
        row.importError = (error as Error).message;
      }
    }
  }
  console.table(
    rows.map((r) => ({
      function: r.name,
      kind: r.kind,
      'min KB': kb(r.bytes),
      'gzip KB': kb(r.gzipBytes),
      'SDK KB': kb(sdkBytesOf(r)),
      'schemas KB': kb(r.sdkSchemaBytes),
      'import ms': importOf(r),
      'vs budget': verdict(r).replaceAll('**', ''),
    })),
  );
  console.log(`Built ${rows.length} bundles in ${(builtMs / 1000).toFixed(1)} s, ${RUNS} imports each.`);
  for (const r of rows.filter((r) => r.importError)) console.error(`${r.name}: ${r.importError}`);
  if (JSON_OUT) {
    const json = rows.map(({ outfile: _, spec: __, importMs, ...r }) => ({
      ...r,
      importMedianMs: median(importMs),
      importMs,
    }));
    writeFileSync(JSON_OUT, `${JSON.stringify(json, null, 2)}\n`);
  }
  if (WRITE && buildFailures.length === 0) {
    writeSection(markdownSection(rows));
    console.log(`Wrote "${HEADING}" to ${DOC.pathname}`);
  }
  const failed = [...buildFailures, ...rows.filter((r) => over(r) > 0 || r.importError)];
  if (failed.length > 0) {
    console.error(`Over budget, not built or not importable: ${failed.map((r) => r.name).join(', ')}`);
    exitCode = 1;
  }
} finally {
  rmSync(outDir, { recursive: true, force: true });
}
process.exitCode = exitCode;
