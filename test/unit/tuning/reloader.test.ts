/** Reloading the tuning file: good → swapped, bad → refused and the old stays, fixed → swapped. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { TuningReloader, type ReloadResult } from '../../../src/tuning/reloader.js';
import type { Tuning } from '../../../src/tuning/tuningConfig.js';

const GOOD_1 = 'rules: { rpc_to_internet: { severity: low } }\n';
const GOOD_2 = 'lists: { nets: { type: cidr, file: nets.txt } }\nrules: { rpc_to_internet: { severity: critical } }\n';
const BAD = 'rules: { rpc_to_internet: { severity: urgent } }\n';

interface Log {
  swaps: [string, string][];
  refusals: string[];
  results: ReloadResult['status'][];
}

function reloaderIn(dir: string, opts: { watch?: boolean; pollMs?: number } = {}): { r: TuningReloader; log: Log } {
  const log: Log = { swaps: [], refusals: [], results: [] };
  const r = TuningReloader.open(join(dir, 'tuning.yaml'), {
    onSwap: (next: Tuning, prev: Tuning) => log.swaps.push([prev.version, next.version]),
    onRefused: (err) => log.refusals.push(err.message),
    onReload: (res) => log.results.push(res.status),
    debounceMs: 30,
    pollMs: opts.pollMs ?? 0,
    watch: opts.watch ?? true,
  });
  return { r, log };
}

async function until(what: string, cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

test('reload(): good file → new version; bad file → refused with the reason, old stays; fix → accepted', () => {
  const dir = mkdtempSync(join(tmpdir(), 'picket-reload-'));
  try {
    writeFileSync(join(dir, 'tuning.yaml'), GOOD_1);
    const { r, log } = reloaderIn(dir);
    const v1 = r.current.version;
    assert.equal(r.current.rules.get('rpc_to_internet')!.severity, 'low');
    assert.deepEqual(r.reload(), { status: 'unchanged', version: v1 });

    writeFileSync(join(dir, 'tuning.yaml'), BAD);
    const refused = r.reload();
    assert.equal(refused.status, 'refused');
    assert.equal(r.current.version, v1, 'the old tuning stays in force');
    assert.match(
      log.refusals[0]!,
      /tuning\.yaml: rules\.rpc_to_internet\.severity: expected one of low, medium, high, critical/,
    );

    writeFileSync(join(dir, 'nets.txt'), '10.0.0.0/8\n');
    writeFileSync(join(dir, 'tuning.yaml'), GOOD_2);
    const accepted = r.reload();
    assert.equal(accepted.status, 'accepted');
    assert.equal(r.current.rules.get('rpc_to_internet')!.severity, 'critical');
    const v2 = r.current.version;
    assert.notEqual(v2, v1);

    // A list file is part of the tuning: a bad list is refused, a good edit is a new version.
    writeFileSync(join(dir, 'nets.txt'), '10.0.0.0/8\nnot-a-range\n');
    assert.equal(r.reload().status, 'refused');
    assert.match(log.refusals[1]!, /lists\.nets\.file \(nets\.txt\) line 2/);
    writeFileSync(join(dir, 'nets.txt'), '10.0.0.0/8\n192.168.0.0/16\n');
    assert.equal(r.reload().status, 'accepted');
    assert.notEqual(r.current.version, v2);

    assert.deepEqual(
      log.swaps.map(([a]) => a),
      [v1, v2],
    );
    assert.deepEqual(log.results, ['unchanged', 'refused', 'accepted', 'refused', 'accepted']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a bad file at start is an error, not a reloader', () => {
  const dir = mkdtempSync(join(tmpdir(), 'picket-reload-'));
  try {
    writeFileSync(join(dir, 'tuning.yaml'), BAD);
    assert.throws(() => reloaderIn(dir), /rules\.rpc_to_internet\.severity/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

for (const mode of ['watch', 'poll'] as const) {
  test(`file changes are picked up without reload() (${mode})`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'picket-reload-'));
    const { r, log } = (() => {
      writeFileSync(join(dir, 'tuning.yaml'), GOOD_1);
      return reloaderIn(dir, mode === 'watch' ? { watch: true } : { watch: false, pollMs: 25 });
    })();
    try {
      r.start();
      const v1 = r.current.version;
      // mtime granularity: make sure the next write is seen as a change by polling.
      await sleep(30);
      writeFileSync(join(dir, 'tuning.yaml'), BAD);
      await until('the refusal', () => log.refusals.length > 0);
      assert.equal(r.current.version, v1);
      writeFileSync(join(dir, 'nets.txt'), '10.0.0.0/8\n');
      writeFileSync(join(dir, 'tuning.yaml'), GOOD_2);
      await until('the swap', () => log.swaps.length > 0);
      assert.equal(r.current.rules.get('rpc_to_internet')!.severity, 'critical');
      // Now the list file is watched too.
      const v2 = r.current.version;
      await sleep(30);
      writeFileSync(join(dir, 'nets.txt'), '10.0.0.0/8\n172.16.0.0/12\n');
      await until('the list edit', () => r.current.version !== v2);
    } finally {
      r.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
