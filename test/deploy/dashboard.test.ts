/**
 * The Grafana dashboard: one generated file in two places (the plain file and the chart's copy),
 * a current schema, the variables and panels the issue asks for, and every query valid PromQL.
 * That every metric it uses is one picket exports is checked in metrics.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT, need, readText, toolsInstalled } from './deployTools.js';
import { dashboardQueries, parsePromql, substituteGrafanaVariables } from './promql.js';

const text = readText('deploy', 'grafana', 'picket-dashboard.json');
const dashboard = JSON.parse(text);
const panels: any[] = dashboard.panels;
const queryPanels = panels.filter((p) => p.type !== 'row');

test('the plain dashboard, the chart copy and the generator agree', async () => {
  assert.equal(readText('deploy', 'helm', 'picket', 'dashboards', 'picket.json'), text, 'run node deploy/generate.mjs');
  const generate = await import(pathToFileURL(join(REPO_ROOT, 'deploy', 'generate.mjs')).href);
  assert.equal(await generate.dashboardText(), text, 'run node deploy/generate.mjs');
});

test('dashboard: schema version, identity, unique panel ids, a sane grid', () => {
  assert.equal(dashboard.schemaVersion, 39, 'Grafana 10+ (newer Grafana migrates it forward)');
  assert.equal(dashboard.uid, 'picket-overview');
  assert.equal(dashboard.id, null);
  const ids = panels.map((p) => p.id);
  assert.equal(new Set(ids).size, ids.length, 'unique panel ids');
  for (const p of panels) {
    assert.ok(p.gridPos.x + p.gridPos.w <= 24, `${p.title}: inside the 24-column grid`);
    assert.ok(p.title, 'every panel has a title');
    if (p.type !== 'row') {
      assert.ok(['timeseries', 'stat'].includes(p.type), `${p.title}: no deprecated panel type (${p.type})`);
      assert.deepEqual(
        p.datasource,
        { type: 'prometheus', uid: '${datasource}' },
        `${p.title}: the datasource variable`,
      );
      assert.ok(p.targets.length > 0, `${p.title}: has queries`);
      assert.ok(p.description, `${p.title}: says what it shows`);
    }
  }
  // No two panels overlap.
  const cells = new Set<string>();
  for (const p of panels)
    for (let x = p.gridPos.x; x < p.gridPos.x + p.gridPos.w; x++)
      for (let y = p.gridPos.y; y < p.gridPos.y + p.gridPos.h; y++) {
        assert.ok(!cells.has(`${x},${y}`), `${p.title} overlaps another panel`);
        cells.add(`${x},${y}`);
      }
});

test('dashboard: variables for the datasource, the namespace and the pod, used by every query', () => {
  const vars = new Map<string, any>(dashboard.templating.list.map((v: any) => [v.name, v]));
  assert.equal(vars.get('datasource')?.type, 'datasource');
  assert.equal(vars.get('datasource')?.query, 'prometheus');
  assert.equal(vars.get('namespace')?.type, 'query');
  assert.equal(vars.get('pod')?.type, 'query');
  assert.equal(vars.get('pod')?.includeAll, true);
  assert.equal(vars.get('pod')?.multi, true);
  for (const p of queryPanels)
    for (const t of p.targets) {
      assert.match(t.expr, /namespace=~"\$namespace"/, `${p.title}: ${t.expr}`);
      assert.match(t.expr, /pod=~"\$pod"/, `${p.title}: ${t.expr}`);
      if (/rate\(|increase\(/.test(t.expr))
        assert.match(t.expr, /\[\$__rate_interval\]/, `${p.title}: $__rate_interval`);
    }
});

test('dashboard: the panels the issue asks for', () => {
  const all = queryPanels.map((p) => ({
    title: p.title as string,
    exprs: p.targets.map((x: any) => x.expr).join('\n'),
  }));
  const has = (what: string, title: RegExp, expr: RegExp) =>
    assert.ok(
      all.some((p) => title.test(p.title) && expr.test(p.exprs)),
      `a panel for ${what} (title ${title}, query ${expr})`,
    );
  has('throughput in and out', /throughput in and out/i, /picket_events_read_total[\s\S]*picket_alerts_total/);
  has('alerts by rule', /alerts by rule/i, /sum by \(rule_name\) \(rate\(picket_alerts_total/);
  has(
    'dead-letter rate by reason',
    /dead letters by reason/i,
    /sum by \(reason\) \(rate\(picket_events_unreadable_total/,
  );
  has('consumer lag per partition', /lag per partition/i, /by \(topic, partition\) \(picket_consumer_lag_messages/);
  has(
    'processing time quantiles',
    /batch processing/i,
    /histogram_quantile\(0\.99, .*picket_batch_processing_seconds_bucket/,
  );
  has('alert delay quantiles', /alert delay/i, /histogram_quantile\(0\.99, .*picket_alert_delay_seconds_bucket/);
  has('late events', /late events/i, /picket_late_events_total/);
  has('evicted events', /evict/i, /picket_state_evictions_total/);
  has('state size', /state size/i, /picket_state_entries/);
  has('rebalances', /rebalances/i, /picket_rebalances_total/);
  has('events routed by detection', /routed/i, /sum by \(detection\) \(rate\(picket_events_routed_total/);
  has(
    'rebalance pause p50/p99 by stage',
    /rebalance pause/i,
    /histogram_quantile\(0\.5, sum by \(stage, le\)[\s\S]*histogram_quantile\(0\.99, sum by \(stage, le\) \(rate\(picket_rebalance_pause_seconds_bucket/,
  );
  has('published alert ids', /published alert ids/i, /picket_published_alert_ids/);
  has('event-loop lag', /event-loop lag/i, /nodejs_eventloop_lag_p99_seconds/);
  has('heap', /heap/i, /nodejs_heap_size_used_bytes/);
  has('RSS', /RSS/, /process_resident_memory_bytes/);
});

test('dashboard: every query is valid PromQL', async (t) => {
  if (!need(t, toolsInstalled, 'deploy/tools (PromQL parser)')) return;
  const queries = dashboardQueries(dashboard);
  assert.ok(queries.length > 30);
  for (const q of queries) {
    const parsed = await parsePromql(substituteGrafanaVariables(q));
    assert.deepEqual(parsed.errors, [], q);
    assert.ok(parsed.metrics.size > 0, `${q}: selects a metric`);
  }
});
