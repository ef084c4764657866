#!/usr/bin/env node
// Generates the deploy artifacts that exist in two places, from one source each:
//   the Grafana dashboard (built below)  -> deploy/grafana/picket-dashboard.json
//                                           deploy/helm/picket/dashboards/picket.json (the chart's copy)
//   the chart's PrometheusRule template  -> deploy/prometheus/picket-rules.yaml (rendered with the default
//                                           values, for Prometheus without the Operator and for promtool)
// Usage: node deploy/generate.mjs [--check]
//   --check writes nothing and exits 1 when a file differs from what would be generated.
// Needs helm (.cache/bin/helm or PATH: scripts/install-deploy-tools.sh) for the rules file.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const CHART_DIR = join(ROOT, 'deploy', 'helm', 'picket');
export const DASHBOARD_FILES = [
  join(ROOT, 'deploy', 'grafana', 'picket-dashboard.json'),
  join(CHART_DIR, 'dashboards', 'picket.json'),
];
export const RULES_FILE = join(ROOT, 'deploy', 'prometheus', 'picket-rules.yaml');

// ------------------------------------------------------------------------------------------------
// The dashboard. Only metrics picket exports (test/deploy/metrics.test.ts checks against a running
// picket). Grafana schemaVersion 39 (Grafana 10 and later migrate it forward).

const DS = { type: 'prometheus', uid: '${datasource}' };
const SEL = 'namespace=~"$namespace", pod=~"$pod"';
const RATE = '$__rate_interval';

function target(expr, legendFormat, refId) {
  return { datasource: DS, expr, legendFormat, range: true, refId };
}

function targets(list) {
  return list.map(([expr, legend], i) => target(expr, legend, String.fromCharCode(65 + i)));
}

function quantiles(metric, by = '', qs = [0.5, 0.9, 0.99]) {
  const groups = by ? `${by}, le` : 'le';
  return qs.map((q) => [
    `histogram_quantile(${q}, sum by (${groups}) (rate(${metric}_bucket{${SEL}}[${RATE}])))`,
    `p${Math.round(q * 100)}${by ? ` {{${by}}}` : ''}`,
  ]);
}

export function buildDashboard() {
  let id = 0;
  let y = 0;
  const panels = [];
  const row = (title) => {
    panels.push({ type: 'row', id: ++id, title, collapsed: false, gridPos: { h: 1, w: 24, x: 0, y }, panels: [] });
    y += 1;
  };
  // Lays out one line of panels, each [width, panel].
  const line = (height, items) => {
    let x = 0;
    for (const [w, p] of items) {
      panels.push({ ...p, id: ++id, gridPos: { h: height, w, x, y } });
      x += w;
    }
    y += height;
  };
  const stat = (title, description, expr, unit = 'short') => ({
    type: 'stat',
    title,
    description,
    datasource: DS,
    targets: [target(expr, title, 'A')],
    fieldConfig: { defaults: { unit, decimals: 2, color: { mode: 'thresholds' } }, overrides: [] },
    options: {
      reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
      colorMode: 'value',
      graphMode: 'area',
      justifyMode: 'auto',
      orientation: 'auto',
      textMode: 'auto',
    },
  });
  const series = (title, description, list, unit = 'short', extra = {}) => ({
    type: 'timeseries',
    title,
    description,
    datasource: DS,
    targets: targets(list),
    fieldConfig: {
      defaults: {
        unit,
        custom: { drawStyle: 'line', lineWidth: 1, fillOpacity: 10, showPoints: 'never', ...extra },
      },
      overrides: [],
    },
    options: {
      legend: { displayMode: 'list', placement: 'bottom', showLegend: true },
      tooltip: { mode: 'multi', sort: 'desc' },
    },
  });

  row('Overview');
  line(4, [
    [
      4,
      stat(
        'Events read',
        'Records read from the input topics per second.',
        `sum(rate(picket_events_read_total{${SEL}}[${RATE}]))`,
        'reqps',
      ),
    ],
    [
      4,
      stat(
        'Alerts',
        'Alerts published (acknowledged by the broker) per second.',
        `sum(rate(picket_alerts_total{${SEL}}[${RATE}]))`,
        'reqps',
      ),
    ],
    [
      4,
      stat(
        'Dead letters',
        'Records that could not be read, sent to the dead-letter topic, per second.',
        `sum(rate(picket_events_unreadable_total{${SEL}}[${RATE}]))`,
        'reqps',
      ),
    ],
    [
      4,
      stat(
        'Consumer lag',
        'Records behind the high watermark, over all input partitions.',
        `sum(max by (topic, partition) (picket_consumer_lag_messages{${SEL}}))`,
      ),
    ],
    [4, stat('Ready instances', 'Instances whose /readyz answers 200.', `sum(picket_ready{${SEL}})`)],
    [
      4,
      stat(
        'Assigned partitions',
        'Input partitions owned by the instances shown. Replicas beyond the partition count stay idle.',
        `sum(picket_assigned_partitions{${SEL}})`,
      ),
    ],
  ]);

  row('Throughput');
  line(8, [
    [
      12,
      series(
        'Throughput in and out',
        'Records read in; alerts and dead letters published out.',
        [
          [`sum(rate(picket_events_read_total{${SEL}}[${RATE}]))`, 'records read'],
          [`sum(rate(picket_alerts_total{${SEL}}[${RATE}]))`, 'alerts'],
          [`sum(rate(picket_events_unreadable_total{${SEL}}[${RATE}]))`, 'dead letters'],
        ],
        'reqps',
      ),
    ],
    [
      12,
      series(
        'Records read by topic',
        'Records read per second, by input topic.',
        [[`sum by (topic) (rate(picket_events_read_total{${SEL}}[${RATE}]))`, '{{topic}}']],
        'reqps',
      ),
    ],
  ]);
  line(8, [
    [
      8,
      series(
        'Alerts by rule',
        'Alerts published per second, by rule.',
        [[`sum by (rule_name) (rate(picket_alerts_total{${SEL}}[${RATE}]))`, '{{rule_name}}']],
        'reqps',
      ),
    ],
    [
      8,
      series(
        'Dead letters by reason',
        'Unreadable records per second, by reason (empty, invalid_utf8, invalid_json, not_an_object, missing_timestamp, invalid_timestamp).',
        [[`sum by (reason) (rate(picket_events_unreadable_total{${SEL}}[${RATE}]))`, '{{reason}}']],
        'reqps',
      ),
    ],
    [
      8,
      series(
        'Alerts deduplicated by rule',
        'Alerts re-derived after a restart or rebalance that had been published already (by the commit metadata or the published-alerts window), and were dropped.',
        [[`sum by (rule_id) (rate(picket_alerts_deduplicated_total{${SEL}}[${RATE}]))`, '{{rule_id}}']],
        'reqps',
      ),
    ],
  ]);

  row('Consumer group');
  line(8, [
    [
      12,
      series(
        'Consumer lag per partition',
        'Records between the last one processed and the partition high watermark, as of the last batch.',
        [[`max by (topic, partition) (picket_consumer_lag_messages{${SEL}})`, '{{topic}}/{{partition}}']],
      ),
    ],
    [
      6,
      series('Assigned partitions per instance', 'Input partitions each instance owns.', [
        [`sum by (pod) (picket_assigned_partitions{${SEL}})`, '{{pod}}'],
      ]),
    ],
    [
      6,
      series(
        'Rebalances',
        'Consumer group rebalances each instance took part in.',
        [[`sum by (pod) (increase(picket_rebalances_total{${SEL}}[${RATE}]))`, '{{pod}}']],
        'short',
        { drawStyle: 'bars', fillOpacity: 80 },
      ),
    ],
  ]);

  row('Routing');
  line(8, [
    [
      8,
      series(
        'Events routed by detection',
        "Events the router stage produced to each keyed detection's repartition topic (<kafka.groupId>-<detection>-repartition), per second.",
        [[`sum by (detection) (rate(picket_events_routed_total{${SEL}}[${RATE}]))`, '{{detection}}']],
        'reqps',
      ),
    ],
    [
      8,
      series(
        'Rebalance pause by stage',
        'From a rebalance starting (or a restart joining) to the first batch processed after it, restores included, by stage (router, detector): p50 and p99.',
        quantiles('picket_rebalance_pause_seconds', 'stage', [0.5, 0.99]),
        's',
      ),
    ],
    [
      8,
      series(
        'Published alert ids',
        'Alert ids each instance remembers as published (alerts.dedupeWindowMs, read back from the output topic when it joins): a re-derived alert with one of them is not published again.',
        [[`sum by (pod) (picket_published_alert_ids{${SEL}})`, '{{pod}}']],
      ),
    ],
  ]);

  row('Latency');
  line(8, [
    [
      8,
      series(
        'Batch processing time',
        'Time to process one fetched batch: decode, detect, publish alerts and dead letters.',
        quantiles('picket_batch_processing_seconds'),
        's',
      ),
    ],
    [
      8,
      series(
        'Alert delay',
        'Wall-clock time from reading the trigger event to the alert being acknowledged. The correlating detections wait about ordering.latenessMs by design.',
        quantiles('picket_alert_delay_seconds'),
        's',
      ),
    ],
    [
      8,
      series(
        'Alert event-time lag',
        'Wall-clock time at publication minus the alert @timestamp: includes the time the event took to reach Kafka.',
        quantiles('picket_alert_event_time_lag_seconds'),
        's',
      ),
    ],
  ]);

  row('Event time and state');
  line(8, [
    [
      6,
      series(
        'Late events by topic',
        'Events older than their partition watermark on arrival (still matched against the state that remains).',
        [[`sum by (topic) (rate(picket_late_events_total{${SEL}}[${RATE}]))`, '{{topic}}']],
        'reqps',
      ),
    ],
    [
      6,
      series(
        'Evicted state',
        'State dropped by a bound before it expired, by detection and reason.',
        [
          [
            `sum by (detection, reason) (rate(picket_state_evictions_total{${SEL}}[${RATE}]))`,
            '{{detection}} {{reason}}',
          ],
        ],
        'reqps',
      ),
    ],
    [
      6,
      series('State size', 'Entries held in the state of each correlating detection.', [
        [`sum by (detection) (picket_state_entries{${SEL}})`, '{{detection}}'],
      ]),
    ],
    [
      6,
      series('Reorder buffer', 'Events waiting in the reorder buffers for the watermark to pass them.', [
        [`sum by (pod) (picket_reorder_buffer_events{${SEL}})`, '{{pod}}'],
      ]),
    ],
  ]);
  line(8, [
    [
      12,
      series(
        'Learned-state restore time',
        'Time to read the RDP spike models back from their changelog after partitions were assigned (max over pods).',
        [
          [
            `max by (pod) (rate(picket_state_restore_seconds_sum{${SEL}}[${RATE}]) / rate(picket_state_restore_seconds_count{${SEL}}[${RATE}]))`,
            '{{pod}}',
          ],
        ],
        's',
      ),
    ],
    [
      12,
      series(
        'Changelog writes',
        'Learned-state changes written to the compacted changelog topics, by detection.',
        [[`sum by (detection) (rate(picket_changelog_records_total{${SEL}}[${RATE}]))`, '{{detection}}']],
        'reqps',
      ),
    ],
  ]);

  row('Runtime');
  line(8, [
    [
      6,
      series(
        'Event-loop lag p99',
        'The 99th percentile of the Node.js event-loop delay: above a few tens of ms, everything waits.',
        [[`max by (pod) (nodejs_eventloop_lag_p99_seconds{${SEL}})`, '{{pod}}']],
        's',
      ),
    ],
    [
      6,
      series(
        'Heap',
        'V8 heap used and total, per instance.',
        [
          [`sum by (pod) (nodejs_heap_size_used_bytes{${SEL}})`, 'used {{pod}}'],
          [`sum by (pod) (nodejs_heap_size_total_bytes{${SEL}})`, 'total {{pod}}'],
        ],
        'bytes',
      ),
    ],
    [
      6,
      series(
        'Resident memory (RSS)',
        'Resident set size per instance; compare with the container memory limit.',
        [[`sum by (pod) (process_resident_memory_bytes{${SEL}})`, '{{pod}}']],
        'bytes',
      ),
    ],
    [
      6,
      series(
        'CPU and GC',
        'CPU used (cores) and time spent in garbage collection (seconds per second), per instance.',
        [
          [`sum by (pod) (rate(process_cpu_seconds_total{${SEL}}[${RATE}]))`, 'cpu {{pod}}'],
          [`sum by (pod) (rate(nodejs_gc_duration_seconds_sum{${SEL}}[${RATE}]))`, 'gc {{pod}}'],
        ],
        'short',
      ),
    ],
  ]);

  const queryVar = (name, label, query, extra) => ({
    type: 'query',
    name,
    label,
    datasource: DS,
    definition: query,
    query: { query, refId: 'PrometheusVariableQueryEditor-VariableQuery' },
    refresh: 2,
    sort: 1,
    hide: 0,
    regex: '',
    current: {},
    options: [],
    ...extra,
  });

  return {
    annotations: {
      list: [
        {
          builtIn: 1,
          datasource: { type: 'grafana', uid: '-- Grafana --' },
          enable: true,
          hide: true,
          iconColor: 'rgba(0, 211, 255, 1)',
          name: 'Annotations & Alerts',
          type: 'dashboard',
        },
      ],
    },
    description: 'picket: Kafka in, detections, alerts out. Throughput, lag, latency, event time, state and runtime.',
    editable: true,
    fiscalYearStartMonth: 0,
    graphTooltip: 1,
    id: null,
    links: [],
    panels,
    refresh: '30s',
    schemaVersion: 39,
    tags: ['picket', 'kafka', 'security'],
    templating: {
      list: [
        {
          type: 'datasource',
          name: 'datasource',
          label: 'Data source',
          query: 'prometheus',
          current: {},
          hide: 0,
          includeAll: false,
          multi: false,
          options: [],
          refresh: 1,
          regex: '',
        },
        queryVar('namespace', 'Namespace', 'label_values(picket_ready, namespace)', {
          includeAll: false,
          multi: false,
        }),
        queryVar('pod', 'Pod', 'label_values(picket_ready{namespace=~"$namespace"}, pod)', {
          includeAll: true,
          multi: true,
          allValue: '.*',
        }),
      ],
    },
    time: { from: 'now-3h', to: 'now' },
    timepicker: {},
    timezone: '',
    title: 'picket',
    uid: 'picket-overview',
    version: 1,
    weekStart: '',
  };
}

// ------------------------------------------------------------------------------------------------

async function prettier(text, file) {
  const { format, resolveConfig } = await import('prettier');
  const options = (await resolveConfig(file)) ?? {};
  return format(text, { ...options, filepath: file });
}

export async function dashboardText() {
  return prettier(JSON.stringify(buildDashboard(), null, 2), DASHBOARD_FILES[0]);
}

export function findTool(name) {
  const candidates = [
    join(ROOT, '.cache', 'bin', name),
    ...(process.env.PATH ?? '').split(delimiter).map((d) => join(d, name)),
  ];
  return candidates.find((p) => p && existsSync(p));
}

/** The chart's alerting rules rendered with the default values, as the plain rules file. */
export async function rulesText(helm = findTool('helm')) {
  if (!helm) throw new Error('helm not found (.cache/bin or PATH): run scripts/install-deploy-tools.sh');
  const { parse, stringify } = await import('yaml');
  const out = execFileSync(
    helm,
    [
      'template',
      'picket',
      CHART_DIR,
      '--set',
      'prometheusRule.enabled=true',
      '--show-only',
      'templates/prometheusrule.yaml',
    ],
    { encoding: 'utf8' },
  );
  const rule = parse(out);
  const header =
    "# picket alerting rules for Prometheus (rule_files), generated by deploy/generate.mjs from the Helm chart's\n" +
    '# PrometheusRule template with its default values: edit the template, then run `node deploy/generate.mjs`.\n' +
    '# Check with: promtool check rules deploy/prometheus/picket-rules.yaml\n' +
    "# PicketRestarting uses kube-state-metrics (kube_pod_container_status_restarts_total); the rest, picket's metrics.\n";
  return prettier(header + stringify({ groups: rule.spec.groups }, { lineWidth: 0 }), RULES_FILE);
}

async function main() {
  const check = process.argv.includes('--check');
  const wanted = new Map();
  const dash = await dashboardText();
  for (const f of DASHBOARD_FILES) wanted.set(f, dash);
  wanted.set(RULES_FILE, await rulesText());
  let stale = 0;
  for (const [file, text] of wanted) {
    const current = existsSync(file) ? readFileSync(file, 'utf8') : undefined;
    if (current === text) continue;
    if (check) {
      console.error(`deploy/generate: ${file} is out of date: run node deploy/generate.mjs`);
      stale++;
    } else {
      writeFileSync(file, text);
      console.error(`deploy/generate: wrote ${file}`);
    }
  }
  process.exit(stale ? 1 : 0);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
