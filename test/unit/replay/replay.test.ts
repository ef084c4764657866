import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TunedAlert } from '../../../src/tuning/tuner.js';
import { formatSummary, replayFile } from '../../../src/replay/replay.js';

const dir = mkdtempSync(join(tmpdir(), 'picket-replay-test-'));

function attack(ms: number, n: number): string {
  return JSON.stringify({
    '@timestamp': new Date(ms).toISOString(),
    event: { id: `e${n}`, category: 'network' },
    network: { transport: 'tcp' },
    source: { ip: '10.0.0.9' },
    destination: { ip: '8.8.4.4', port: 135 },
  });
}

async function replay(file: string, opts: { chunkEvents?: number } = {}) {
  const alerts: TunedAlert[] = [];
  const result = await replayFile(file, { ...opts, onAlert: (a) => void alerts.push(a) });
  return { alerts, result };
}

test('alerts come out in event-time order whatever the line order; lines are cited', async () => {
  const lines = [attack(3000, 1), attack(1000, 2), '{}', '', attack(2000, 3)];
  const file = join(dir, 'shuffled.ndjson');
  writeFileSync(file, lines.join('\n') + '\n');
  const { alerts, result } = await replay(file);
  assert.deepEqual(
    alerts.map((a) => (a.doc.picket as any).events[0].line),
    [2, 5, 1],
  );
  assert.equal(result.stats.events, 3);
  assert.equal(result.stats.skipped, 2);
  assert.equal(result.stats.lines, 5);
});

test('gzip input (by content, not name) and CRLF line ends', async () => {
  const file = join(dir, 'input.data');
  writeFileSync(file, gzipSync(Buffer.from([attack(1000, 1), attack(500, 2)].join('\r\n'))));
  const { alerts } = await replay(file);
  assert.equal(alerts.length, 2);
  assert.deepEqual(
    alerts.map((a) => (a.doc.picket as any).events[0].line),
    [2, 1],
  );
});

test('an external sort across many runs gives the same answer as an in-memory sort', async () => {
  const n = 2500;
  const times = Array.from({ length: n }, (_, i) => (i * 7919) % n);
  const file = join(dir, 'big.ndjson');
  writeFileSync(file, times.map((t, i) => attack(1_700_000_000_000 + t * 10, i)).join('\n'));
  const inMemory = await replay(file);
  const chunked = await replay(file, { chunkEvents: 100 });
  assert.equal(inMemory.alerts.length, n);
  assert.deepEqual(
    chunked.alerts.map((a) => a.id),
    inMemory.alerts.map((a) => a.id),
  );
  const ts = chunked.alerts.map((a) => a.time);
  assert.deepEqual(
    ts,
    [...ts].sort((x, y) => x - y),
  );
});

test('equal times keep line order, and event.sequence breaks ties before it', async () => {
  const mk = (n: number, seq?: number) =>
    JSON.stringify({
      '@timestamp': '2024-01-01T00:00:00.000Z',
      event: { id: `s${n}`, category: 'network', ...(seq !== undefined ? { sequence: seq } : {}) },
      network: { transport: 'tcp' },
      source: { ip: '10.0.0.9' },
      destination: { ip: '8.8.4.4', port: 135 },
    });
  const file = join(dir, 'ties.ndjson');
  writeFileSync(file, [mk(1), mk(2, 9), mk(3), mk(4, 1)].join('\n'));
  const { alerts } = await replay(file);
  assert.deepEqual(
    alerts.map((a) => (a.doc.picket as any).events[0].line),
    [4, 2, 1, 3],
  );
});

test('unreadable lines are counted by reason with their line numbers; the replay goes on', async () => {
  const file = join(dir, 'garbage.ndjson');
  writeFileSync(
    file,
    Buffer.concat([
      Buffer.from(
        ['not json', '[1,2]', '{"no":"timestamp"}', attack(1000, 1), '{"@timestamp":"later"}', ''].join('\n'),
      ),
      Buffer.from([0x7b, 0x22, 0xc3, 0x28, 0x22, 0x7d, 0x0a]),
      Buffer.from(attack(2000, 2)),
    ]),
  );
  const { alerts, result } = await replay(file);
  assert.equal(alerts.length, 2);
  assert.deepEqual(Object.fromEntries(result.stats.unreadable), {
    invalid_json: [1],
    not_an_object: [2],
    unrecognized_shape: [3],
    invalid_timestamp: [5],
    invalid_utf8: [6],
  });
  const summary = formatSummary(result);
  assert.match(summary, /unreadable \(invalid_json\): 1 — line 1/);
  assert.match(summary, /2 {2}RPC \(Remote Procedure Call\) to the Internet/);
});
