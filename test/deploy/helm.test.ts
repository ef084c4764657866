/**
 * The Helm chart: `helm lint --strict` and `helm template` with the default values and with every
 * file in deploy/helm/picket/ci/; the rendered manifests checked for picket's security settings,
 * probes, labels and configuration, and validated against Kubernetes schemas (see k8sSchemas.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import {
  CHART_DIR,
  CI_VALUES,
  K8S_STRUCTURE_FILE,
  NAMESPACE,
  RELEASE,
  REPO_ROOT,
  helmPath,
  helmTemplate,
  need,
  render,
  run,
  toolsInstalled,
  type Manifest,
} from './deployTools.js';
import { modelErrors, structureErrors } from './k8sSchemas.js';
import { existsSync } from 'node:fs';

const VALUE_SETS: (string | undefined)[] = [undefined, ...CI_VALUES];
const label = (v: string | undefined) => v ?? 'default values';

const chart = parse(readFileSync(join(CHART_DIR, 'Chart.yaml'), 'utf8')) as { version: string; appVersion: string };
const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
// The release name contains the chart name, so the resources are named after the release alone.
const FULLNAME = RELEASE.includes('picket') ? RELEASE : `${RELEASE}-picket`;
const SELECTOR = { 'app.kubernetes.io/name': 'picket', 'app.kubernetes.io/instance': RELEASE };

/** The Deployment (and PDB, autoscaler) of a stage: `all` is the single Deployment of the release. */
const stageName = (stage: string) => (stage === 'all' ? FULLNAME : `${FULLNAME}-${stage}`);
/** A stage's pod selector: the release's, and for a separate stage its component. */
const stageSelector = (stage: string): Record<string, string> =>
  stage === 'all' ? SELECTOR : { ...SELECTOR, 'app.kubernetes.io/component': stage };

function one(ms: Manifest[], kind: string): Manifest {
  const found = ms.filter((m) => m.kind === kind);
  assert.equal(found.length, 1, `exactly one ${kind} (found ${found.length})`);
  return found[0]!;
}

function isHook(m: Manifest): boolean {
  return Boolean(m.metadata.annotations?.['helm.sh/hook']);
}

/** Values the test reads back from a values file (merged over values.yaml by hand where needed). */
function valuesOf(file: string | undefined): any {
  const base = parse(readFileSync(join(CHART_DIR, 'values.yaml'), 'utf8'));
  const over = file ? (parse(readFileSync(join(CHART_DIR, 'ci', file), 'utf8')) ?? {}) : {};
  const merge = (a: any, b: any): any => {
    if (b === null) return undefined;
    if (typeof a !== 'object' || a === null || Array.isArray(a) || typeof b !== 'object' || Array.isArray(b)) return b;
    const out = { ...a };
    for (const [k, v] of Object.entries(b)) {
      const m = merge(a[k], v);
      if (m === undefined) delete out[k];
      else out[k] = m;
    }
    return out;
  };
  return merge(base, over);
}

test('Chart.yaml: appVersion is the package version, the image tag defaults to it', () => {
  assert.equal(chart.appVersion, pkg.version, 'bump appVersion in deploy/helm/picket/Chart.yaml with package.json');
  assert.match(chart.version, /^\d+\.\d+\.\d+/);
});

for (const values of VALUE_SETS) {
  test(`helm lint --strict: ${label(values)}`, async (t) => {
    if (!need(t, helmPath, 'helm')) return;
    const args = ['lint', '--strict', CHART_DIR, '--namespace', NAMESPACE];
    if (values) args.push('-f', join(CHART_DIR, 'ci', values));
    const res = await run(helmPath!, args);
    assert.equal(res.code, 0, `${res.stdout}\n${res.stderr}`);
    assert.match(res.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
  });
}

for (const values of VALUE_SETS) {
  test(`helm template: ${label(values)}: labels, security, probes, configuration`, async (t) => {
    if (!need(t, helmPath, 'helm')) return;
    const v = valuesOf(values);
    const separate = Boolean(v.routing.separateStages);
    const ms = await render(values);
    const keys = ms.map((m) => `${m.kind}/${m.metadata.name}`);
    assert.equal(new Set(keys).size, keys.length, `no duplicate resources: ${keys.join(', ')}`);

    // Standard labels on everything; names within the DNS-label limit.
    for (const m of ms) {
      const l = m.metadata.labels ?? {};
      const where = `${m.kind}/${m.metadata.name}`;
      assert.ok(m.metadata.name.length <= 63, `${where}: name longer than 63`);
      assert.equal(m.metadata.namespace !== undefined, true, `${where}: has a namespace`);
      assert.equal(l['helm.sh/chart'], `picket-${chart.version}`, `${where}: helm.sh/chart`);
      assert.equal(l['app.kubernetes.io/instance'], RELEASE, `${where}: instance`);
      assert.equal(l['app.kubernetes.io/managed-by'], 'Helm', `${where}: managed-by`);
      assert.equal(l['app.kubernetes.io/version'], v.image.tag || chart.appVersion, `${where}: version`);
      if (isHook(m)) {
        assert.equal(l['app.kubernetes.io/name'], 'picket-test', `${where}: a test pod is not one of picket's pods`);
        assert.equal(l['app.kubernetes.io/component'], 'test');
      } else {
        assert.equal(l['app.kubernetes.io/name'], 'picket', `${where}: name`);
        const components = separate ? ['detector', 'router'] : ['detector'];
        assert.ok(components.includes(l['app.kubernetes.io/component']!), `${where}: component`);
      }
    }

    // One Deployment running both stages, or (routing.separateStages) a router and a detector.
    const stages = separate ? ['router', 'detector'] : ['all'];
    const deploys = ms.filter((m) => m.kind === 'Deployment');
    assert.deepEqual(
      deploys.map((d) => d.metadata.name),
      stages.map((s) => stageName(s)),
    );
    const hpas = ms.filter((m) => m.kind === 'HorizontalPodAutoscaler');
    const scaled = ms.filter((m) => m.kind === 'ScaledObject');
    assert.ok(!(hpas.length && scaled.length), 'never both an HPA and a KEDA ScaledObject');
    assert.equal(hpas.length, v.autoscaling.enabled ? deploys.length : 0, 'an HPA per Deployment');
    assert.equal(scaled.length, v.keda.enabled ? deploys.length : 0, 'a ScaledObject per Deployment');
    for (const [i, deploy] of deploys.entries()) {
      const stage = stages[i]!;
      const spec = deploy.spec;
      const pod = spec.template.spec;
      assert.deepEqual(
        spec.selector.matchLabels,
        stageSelector(stage),
        'selector: only the stable labels (and the stage)',
      );
      for (const [k, val] of Object.entries(stageSelector(stage))) assert.equal(spec.template.metadata.labels[k], val);
      assert.ok(spec.template.metadata.annotations['checksum/config'], 'pods roll on a configuration change');

      // Autoscaling: HPA xor ScaledObject, and then no fixed replica count.
      const own = [...hpas, ...scaled].filter((a) => a.spec.scaleTargetRef.name === deploy.metadata.name);
      assert.equal(own.length, hpas.length + scaled.length ? 1 : 0, `one autoscaler for ${deploy.metadata.name}`);
      if (own.length) assert.equal(spec.replicas, undefined, 'the autoscaler owns replicas');
      else assert.equal(spec.replicas, v.routing[stage]?.replicaCount ?? v.replicaCount);
      for (const a of own) {
        assert.deepEqual(a.spec.scaleTargetRef, {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          name: deploy.metadata.name,
        });
      }

      // Pod and container security.
      assert.equal(pod.automountServiceAccountToken, false);
      assert.equal(pod.securityContext.runAsNonRoot, true);
      assert.equal(pod.securityContext.runAsUser, 1000, "the node image's node user");
      assert.equal(pod.securityContext.seccompProfile.type, 'RuntimeDefault');
      assert.equal(pod.containers.length, 1);
      const c = pod.containers[0];
      const sc = c.securityContext;
      assert.equal(sc.runAsNonRoot, true);
      assert.equal(sc.runAsUser, 1000);
      assert.equal(sc.allowPrivilegeEscalation, false);
      assert.equal(sc.readOnlyRootFilesystem, true);
      assert.equal(sc.privileged, false);
      assert.deepEqual(sc.capabilities.drop, ['ALL']);
      assert.equal(sc.capabilities.add, undefined);
      assert.equal(sc.seccompProfile.type, 'RuntimeDefault');
      const tmpMount = c.volumeMounts.find((m: any) => m.mountPath === '/tmp');
      assert.ok(tmpMount, '/tmp is mounted (read-only root filesystem)');
      const tmpVolume = pod.volumes.find((vol: any) => vol.name === tmpMount.name);
      assert.ok(tmpVolume?.emptyDir, '/tmp is an emptyDir');

      // Image, command, configuration file.
      assert.equal(
        c.image,
        v.image.digest
          ? `${v.image.repository}@${v.image.digest}`
          : `${v.image.repository}:${v.image.tag || chart.appVersion}`,
      );
      assert.equal(c.command, undefined, "the image's ENTRYPOINT (node bin/picket) runs, not a shell or npm");
      assert.deepEqual(c.args, ['run', '--config', '/etc/picket/picket.yaml']);
      const cfgMount = c.volumeMounts.find((m: any) => m.mountPath === '/etc/picket/picket.yaml');
      assert.ok(cfgMount?.readOnly, 'the configuration file is mounted read-only');
      const cfgVolume = pod.volumes.find((vol: any) => vol.name === cfgMount.name);
      const cm = ms.find((m) => m.kind === 'ConfigMap' && m.metadata.name === cfgVolume.configMap.name);
      assert.ok(cm, 'the mounted ConfigMap is rendered');
      const config = parse(cm.data[cfgMount.subPath]);

      // Ports and probes.
      assert.deepEqual(c.ports, [{ name: 'metrics', containerPort: v.containerPort, protocol: 'TCP' }]);
      assert.deepEqual(config.http, { host: '0.0.0.0', port: v.containerPort });
      assert.deepEqual(c.livenessProbe.httpGet, { path: '/healthz', port: 'metrics' });
      assert.deepEqual(c.readinessProbe.httpGet, { path: '/readyz', port: 'metrics' });
      assert.deepEqual(c.startupProbe.httpGet, { path: '/healthz', port: 'metrics' });
      assert.ok(c.resources.requests.cpu && c.resources.requests.memory && c.resources.limits.memory, 'resources');
      assert.ok(
        pod.terminationGracePeriodSeconds * 1000 > config.shutdown.graceMs,
        `terminationGracePeriodSeconds ${pod.terminationGracePeriodSeconds} s must exceed shutdown.graceMs ${config.shutdown.graceMs}`,
      );

      // Kafka settings reach picket: brokers and topics in the file, credentials only from Secrets.
      assert.deepEqual(config.kafka.brokers, v.kafka.brokers);
      assert.deepEqual(config.topics.input, v.topics.input);
      const env = new Map<string, any>((c.env ?? []).map((e: any) => [e.name, e]));
      const secretNames = new Set(ms.filter((m) => m.kind === 'Secret').map((m) => m.metadata.name));
      if (v.kafka.sasl.enabled) {
        assert.equal(env.get('KAFKA_SASL_MECHANISM')?.value, v.kafka.sasl.mechanism);
        for (const name of ['KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD']) {
          const ref = env.get(name)?.valueFrom?.secretKeyRef;
          assert.ok(ref, `${name} comes from a Secret`);
          if (v.kafka.sasl.existingSecret) assert.equal(ref.name, v.kafka.sasl.existingSecret);
          else assert.ok(secretNames.has(ref.name), `${name}: the chart renders Secret ${ref.name}`);
        }
      } else {
        assert.ok(![...env.keys()].some((k) => k.startsWith('KAFKA_SASL')), 'no SASL variables without SASL');
      }
      if (v.kafka.tls.enabled) {
        assert.equal(env.get('KAFKA_SSL')?.value, 'true');
        const tlsMount = c.volumeMounts.find((m: any) => m.name === 'kafka-tls');
        for (const name of ['KAFKA_SSL_CA_FILE', 'KAFKA_SSL_CERT_FILE', 'KAFKA_SSL_KEY_FILE']) {
          const file = env.get(name)?.value as string | undefined;
          if (!file) continue;
          assert.ok(tlsMount && file.startsWith(`${tlsMount.mountPath}/`), `${name} is in the mounted TLS Secret`);
          const vol = pod.volumes.find((x: any) => x.name === 'kafka-tls');
          assert.ok(
            vol.secret.items.some((i: any) => `${tlsMount.mountPath}/${i.path}` === file),
            `${name} is mounted`,
          );
        }
      } else {
        assert.ok(![...env.keys()].some((k) => k.startsWith('KAFKA_SSL')), 'no TLS variables without TLS');
      }
      // The stage: in the file for the single Deployment, from the environment for a separate one.
      if (stage === 'all') {
        assert.equal(config.routing.stage, 'all');
        assert.equal(env.get('PICKET_ROUTING_STAGE'), undefined);
      } else {
        assert.equal(config.routing.stage, undefined, 'the shared file leaves the stage to each Deployment');
        assert.deepEqual(env.get('PICKET_ROUTING_STAGE'), { name: 'PICKET_ROUTING_STAGE', value: stage });
      }
    }
    const secretValues = [v.kafka.sasl.password, v.kafka.tls.key].filter(Boolean) as string[];
    for (const m of ms.filter((x) => x.kind !== 'Secret')) {
      const text = JSON.stringify(m);
      for (const s of secretValues) assert.ok(!text.includes(s.trim()), `${m.kind}/${m.metadata.name} holds a secret`);
    }

    // The metrics Service, and what scrapes it.
    const svc = one(ms, 'Service');
    assert.deepEqual(svc.spec.selector, SELECTOR);
    assert.deepEqual(svc.spec.ports, [
      { name: 'metrics', port: v.service.port, targetPort: 'metrics', protocol: 'TCP' },
    ]);
    const sm = ms.filter((m) => m.kind === 'ServiceMonitor');
    const pm = ms.filter((m) => m.kind === 'PodMonitor');
    assert.equal(sm.length, v.metrics.serviceMonitor.enabled ? 1 : 0);
    assert.equal(pm.length, v.metrics.podMonitor.enabled ? 1 : 0);
    for (const m of sm) {
      assert.equal(m.spec.endpoints[0].port, 'metrics');
      assert.deepEqual(m.spec.selector.matchLabels, SELECTOR);
    }
    for (const m of pm) assert.equal(m.spec.podMetricsEndpoints[0].port, 'metrics');
    assert.equal(ms.filter((m) => m.kind === 'PrometheusRule').length, v.prometheusRule.enabled ? 1 : 0);

    // PodDisruptionBudget: selects picket's pods, never blocks a drain of a single replica.
    const pdbs = ms.filter((m) => m.kind === 'PodDisruptionBudget');
    assert.equal(pdbs.length, v.podDisruptionBudget.enabled ? deploys.length : 0, 'a PDB per Deployment');
    for (const [i, p] of pdbs.entries()) {
      const stage = stages[i]!;
      assert.equal(p.metadata.name, stageName(stage));
      assert.deepEqual(p.spec.selector.matchLabels, stageSelector(stage));
      assert.ok((p.spec.minAvailable === undefined) !== (p.spec.maxUnavailable === undefined), 'one of the two');
      const replicas = v.routing[stage]?.replicaCount ?? v.replicaCount;
      if (!hpas.length && !scaled.length && replicas <= 1) assert.notEqual(p.spec.minAvailable, 1);
    }

    // NetworkPolicy: metrics in; DNS and the brokers' ports out.
    const nps = ms.filter((m) => m.kind === 'NetworkPolicy');
    assert.equal(nps.length, v.networkPolicy.enabled ? 1 : 0);
    for (const np of nps) {
      assert.deepEqual(np.spec.podSelector.matchLabels, SELECTOR);
      assert.deepEqual(np.spec.policyTypes, ['Ingress', 'Egress']);
      assert.deepEqual(np.spec.ingress[0].ports, [{ port: 'metrics', protocol: 'TCP' }]);
      const egressPorts = np.spec.egress.flatMap((r: any) => r.ports ?? []).map((p: any) => `${p.protocol}/${p.port}`);
      assert.ok(egressPorts.includes('UDP/53') && egressPorts.includes('TCP/53'), 'DNS');
      for (const b of v.kafka.brokers as string[]) {
        const port = b.slice(b.lastIndexOf(':') + 1);
        assert.ok(egressPorts.includes(`TCP/${port}`) || v.networkPolicy.kafkaPorts.length, `egress to ${b}`);
      }
    }

    // Grafana dashboard ConfigMap: the plain file, with the sidecar's label.
    const dash = ms.filter((m) => m.kind === 'ConfigMap' && m.metadata.name.endsWith('-dashboard'));
    assert.equal(dash.length, v.grafanaDashboard.enabled ? 1 : 0);
    for (const d of dash) {
      assert.equal(d.metadata.labels?.[v.grafanaDashboard.labelKey], v.grafanaDashboard.labelValue);
      assert.equal(
        d.data['picket.json'],
        readFileSync(join(REPO_ROOT, 'deploy/grafana/picket-dashboard.json'), 'utf8'),
      );
    }

    // helm test: a hardened pod that checks /readyz through the Service, and is not one of picket's pods.
    const testPods = ms.filter((m) => m.kind === 'Pod');
    assert.equal(testPods.length, 1);
    const tp = testPods[0]!;
    assert.equal(tp.metadata.annotations?.['helm.sh/hook'], 'test');
    const script = tp.spec.containers[0].command.join(' ');
    assert.ok(script.includes(`http://${FULLNAME}.${NAMESPACE}.svc:${v.service.port}/readyz`), script);
    assert.notDeepEqual(
      { name: tp.metadata.labels?.['app.kubernetes.io/name'], instance: RELEASE },
      { name: SELECTOR['app.kubernetes.io/name'], instance: RELEASE },
    );
    assert.equal(tp.spec.securityContext.runAsNonRoot, true);
    assert.equal(tp.spec.containers[0].securityContext.allowPrivilegeEscalation, false);
    assert.equal(tp.spec.containers[0].securityContext.readOnlyRootFilesystem, true);
  });

  test(`helm template: ${label(values)}: picket accepts the rendered configuration file`, async (t) => {
    if (!need(t, helmPath, 'helm')) return;
    const ms = await render(values, ['--show-only', 'templates/configmap.yaml']);
    const dir = mkdtempSync(join(tmpdir(), 'picket-chart-'));
    try {
      const file = join(dir, 'picket.yaml');
      writeFileSync(file, ms[0]!.data['picket.yaml']);
      // Only the file: no picket variables from the test's environment.
      const env = { PATH: process.env.PATH, HOME: process.env.HOME };
      const res = await run(join(REPO_ROOT, 'bin', 'picket'), ['config', '--config', file], { env });
      assert.equal(res.code, 0, `picket refuses the chart's configuration:\n${res.stderr}`);
      const effective = JSON.parse(res.stdout);
      assert.equal(effective.http.port, valuesOf(values).containerPort);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test(`helm template: ${label(values)}: valid against the Kubernetes and CRD schemas`, async (t) => {
    if (!need(t, helmPath, 'helm') || !need(t, toolsInstalled, 'deploy/tools (kubernetes-models)')) return;
    if (!need(t, existsSync(K8S_STRUCTURE_FILE), `${K8S_STRUCTURE_FILE}`)) return;
    const ms = await render(values);
    const errors: string[] = [];
    for (const m of ms) {
      errors.push(...(await modelErrors(m)));
      const strict = structureErrors(m);
      if (strict) errors.push(...strict);
      else assert.ok(['monitoring.coreos.com/v1', 'keda.sh/v1alpha1'].includes(m.apiVersion), `${m.kind} not checked`);
    }
    assert.deepEqual(errors, []);
  });
}

test('the schema validators catch what they should (unknown field, wrong type, missing field)', async (t) => {
  if (!need(t, toolsInstalled, 'deploy/tools (kubernetes-models)')) return;
  if (!need(t, existsSync(K8S_STRUCTURE_FILE), `${K8S_STRUCTURE_FILE}`)) return;
  const deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'x' },
    spec: {
      replicas: '2',
      selector: { matchLabels: { a: 'b' } },
      template: {
        metadata: { labels: { a: 'b' } },
        spec: { containers: [{ name: 'c', image: 'i', securityContext: { readOnlyRootFileSystem: true } }] },
      },
    },
  };
  assert.match((await modelErrors(deployment)).join(), /replicas must be integer/);
  const strict = structureErrors(deployment)!.join('\n');
  assert.match(strict, /securityContext\.readOnlyRootFileSystem: unknown field/);
  assert.match(strict, /spec\.replicas: "2" is not a numeric/);
  const monitor = { apiVersion: 'monitoring.coreos.com/v1', kind: 'ServiceMonitor', metadata: { name: 'x' }, spec: {} };
  assert.match((await modelErrors(monitor)).join(), /selector/);
});

const refusals: [string, string[], RegExp][] = [
  [
    'an HPA and KEDA together (schema)',
    ['--set', 'autoscaling.enabled=true', '--set', 'keda.enabled=true'],
    /keda\/enabled/,
  ],
  [
    'an HPA and KEDA together (template, without the schema)',
    ['--skip-schema-validation', '--set', 'autoscaling.enabled=true', '--set', 'keda.enabled=true'],
    /mutually exclusive/,
  ],
  [
    'a ServiceMonitor and a PodMonitor together',
    [
      '--skip-schema-validation',
      '--set',
      'metrics.serviceMonitor.enabled=true',
      '--set',
      'metrics.podMonitor.enabled=true',
    ],
    /mutually exclusive/,
  ],
  [
    'a grace period shorter than shutdown.graceMs',
    ['--set', 'terminationGracePeriodSeconds=20'],
    /must exceed shutdown\.graceMs/,
  ],
  ['SASL without credentials', ['--set', 'kafka.sasl.enabled=true'], /needs kafka\.sasl\.username/],
  [
    'SASL PLAIN without TLS',
    ['--set', 'kafka.sasl.enabled=true', '--set', 'kafka.sasl.mechanism=plain', '--set', 'kafka.sasl.existingSecret=s'],
    /clear text/,
  ],
  ['http in config (owned by the chart)', ['--set', 'config.http.port=8080'], /config\.http is set by the chart/],
  ['an unknown value', ['--set', 'replicas=3'], /additional properties 'replicas' not allowed/],
  ['a broker without a port', ['--set', 'kafka.brokers={kafka}'], /brokers/],
  ['an unknown SASL mechanism', ['--set', 'kafka.sasl.mechanism=gssapi'], /mechanism/],
];

for (const [what, args, message] of refusals) {
  test(`helm template refuses ${what}`, async (t) => {
    if (!need(t, helmPath, 'helm')) return;
    const res = await helmTemplate(undefined, args);
    assert.notEqual(res.code, 0, `rendered although ${what}`);
    assert.match(res.stderr, message);
  });
}

test('helm template: tuning: picket loads the rendered tuning file and lists, mounted where the configuration says', async (t) => {
  if (!need(t, helmPath, 'helm')) return;
  const ms = await render('tuning-values.yaml');
  const tuning = ms.find((m) => m.kind === 'ConfigMap' && m.metadata.name === `${FULLNAME}-tuning`);
  assert.ok(tuning !== undefined, 'a ConfigMap of its own');
  const deployment = one(ms, 'Deployment');
  const mount = deployment.spec.template.spec.containers[0].volumeMounts.find((v: any) => v.name === 'tuning');
  assert.equal(mount.mountPath, '/etc/picket/tuning');
  assert.equal(mount.subPath, undefined, 'a directory mount, so that the kubelet updates it in place');
  const main = ms.find((m) => m.kind === 'ConfigMap' && m.metadata.name === FULLNAME)!;
  assert.equal(parse(main.data['picket.yaml']).tuning.file, '/etc/picket/tuning/tuning.yaml');
  const dir = mkdtempSync(join(tmpdir(), 'picket-chart-tuning-'));
  try {
    for (const [file, content] of Object.entries(tuning.data as Record<string, string>))
      writeFileSync(join(dir, file), content);
    writeFileSync(join(dir, 'empty.ndjson'), '');
    const args = ['replay', '-q', '--tuning', join(dir, 'tuning.yaml'), join(dir, 'empty.ndjson')];
    const res = await run(join(REPO_ROOT, 'bin', 'picket'), args, {
      env: { PATH: process.env.PATH, HOME: process.env.HOME },
    });
    assert.equal(res.code, 0, `picket refuses the chart's tuning file:\n${res.stderr}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const defaults = await render(undefined);
  assert.equal(defaults.filter((m) => m.metadata.name === `${FULLNAME}-tuning`).length, 0, 'nothing without tuning');
});

/** Whether a matchLabels selector selects a pod with these labels. */
const selects = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.entries(selector).every(([k, val]) => labels[k] === val);

/** The effective configuration picket runs with: the rendered file and a Deployment's picket variables. */
async function effectiveConfig(ms: Manifest[], deploy: Manifest): Promise<any> {
  const c = deploy.spec.template.spec.containers[0];
  const cmName = deploy.spec.template.spec.volumes.find((vol: any) => vol.name === 'config').configMap.name;
  const cm = ms.find((m) => m.kind === 'ConfigMap' && m.metadata.name === cmName)!;
  const dir = mkdtempSync(join(tmpdir(), 'picket-chart-stage-'));
  try {
    writeFileSync(join(dir, 'picket.yaml'), cm.data['picket.yaml']);
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME };
    for (const e of c.env ?? []) if (e.name.startsWith('PICKET_') && e.value !== undefined) env[e.name] = e.value;
    const res = await run(join(REPO_ROOT, 'bin', 'picket'), ['config', '--config', join(dir, 'picket.yaml')], { env });
    assert.equal(res.code, 0, `picket refuses ${deploy.metadata.name}'s configuration:\n${res.stderr}`);
    return JSON.parse(res.stdout);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('helm template: defaults: one Deployment, both stages (routing.stage all), the routing values in the file', async (t) => {
  if (!need(t, helmPath, 'helm')) return;
  const ms = await render(undefined, ['--set', 'routing.topology=direct', '--set', 'routing.partitions=6']);
  const deploy = one(ms, 'Deployment');
  assert.equal(deploy.metadata.name, FULLNAME);
  assert.deepEqual(deploy.spec.selector.matchLabels, SELECTOR, 'the selector of earlier releases (immutable)');
  const config = await effectiveConfig(ms, deploy);
  assert.deepEqual(config.routing, { topology: 'direct', stage: 'all', partitions: 6 });
  assert.equal(config.alerts.dedupeWindowMs, 600000);
});

test('helm template: separate stages: a router and a detector Deployment, scaled and selected apart', async (t) => {
  if (!need(t, helmPath, 'helm')) return;
  const v = valuesOf('separate-stages-values.yaml');
  const ms = await render('separate-stages-values.yaml');
  const deploys = ms.filter((m) => m.kind === 'Deployment');
  assert.deepEqual(
    deploys.map((d) => d.metadata.name),
    [`${FULLNAME}-router`, `${FULLNAME}-detector`],
  );
  const [router, detector] = deploys as [Manifest, Manifest];
  const podLabels = (d: Manifest) => d.spec.template.metadata.labels as Record<string, string>;

  // Each runs its stage, with the rest of the configuration shared.
  const routerConfig = await effectiveConfig(ms, router);
  const detectorConfig = await effectiveConfig(ms, detector);
  assert.equal(routerConfig.routing.stage, 'router');
  assert.equal(detectorConfig.routing.stage, 'detector');
  assert.deepEqual({ ...routerConfig, routing: null }, { ...detectorConfig, routing: null });
  assert.deepEqual(detectorConfig.routing, { topology: 'routed', stage: 'detector', partitions: 12 });
  assert.equal(detectorConfig.alerts.dedupeWindowMs, 900000);
  assert.equal(detectorConfig.kafka.groupId, 'picket-prod');

  // Own replica counts and resources.
  assert.equal(router.spec.replicas, 3);
  assert.equal(detector.spec.replicas, 2);
  assert.deepEqual(router.spec.template.spec.containers[0].resources, v.resources);
  assert.deepEqual(detector.spec.template.spec.containers[0].resources, v.routing.detector.resources);

  // Distinct selectors: neither Deployment (nor PDB) selects the other's pods.
  assert.notDeepEqual(router.spec.selector.matchLabels, detector.spec.selector.matchLabels);
  assert.equal(podLabels(router)['app.kubernetes.io/component'], 'router');
  assert.equal(podLabels(detector)['app.kubernetes.io/component'], 'detector');
  for (const [d, other] of [
    [router, detector],
    [detector, router],
  ] as const) {
    assert.ok(selects(d.spec.selector.matchLabels, podLabels(d)), `${d.metadata.name} selects its pods`);
    assert.ok(!selects(d.spec.selector.matchLabels, podLabels(other)), `${d.metadata.name} leaves the others'`);
    const pdb = ms.find((m) => m.kind === 'PodDisruptionBudget' && m.metadata.name === d.metadata.name)!;
    assert.ok(pdb, `a PodDisruptionBudget for ${d.metadata.name}`);
    assert.ok(
      selects(pdb.spec.selector.matchLabels, podLabels(d)) && !selects(pdb.spec.selector.matchLabels, podLabels(other)),
    );
  }
  // One Service, NetworkPolicy and ServiceMonitor for both: metrics, probes and egress apply to both.
  const svc = one(ms, 'Service');
  const np = one(ms, 'NetworkPolicy');
  const sm = one(ms, 'ServiceMonitor');
  for (const d of deploys) {
    assert.ok(selects(svc.spec.selector, podLabels(d)), `the Service selects ${d.metadata.name}'s pods`);
    assert.ok(
      selects(np.spec.podSelector.matchLabels, podLabels(d)),
      `the NetworkPolicy applies to ${d.metadata.name}`,
    );
    assert.ok(selects(sm.spec.selector.matchLabels, svc.metadata.labels!), 'the ServiceMonitor selects the Service');
    const c = d.spec.template.spec.containers[0];
    assert.equal(c.readinessProbe.httpGet.path, '/readyz');
    assert.equal(c.securityContext.readOnlyRootFilesystem, true);
  }
});

test('helm template: separate stages with KEDA: the router on its group and the input, the detector on <groupId>-detector and the repartition topics', async (t) => {
  if (!need(t, helmPath, 'helm')) return;
  const { createDetections } = await import('../../src/detectors/registry.js');
  const { planTopology, detectorGroupId } = await import('../../src/routing/router.js');
  const cases: [string, string[]][] = [
    ['routed', []],
    ['direct', []],
    ['routed', ['--set', 'config.detections.enabled={rpc_to_internet,rdp_spike}']],
  ];
  for (const [topology, extra] of cases) {
    const args = ['--set', 'keda.enabled=true', '--set', `routing.topology=${topology}`, ...extra];
    args.push('--set', 'routing.detector.maxReplicas=12');
    const ms = await render('separate-stages-values.yaml', args);
    const so = new Map(ms.filter((m) => m.kind === 'ScaledObject').map((m) => [m.metadata.name, m]));
    const router = so.get(`${FULLNAME}-router`)!;
    const detector = so.get(`${FULLNAME}-detector`)!;
    assert.ok(router && detector, 'a ScaledObject per Deployment');
    assert.equal(router.spec.scaleTargetRef.name, `${FULLNAME}-router`);
    assert.equal(detector.spec.scaleTargetRef.name, `${FULLNAME}-detector`);
    assert.equal(router.spec.maxReplicaCount, 3, 'keda.maxReplicaCount');
    assert.equal(detector.spec.maxReplicaCount, 12, 'routing.detector.maxReplicas');
    const lag = (s: Manifest) => s.spec.triggers.map((x: any) => `${x.metadata.consumerGroup} ${x.metadata.topic}`);
    assert.deepEqual(lag(router), ['picket-prod ecs-events', 'picket-prod zeek-conn'], topology);
    const enabled = extra.length ? ['rpc_to_internet', 'rdp_spike'] : undefined;
    const plan = planTopology(createDetections(enabled), topology as 'routed' | 'direct', 'picket-prod');
    assert.ok(plan.routed.length > 0);
    assert.deepEqual(
      lag(detector).sort(),
      plan.routed.map((r) => `${detectorGroupId('picket-prod')} ${r.topic}`).sort(),
      `what picket's detector stage reads (${topology} ${extra.join(' ')})`,
    );
  }
});

const stageRefusals: [string, string[], RegExp][] = [
  ['routing.stage in config with separate stages', ['--set', 'config.routing.stage=router'], /config\.routing\.stage/],
  [
    'separate stages with no routed detection',
    ['--set', 'config.detections.enabled={rpc_to_internet}'],
    /no enabled detection is routed/,
  ],
  ['an unknown topology', ['--set', 'routing.topology=hash'], /routing\/topology/],
];

for (const [what, args, message] of stageRefusals) {
  test(`helm template refuses ${what}`, async (t) => {
    if (!need(t, helmPath, 'helm')) return;
    const res = await helmTemplate('separate-stages-values.yaml', args);
    assert.notEqual(res.code, 0, `rendered although ${what}`);
    assert.match(res.stderr, message);
  });
}
