/**
 * Every metric the dashboard and the alerting rules use is one picket exports: picket runs against a
 * real broker (KAFKA_BROKERS, or one test/support/kafka.ts starts), /metrics is scraped, and each
 * metric name in the queries must be a family it announces (# HELP / # TYPE, so labelled metrics
 * count before they have samples) or a histogram's _bucket, _sum or _count series.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { createTopics, startTestKafka, uniqueName, type TestKafka } from '../support/kafka.js';
import { startPicket, type PicketProcess } from '../support/picketProcess.js';
import { CI_VALUES, helmPath, need, readText, render, toolsInstalled } from './deployTools.js';
import { dashboardQueries, parsePromql, substituteGrafanaVariables } from './promql.js';

/**
 * Metrics the rules use that picket does not export, each with where it comes from.
 */
const NOT_PICKET: Record<string, string> = {
  // PicketRestarting: container restarts are counted by kube-state-metrics, not by the process.
  kube_pod_container_status_restarts_total: 'kube-state-metrics',
};

let kafka: TestKafka | undefined;
let picket: PicketProcess | undefined;
let exposition = '';

before(async () => {
  kafka = await startTestKafka();
  const input = uniqueName('deploy-metrics-in');
  await createTopics(kafka.brokers, [{ topic: input, numPartitions: 1 }]);
  picket = await startPicket({
    KAFKA_BROKERS: kafka.brokers.join(','),
    PICKET_INPUT_TOPICS: input,
    PICKET_OUTPUT_TOPIC: uniqueName('deploy-metrics-alerts'),
    PICKET_DEAD_LETTER_TOPIC: uniqueName('deploy-metrics-dlq'),
    PICKET_GROUP_ID: uniqueName('deploy-metrics'),
    PICKET_LOG_LEVEL: 'warn',
  });
  await picket.waitReady();
  exposition = await picket.metrics();
});

after(async () => {
  if (picket && picket.child.exitCode === null) {
    picket.child.kill('SIGTERM');
    await picket.exited;
  }
  await kafka?.stop();
});

/** The metric names a Prometheus exposition announces, with the series names of histograms and summaries. */
function exportedNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*)(?: (\S+))?/.exec(line);
    if (meta) {
      const name = meta[2]!;
      names.add(name);
      if (meta[1] === 'TYPE' && (meta[3] === 'histogram' || meta[3] === 'summary'))
        for (const s of meta[3] === 'histogram' ? ['_bucket', '_sum', '_count'] : ['_sum', '_count'])
          names.add(name + s);
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]/.exec(line);
    if (sample) names.add(sample[1]!);
  }
  return names;
}

async function namesIn(queries: string[]): Promise<Set<string>> {
  const names = new Set<string>();
  for (const q of queries) {
    const parsed = await parsePromql(substituteGrafanaVariables(q));
    assert.deepEqual(parsed.errors, [], q);
    for (const n of parsed.metrics) names.add(n);
  }
  return names;
}

function unknown(used: Set<string>, exported: Set<string>): string[] {
  return [...used].filter((n) => !exported.has(n) && !(n in NOT_PICKET)).sort();
}

test('picket exports its metric families', () => {
  const exported = exportedNames(exposition);
  for (const n of [
    'picket_events_read_total',
    'picket_alert_delay_seconds_bucket',
    'picket_ready',
    'nodejs_heap_size_used_bytes',
  ])
    assert.ok(exported.has(n), `${n} in /metrics`);
  for (const n of Object.keys(NOT_PICKET))
    assert.ok(!exported.has(n), `${n} is picket's after all: drop the exemption`);
  assert.deepEqual(unknown(new Set(['picket_events_read', 'picket_ready_bucket']), exported), [
    'picket_events_read',
    'picket_ready_bucket',
  ]);
});

test('the dashboard uses only metrics picket exports', async (t) => {
  if (!need(t, toolsInstalled, 'deploy/tools (PromQL parser)')) return;
  const used = await namesIn(dashboardQueries(JSON.parse(readText('deploy', 'grafana', 'picket-dashboard.json'))));
  assert.ok(used.size >= 15, `the dashboard uses ${used.size} metrics`);
  assert.deepEqual(unknown(used, exportedNames(exposition)), [], 'not exported by picket');
  for (const n of used) assert.ok(!(n in NOT_PICKET), `the dashboard uses ${n}, which is not picket's`);
});

test('the alerting rules (deploy/prometheus/picket-rules.yaml) use only metrics picket exports', async (t) => {
  if (!need(t, toolsInstalled, 'deploy/tools (PromQL parser)')) return;
  const groups = parse(readText('deploy', 'prometheus', 'picket-rules.yaml')).groups as any[];
  const used = await namesIn(groups.flatMap((g) => g.rules.map((r: any) => r.expr as string)));
  assert.deepEqual(unknown(used, exportedNames(exposition)), [], 'not exported by picket');
});

test("the chart's PrometheusRule, with every CI values file, uses only metrics picket exports", async (t) => {
  if (!need(t, toolsInstalled, 'deploy/tools (PromQL parser)') || !need(t, helmPath, 'helm')) return;
  const exported = exportedNames(exposition);
  for (const values of [undefined, ...CI_VALUES]) {
    const ms = await render(values, ['--set', 'prometheusRule.enabled=true']);
    const rule = ms.find((m) => m.kind === 'PrometheusRule')!;
    const used = await namesIn(rule.spec.groups.flatMap((g: any) => g.rules.map((r: any) => r.expr as string)));
    assert.deepEqual(unknown(used, exported), [], `${values ?? 'default values'}: not exported by picket`);
  }
});
