#!/usr/bin/env node
// Runs a command with a Kafka broker available: node scripts/with-kafka.mjs <command...>
// If KAFKA_BROKERS is already set the command just runs. Otherwise a broker is started with the
// compiled test harness (dist/test/support/kafka.js: Docker if available, else a local JVM broker),
// KAFKA_BROKERS is exported to the command, and the broker is stopped when the command ends or
// when this script gets SIGINT/SIGTERM. Exits with the command's exit code.
import { spawn } from 'node:child_process';
import { constants } from 'node:os';

const command = process.argv.slice(2);
if (command.length === 0) {
  console.error('usage: node scripts/with-kafka.mjs <command...>');
  process.exit(2);
}

let kafka; // TestKafka once started
let child;
let signalled; // first SIGINT/SIGTERM received, if any

async function stopKafka() {
  const k = kafka;
  kafka = undefined;
  if (!k) return;
  try {
    await k.stop();
  } catch (err) {
    console.error(`with-kafka: stopping Kafka failed: ${err?.message ?? err}`);
  }
}

function exitCodeFor(code, signal) {
  if (code !== null) return code;
  return 128 + (constants.signals[signal] ?? 1);
}

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    if (signalled) return; // a second Ctrl-C while shutting down: keep cleaning up
    signalled = sig;
    if (child) {
      // The command may not share our process group (SIGTERM from a CI runner), so pass it on;
      // the broker is stopped once the command has exited.
      child.kill(sig);
    } else if (kafka) {
      void stopKafka().then(() => process.exit(exitCodeFor(null, sig)));
    }
    // Otherwise the broker is still starting: handled right after startTestKafka() returns.
  });
}

if (!process.env.KAFKA_BROKERS) {
  const { startTestKafka } = await import(new URL('../dist/test/support/kafka.js', import.meta.url).href);
  const started = Date.now();
  try {
    kafka = await startTestKafka();
  } catch (err) {
    // Ctrl-C also reaches a starting JVM broker (same process group); that is not an error.
    if (signalled) process.exit(exitCodeFor(null, signalled));
    console.error(`with-kafka: could not start Kafka: ${err?.stack ?? err}`);
    process.exit(1);
  }
  if (signalled) {
    await stopKafka();
    process.exit(exitCodeFor(null, signalled));
  }
  process.env.KAFKA_BROKERS = kafka.brokers.join(',');
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  console.error(`with-kafka: ${kafka.kind} Kafka at ${process.env.KAFKA_BROKERS} (ready in ${secs} s)`);
}

child = spawn(command[0], command.slice(1), { stdio: 'inherit', env: process.env });
const [code, signal] = await new Promise((resolve) => {
  child.once('error', (err) => {
    console.error(`with-kafka: cannot run ${command[0]}: ${err.message}`);
    resolve([127, null]);
  });
  child.once('exit', (c, s) => resolve([c, s]));
});
await stopKafka();
process.exit(exitCodeFor(code, signal));
