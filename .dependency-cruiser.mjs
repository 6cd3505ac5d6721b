/**
 * Boundaries `npm run lint:boundaries` checks (docs/architecture.md, "Boundaries the linter checks").
 * dependency-cruiser matches resolved module paths, so a rule holds however an import is spelled
 * (`../fleet/x.ts`, `@lcm/shared/fleet`, a type-only import); each violation names its rule.
 */

/** The contexts of packages/shared/src, lowest first; a context may import only those before it. */
const ORDER = ['kernel', 'platform', 'events', 'catalogue', 'fleet', 'sessions'];
/** The top: the HTTP catalogue and the composition root may import every context; no context imports them. */
const TOP = ['api', 'app'];
const CONTEXTS = [...ORDER, ...TOP];
const SRC = '^packages/shared/src/';
const oneOf = (names) => `(${names.join('|')})`;

/** Pure modules: the shared entity model and every context's `rules/` folder. */
const RULES_MODULES = `${SRC}(kernel/|[^/]+/rules/)`;
/**
 * Node built-ins a rules module may use: computation only (hashing with node:crypto, Buffer, util,
 * path and URL parsing, assert). Everything else (fs, net, http, https, child_process, os, process,
 * timers, worker_threads, ...) is I/O or ambient state and is forbidden.
 */
const PURE_BUILTINS = ['crypto', 'buffer', 'util', 'path', 'url', 'assert', 'string_decoder'];
const IO_PACKAGES = oneOf(['@aws-sdk', '@smithy', '@middy', '@aws-lambda-powertools']);

const severity = 'error';

export default {
  forbidden: [
    {
      name: 'rules-are-pure',
      comment:
        'kernel/ and */rules/ are pure: no AWS SDK, no Node I/O, no middy or Powertools, no store, no platform/ (the DynamoDB toolkit and adapters)',
      severity,
      from: { path: RULES_MODULES },
      to: {
        path: [
          `(^|/)node_modules/${IO_PACKAGES}/`,
          `^${IO_PACKAGES}/`,
          `${SRC}platform/`,
          `${SRC}.*/stores/`,
          `${SRC}.*[/-]stores?\\.ts$`,
        ],
      },
    },
    {
      name: 'rules-are-pure',
      comment: 'kernel/ and */rules/ use only the computing Node built-ins (PURE_BUILTINS)',
      severity,
      from: { path: RULES_MODULES },
      to: { dependencyTypes: ['core'], pathNot: `^(node:)?${oneOf(PURE_BUILTINS)}(/|$)` },
    },
    {
      name: 'context-entry-point',
      comment: 'a context reaches another only through its index.ts (relative ../<context>/index.ts)',
      severity,
      from: { path: `${SRC}([^/]+)/` },
      to: { path: `${SRC}[^/]+/`, pathNot: [`${SRC}$1/`, `${SRC}[^/]+/index\\.ts$`] },
    },
    ...ORDER.map((context, level) => ({
      name: 'dependency-order',
      comment: `${context} may import only ${ORDER.slice(0, level).join(', ') || 'itself'} (order: ${ORDER.join(' < ')} < ${TOP.join(', ')})`,
      severity,
      from: { path: `${SRC}${context}/` },
      to: {
        path: `${SRC}${oneOf(CONTEXTS.filter((other) => !ORDER.slice(0, level + 1).includes(other)))}/`,
      },
    })),
    {
      name: 'no-sandbox-in-production',
      comment: 'production code (packages/shared, functions, infra) never imports @lcm/sandbox',
      severity,
      from: { path: '^(packages/shared|functions|infra)/' },
      to: { path: ['^packages/sandbox/', '^@lcm/sandbox(/|$)'] },
    },
    {
      name: 'entry-points-only',
      comment: 'functions/ and infra/ import @lcm/shared only through @lcm/shared/<context>',
      severity,
      from: { path: '^(functions|infra)/' },
      to: { path: '^packages/shared/', pathNot: `${SRC}${oneOf(CONTEXTS)}/index\\.ts$` },
    },
    {
      name: 'entry-points-only',
      comment: 'a path of @lcm/shared that is not a context entry point (it does not resolve either)',
      severity,
      from: { path: '^(functions|infra)/' },
      to: { couldNotResolve: true, path: '^@lcm/shared(/|$)' },
    },
    {
      name: 'entry-points-only',
      comment: 'a relative path into packages/ instead of the @lcm/shared/<context> package name',
      severity,
      from: { path: '^(functions|infra)/' },
      to: { path: '^packages/', dependencyTypesNot: ['aliased-workspace'] },
    },
  ],
  options: {
    doNotFollow: { path: ['(^|/)node_modules/', '^packages/sandbox/'] },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.json'],
    },
  },
};
