/**
 * The alerting rules: the plain rules file is the chart's PrometheusRule rendered with the default
 * values; `promtool check rules` passes on it and on the rules every CI values file renders;
 * `promtool test rules` shows each alert firing on the series it is meant for; thresholds and the
 * selector come from the values.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { stringify } from 'yaml';
import {
  CI_VALUES,
  REPO_ROOT,
  helmPath,
  need,
  promtoolPath,
  readText,
  render,
  run,
  toolsInstalled,
} from './deployTools.js';
import { parsePromql } from './promql.js';

const RULES_FILE = join(REPO_ROOT, 'deploy', 'prometheus', 'picket-rules.yaml');

async function renderedRules(valuesFile: string | undefined, extra: string[] = []): Promise<any[]> {
  const ms = await render(valuesFile, [...extra, '--set', 'prometheusRule.enabled=true']);
  const rules = ms.filter((m) => m.kind === 'PrometheusRule');
  assert.equal(rules.length, 1);
  return rules[0]!.spec.groups;
}

async function promtoolCheck(groups: unknown): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'picket-rules-'));
  try {
    const file = join(dir, 'rules.yaml');
    writeFileSync(file, stringify({ groups }));
    const res = await run(promtoolPath!, ['check', 'rules', file]);
    assert.equal(res.code, 0, `${res.stdout}\n${res.stderr}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('deploy/prometheus/picket-rules.yaml is the chart rendered with its default values', async (t) => {
  if (!need(t, helmPath, 'helm')) return;
  const generate = await import(pathToFileURL(join(REPO_ROOT, 'deploy', 'generate.mjs')).href);
  const expected: string = await generate.rulesText(helmPath);
  assert.equal(readText('deploy', 'prometheus', 'picket-rules.yaml'), expected, 'run node deploy/generate.mjs');
});

test('promtool check rules: deploy/prometheus/picket-rules.yaml', async (t) => {
  if (!need(t, promtoolPath, 'promtool')) return;
  const res = await run(promtoolPath!, ['check', 'rules', RULES_FILE]);
  assert.equal(res.code, 0, `${res.stdout}\n${res.stderr}`);
  assert.match(res.stdout, /SUCCESS: 6 rules found/);
});

test('promtool test rules: each alert fires on its series (deploy/prometheus/picket-rules.test.yaml)', async (t) => {
  if (!need(t, promtoolPath, 'promtool')) return;
  const res = await run(promtoolPath!, [
    'test',
    'rules',
    join(REPO_ROOT, 'deploy', 'prometheus', 'picket-rules.test.yaml'),
  ]);
  assert.equal(res.code, 0, `${res.stdout}\n${res.stderr}`);
  assert.match(res.stdout + res.stderr, /SUCCESS/);
});

for (const values of [undefined, ...CI_VALUES]) {
  test(`promtool check rules: the PrometheusRule of ${values ?? 'the default values'}`, async (t) => {
    if (!need(t, helmPath, 'helm') || !need(t, promtoolPath, 'promtool')) return;
    await promtoolCheck(await renderedRules(values));
  });
}

test('thresholds, windows and severities come from the values', async (t) => {
  if (!need(t, helmPath, 'helm')) return;
  const groups = await renderedRules(undefined, [
    // --set makes a string of 0.25 (it converts integers and booleans only).
    '--set-json',
    'prometheusRule.alerts.deadLetterRateHigh.threshold=0.25',
    '--set',
    'prometheusRule.alerts.noEventsRead.window=2h',
    '--set',
    'prometheusRule.alerts.alertDelayHigh.thresholdSeconds=120',
    '--set',
    'prometheusRule.alerts.consumerLagGrowing.severity=critical',
    '--set',
    'prometheusRule.alerts.notReady.enabled=false',
  ]);
  const rules = new Map<string, any>(groups[0].rules.map((r: any) => [r.alert, r]));
  assert.match(rules.get('PicketDeadLetterRateHigh').expr, /> 0\.25$/);
  assert.match(rules.get('PicketNoEventsRead').expr, /\[2h\]/);
  assert.match(rules.get('PicketAlertDelayHigh').expr, /> 120$/);
  assert.equal(rules.get('PicketConsumerLagGrowing').labels.severity, 'critical');
  assert.equal(rules.has('PicketNotReady'), false);
});

test('prometheusRule.selector scopes every picket series of the rules (monitoring-values.yaml)', async (t) => {
  if (!need(t, helmPath, 'helm') || !need(t, toolsInstalled, 'deploy/tools (PromQL parser)')) return;
  const groups = await renderedRules('monitoring-values.yaml');
  const chartRules = groups[0].rules.filter((r: any) => r.alert !== 'PicketRebalanceStorm'); // additionalRules
  assert.ok(chartRules.length >= 5);
  for (const r of chartRules) {
    const parsed = await parsePromql(r.expr);
    assert.deepEqual(parsed.errors, [], r.alert);
    const picketSelectors = (r.expr as string).match(/picket_\w+(\{[^}]*\})?/g) ?? [];
    for (const s of picketSelectors) assert.ok(s.includes('namespace="security"'), `${r.alert}: ${s}`);
  }
  assert.ok(
    groups[0].rules.some((r: any) => r.alert === 'PicketRebalanceStorm'),
    'additionalRules are appended',
  );
  assert.ok(
    chartRules.every((r: any) => r.annotations.runbook_url?.startsWith('https://runbooks.example.com/picket#')),
  );
});
