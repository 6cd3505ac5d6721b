#!/usr/bin/env node
/**
 * Makes the AWS SDK v3 clients' generated schemas tree-shakeable by esbuild (the bundler of LCM's
 * Lambda functions, infra/lib/bundling.ts). Run by `npm ci` / `npm install` (the root `postinstall`).
 *
 * Since @aws-sdk 3.930, each client has one `dist-es/schemas/schemas_0.js` with the schema of every
 * shape and operation of its service, as top-level `var X$ = [...]` declarations that a bundle
 * drops when no command it imports reaches them. Their trait objects use computed keys naming
 * string constants of the same file (`const _xN = "xmlName"; … { [_xN]: _BDM }`), and esbuild
 * treats a computed key as a possible side effect (its `toString` could run code), so it keeps
 * every declaration: the whole EC2 file, some 550 KB minified, in any bundle that sends one EC2
 * command (aws/aws-sdk-js-v3#7607; the generator's fix, smithy-lang/smithy-typescript#1889, is not
 * released yet). This script writes those keys as the string literals they are (`{ "xmlName": _BDM }`):
 * the same objects, now free of side effects, so esbuild keeps only the schemas the bundle uses.
 *
 * Only the ES module builds (`dist-es`, what the bundles read through `mainFields: module`) are
 * rewritten; Node itself loads `dist-cjs`, so tests and `npm start` run the SDK as published.
 * Idempotent (a rewritten file has no computed keys left); a key naming `__proto__` is left alone
 * (as a literal it would set the prototype); a file whose rewrite does not parse is left alone
 * with a warning. `node tools/aws-sdk-schema-keys.mjs --check` exits 1 when a file still has
 * computed keys to rewrite (test/infra/aws-sdk-schema-keys.test.ts).
 */
import { existsSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

/** `const _xN = "xmlName";` at the start of a line: the file's string constants. */
const CONSTANT = /^const ([A-Za-z_$][\w$]*) = ("(?:[^"\\\n]|\\.)*");$/gm;
/** A computed key naming an identifier, after `{` or `,`. */
const COMPUTED_KEY = /([{,]\s*)\[([A-Za-z_$][\w$]*)\]:/g;

/** The rewritten source and how many keys it changed. */
export function literalKeys(source) {
  const constants = new Map();
  for (const [, name, literal] of source.matchAll(CONSTANT)) constants.set(name, literal);
  let changed = 0;
  const out = source.replace(COMPUTED_KEY, (all, before, name) => {
    const literal = constants.get(name);
    if (literal === undefined || JSON.parse(literal) === '__proto__') return all;
    changed++;
    return `${before}${literal}:`;
  });
  return { source: out, changed };
}

/** Every `schemas/schemas_*.js` of an ES module build of an @aws-sdk package, nested copies too. */
export function schemaFiles(nodeModules = join(ROOT, 'node_modules')) {
  const files = [];
  const walkPackages = (dir) => {
    if (!existsSync(dir)) return;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      const path = join(dir, entry.name);
      if (entry.name === '@aws-sdk') {
        for (const pkg of readdirSync(path, { withFileTypes: true })) {
          if (pkg.isDirectory()) walkPackage(join(path, pkg.name));
        }
      } else if (entry.name.startsWith('@')) {
        for (const pkg of readdirSync(path, { withFileTypes: true })) {
          if (pkg.isDirectory()) walkPackages(join(path, pkg.name, 'node_modules'));
        }
      } else {
        walkPackages(join(path, 'node_modules'));
      }
    }
  };
  const walkPackage = (pkg) => {
    const walk = (dir) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (/^schemas_\d+\.js$/.test(entry.name) && dir.endsWith('/schemas')) files.push(path);
      }
    };
    const distEs = join(pkg, 'dist-es');
    if (existsSync(distEs)) walk(distEs);
    walkPackages(join(pkg, 'node_modules'));
  };
  walkPackages(nodeModules);
  return files;
}

async function main() {
  const check = process.argv.includes('--check');
  let parse;
  try {
    const { transformSync } = await import('esbuild');
    parse = (code) => transformSync(code, { loader: 'js', format: 'esm' });
  } catch {
    parse = undefined; // esbuild not installed (a production-only install): nothing bundles here
  }
  let rewritten = 0;
  let pending = 0;
  for (const file of schemaFiles()) {
    const before = readFileSync(file, 'utf8');
    const { source, changed } = literalKeys(before);
    if (changed === 0) continue;
    if (check) {
      pending++;
      console.error(`${file}: ${changed} computed keys`);
      continue;
    }
    try {
      parse?.(source);
    } catch (error) {
      console.warn(`aws-sdk-schema-keys: left ${file} as it is (${error.message.split('\n')[0]})`);
      continue;
    }
    const temporary = `${file}.lcm-${process.pid}`;
    writeFileSync(temporary, source);
    renameSync(temporary, file);
    rewritten++;
  }
  if (check) {
    if (pending > 0) process.exit(1);
    return;
  }
  if (rewritten > 0)
    console.log(`aws-sdk-schema-keys: literal trait keys in ${rewritten} AWS SDK schema files`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
