import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { REDACTED, REDACTED_PATHS, secretScrubber } from '../../../src/observability/logger.js';

const SECRET = 'p@ss"word\\with-escapes';

/** A pino logger configured as createLogger does, writing into a string. */
function capture(secrets: string[]): { logger: pino.Logger; text: () => string } {
  let out = '';
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      out += chunk.toString();
      done();
    },
  });
  const logger = pino(
    { redact: { paths: REDACTED_PATHS, censor: REDACTED }, hooks: { streamWrite: secretScrubber(secrets) } },
    sink,
  );
  return { logger, text: () => out };
}

test('options objects holding secrets are redacted by path', () => {
  const { logger, text } = capture([]);
  logger.info({ sasl: { mechanism: 'plain', username: 'alice', password: 'pw-1234' } }, 'connecting');
  logger.info({ ssl: { key: '-----BEGIN PRIVATE KEY-----', passphrase: 'pp-1234' } }, 'tls');
  logger.info({ config: { kafka: { sasl: { password: 'pw-5678' }, ssl: { keyPassword: 'kp-5678' } } } }, 'cfg');
  const out = text();
  for (const s of ['pw-1234', 'BEGIN PRIVATE KEY', 'pp-1234', 'pw-5678', 'kp-5678']) assert.ok(!out.includes(s), s);
  assert.ok(out.includes('"username":"alice"'));
});

test('the scrubber removes a known secret wherever it appears, raw or JSON-escaped', () => {
  const { logger, text } = capture([SECRET]);
  logger.warn({ detail: `broker said: ${SECRET}` }, `kafkajs: failed with ${SECRET}`);
  logger.error(new Error(`boom ${SECRET}`));
  const out = text();
  assert.ok(!out.includes(JSON.stringify(SECRET).slice(1, -1)), out);
  assert.ok(!out.includes(SECRET), out);
  assert.ok(out.split(REDACTED).length - 1 >= 4, 'message, detail, error message and stack');
  for (const line of out.trim().split('\n')) JSON.parse(line); // still valid JSON
  assert.equal(secretScrubber(['abc'])('abc abc'), 'abc abc', 'too short to scrub safely');
  assert.equal(secretScrubber([])('x'), 'x');
});
