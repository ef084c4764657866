/**
 * values.yaml and the CI values files validate against values.schema.json (with ajv, as Helm does
 * with its own validator at install, lint and template), the schema catches the mistakes it should,
 * and every value is documented in the chart README.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { CHART_DIR, CI_VALUES, need, toolRequire, toolsInstalled } from './deployTools.js';

const schema = JSON.parse(readFileSync(join(CHART_DIR, 'values.schema.json'), 'utf8'));
const defaults = parse(readFileSync(join(CHART_DIR, 'values.yaml'), 'utf8'), { uniqueKeys: true });

/** Helm's coalescing of a values file over the chart's values: maps merge, null deletes, the rest replaces. */
function coalesce(base: any, over: any): any {
  if (over === null) return undefined;
  if ([base, over].some((x) => typeof x !== 'object' || x === null || Array.isArray(x))) return over;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const merged = coalesce(base[k], v);
    if (merged === undefined) delete out[k];
    else out[k] = merged;
  }
  return out;
}

function validator(): (data: unknown) => string[] {
  const AjvModule = toolRequire('ajv');
  const Ajv = AjvModule.default ?? AjvModule;
  const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
  const validate = ajv.compile(schema);
  return (data) =>
    validate(data) ? [] : (validate.errors as any[]).map((e) => `${e.instancePath || '/'} ${e.message}`);
}

function withSet(path: string, value: unknown): any {
  const copy = structuredClone(defaults);
  const keys = path.split('.');
  let at = copy;
  for (const k of keys.slice(0, -1)) at = at[k] ??= {};
  at[keys.at(-1)!] = value;
  return copy;
}

test('values.schema.json is draft-07 and compiles in strict mode', (t) => {
  if (!need(t, toolsInstalled, 'deploy/tools (ajv)')) return;
  assert.equal(schema.$schema, 'http://json-schema.org/draft-07/schema#');
  assert.equal(schema.additionalProperties, false);
  validator();
});

test('values.yaml validates against values.schema.json', (t) => {
  if (!need(t, toolsInstalled, 'deploy/tools (ajv)')) return;
  assert.deepEqual(validator()(defaults), []);
});

for (const file of CI_VALUES) {
  test(`ci/${file} over values.yaml validates against values.schema.json`, (t) => {
    if (!need(t, toolsInstalled, 'deploy/tools (ajv)')) return;
    const over = parse(readFileSync(join(CHART_DIR, 'ci', file), 'utf8'), { uniqueKeys: true }) ?? {};
    assert.deepEqual(validator()(coalesce(defaults, over)), []);
  });
}

test('the schema refuses mistakes', (t) => {
  if (!need(t, toolsInstalled, 'deploy/tools (ajv)')) return;
  const validate = validator();
  const both = coalesce(defaults, { autoscaling: { enabled: true }, keda: { enabled: true } });
  assert.match(validate(both).join(), /\/keda\/enabled must be equal to constant/);
  const monitors = coalesce(defaults, {
    metrics: { serviceMonitor: { enabled: true }, podMonitor: { enabled: true } },
  });
  assert.match(validate(monitors).join(), /podMonitor\/enabled/);
  assert.match(validate(withSet('replicas', 2)).join(), /must NOT have additional properties/);
  assert.match(validate(withSet('kafka.brokers', ['kafka'])).join(), /\/kafka\/brokers\/0 must match pattern/);
  assert.match(validate(withSet('kafka.sasl.mechanism', 'gssapi')).join(), /mechanism must be equal to one of/);
  assert.match(validate(withSet('topics.input', ['bad topic'])).join(), /\/topics\/input\/0/);
  assert.match(validate(withSet('logLevel', 'verbose')).join(), /logLevel/);
  assert.match(validate(withSet('prometheusRule.alerts.noEventsRead.window', '30 minutes')).join(), /window/);
  assert.match(validate(withSet('prometheusRule.alerts.deadLetterRateHigh.threshold', 5)).join(), /threshold/);
  assert.match(validate(withSet('image.digest', 'latest')).join(), /digest/);
  assert.match(validate(withSet('replicaCount', '2')).join(), /replicaCount must be integer/);
});

/** Every path of values.yaml down to its leaves (a list or an empty map is a leaf). */
function leafPaths(value: any, prefix = ''): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || Object.keys(value).length === 0)
    return [prefix];
  return Object.entries(value).flatMap(([k, v]) => leafPaths(v, prefix ? `${prefix}.${k}` : k));
}

test('every value is documented in the chart README (and described in the schema)', () => {
  const readme = readFileSync(join(CHART_DIR, 'README.md'), 'utf8');
  const valuesSection = readme.slice(readme.indexOf('\n## Values'));
  const documented = new Set([...valuesSection.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1]!));
  const leaves = leafPaths(defaults);
  // A map documented as a whole (resources, securityContext...) documents its keys.
  const missing = leaves.filter(
    (p) => !p.split('.').some((_, i, parts) => documented.has(parts.slice(0, i + 1).join('.'))),
  );
  assert.deepEqual(missing, [], 'document these values in deploy/helm/picket/README.md');
  const stale = [...documented].filter((p) => {
    let at: any = defaults;
    for (const k of p.split('.')) {
      if (typeof at !== 'object' || at === null || !(k in at)) return true;
      at = at[k];
    }
    return false;
  });
  assert.deepEqual(stale, [], 'the README documents values that do not exist');
  assert.match(readme, /partition/i, 'the README says replicas above the partition count are pointless');
  const undescribed: string[] = [];
  const walk = (s: any, path: string) => {
    if (path && !s.description) undescribed.push(path);
    for (const [k, sub] of Object.entries(s.properties ?? {})) walk(sub, path ? `${path}.${k}` : k);
  };
  walk(schema, '');
  assert.deepEqual(undescribed, [], 'values.schema.json: properties without a description');
});
