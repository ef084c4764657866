import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { configReference } from '../../src/config.js';
import { PicketMetrics } from '../../src/observability/metrics.js';
import { REPO_ROOT } from '../support/datasets.js';

const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');

test("the README's configuration table is the one the code validates", () => {
  const m = /<!-- config-reference:start -->\n([\s\S]*?)\n<!-- config-reference:end -->/.exec(readme);
  assert.ok(m, 'README has the config-reference markers');
  assert.equal(m[1], configReference(), 'regenerate it with: ./bin/picket config --reference');
});

test('every picket metric is documented in the README', async () => {
  const metrics = new PicketMetrics({ defaultMetrics: false });
  const names = (await metrics.registry.getMetricsAsJSON()).map((m) => m.name);
  assert.ok(names.length >= 9);
  for (const name of names) assert.ok(readme.includes(`\`${name}\``), `${name} is missing from the README`);
});
