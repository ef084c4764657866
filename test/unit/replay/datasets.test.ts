/**
 * Replays every ECS file of the shared datasets. D1 is stateless, so the datasets README's
 * "D1 match" column is exactly what it must report, file by file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { replayFile } from '../../../src/replay/replay.js';
import { DATASETS_DIR, DATASETS_SKIP, ecsFileTable } from '../../support/datasets.js';

test(
  'every ECS dataset file replays without error, and D1 finds exactly the README counts',
  { skip: DATASETS_SKIP },
  async () => {
    const table = ecsFileTable();
    assert.ok(table.length >= 80, `expected the README table to list the ECS files, found ${table.length}`);
    const mismatches: string[] = [];
    let total = 0;
    for (const row of table) {
      const seen: string[] = [];
      const result = await replayFile(join(DATASETS_DIR, 'ecs', row.file), {
        detections: ['rpc_to_internet'],
        onAlert: (a) => void seen.push(a.id),
      });
      total += result.alerts;
      assert.equal(result.stats.lines, row.lines, `${row.file}: lines`);
      assert.equal(result.stats.events + result.stats.skipped, row.lines, `${row.file}: every line is an event or {}`);
      assert.equal(result.stats.events, row.events, `${row.file}: events`);
      if (result.alerts !== row.d1) mismatches.push(`${row.file}: ${result.alerts} D1 alerts, README says ${row.d1}`);
      assert.equal(new Set(seen).size, seen.length, `${row.file}: alert ids are unique`);
    }
    assert.deepEqual(mismatches, []);
    assert.equal(total, 3, 'the README lists 3 D1 matches in all');
  },
);
