#!/usr/bin/env node
// Runs the compiled test files with Node's built-in test runner.
// Usage: node scripts/run-tests.mjs [unit|integration|<path filter>...]
// Unit tests run first (fast, no broker); integration tests share one Kafka broker
// started by test/support/kafka.ts and run one file at a time.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function find(dir) {
  let out = [];
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of entries.sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out = out.concat(find(p));
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

const filters = process.argv.slice(2);
const all = find(join('dist', 'test'));
const selected = filters.length === 0 ? all : all.filter((f) => filters.some((x) => f.includes(x)));
if (selected.length === 0) {
  console.error(`no test files match ${filters.join(' ')}`);
  process.exit(1);
}
const unit = selected.filter((f) => !f.includes(`${join('test', 'integration')}`));
const integration = selected.filter((f) => f.includes(`${join('test', 'integration')}`));
const args = ['--test', '--test-reporter=spec', '--test-concurrency=1', '--enable-source-maps'];
const files = [...unit, ...integration];
const res = spawnSync(process.execPath, [...args, ...files], { stdio: 'inherit' });
process.exit(res.status ?? 1);
