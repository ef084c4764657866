/**
 * Avro input on a real broker: records in the Confluent wire format, schemas from a directory of
 * `<id>.avsc` files, normalized and detected like JSON; an unknown schema id and a corrupt payload
 * go to the dead-letter topic with their reasons; alerts written as Avro decode back to the alert.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import avro from 'avsc';
import { AvroDecoder, alertFromAvro, alertSchema, toWireFormat } from '../../src/ecs/avro.js';
import { DEAD_LETTER_HEADERS } from '../../src/consumers/deadLetter.js';
import { createTopics, startTestKafka, uniqueName, type TestKafka } from '../support/kafka.js';
import { produce, startPicket, TopicCollector } from '../support/picketProcess.js';
import { Kafka, logLevel } from 'kafkajs';

let kafka: TestKafka;
before(async () => {
  kafka = await startTestKafka();
});
after(async () => {
  await kafka?.stop();
});

const FLOW_SCHEMA = {
  type: 'record',
  name: 'Flow',
  fields: [
    { name: 'timestamp', type: 'string' },
    {
      name: 'event',
      type: { type: 'record', name: 'Event', fields: [{ name: 'category', type: { type: 'array', items: 'string' } }] },
    },
    { name: 'network', type: { type: 'record', name: 'Network', fields: [{ name: 'transport', type: 'string' }] } },
    {
      name: 'source',
      type: {
        type: 'record',
        name: 'Endpoint',
        fields: [
          { name: 'ip', type: 'string' },
          { name: 'port', type: 'int' },
        ],
      },
    },
    { name: 'destination', type: 'Endpoint' },
  ],
};

test('Avro input: alerts as from JSON, bad records dead-lettered with reasons, alerts as Avro', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'picket-avro-'));
  writeFileSync(join(dir, '7.avsc'), JSON.stringify(FLOW_SCHEMA));
  writeFileSync(join(dir, '42.avsc'), JSON.stringify(alertSchema()));
  const input = uniqueName('avro-in');
  const output = uniqueName('avro-alerts');
  const dlq = uniqueName('avro-dlq');
  await createTopics(kafka.brokers, [
    { topic: input, numPartitions: 1 },
    { topic: output, numPartitions: 1 },
    { topic: dlq, numPartitions: 1 },
  ]);
  const type = avro.Type.forSchema(FLOW_SCHEMA as avro.Schema);
  const flow = (dst: string) =>
    toWireFormat(
      7,
      type.toBuffer({
        timestamp: '2024-01-01T00:00:00.000Z',
        event: { category: ['network'] },
        network: { transport: 'tcp' },
        source: { ip: '10.0.0.1', port: 50000 },
        destination: { ip: dst, port: 135 },
      }),
    );
  const picket = await startPicket({
    KAFKA_BROKERS: kafka.brokers.join(','),
    PICKET_INPUT_TOPICS: input,
    PICKET_OUTPUT_TOPIC: output,
    PICKET_DEAD_LETTER_TOPIC: dlq,
    PICKET_GROUP_ID: uniqueName('picket-avro'),
    PICKET_FROM_BEGINNING: 'true',
    PICKET_AVRO_TOPICS: input,
    PICKET_AVRO_SCHEMA_DIR: dir,
    PICKET_AVRO_ALERT_SCHEMA_ID: '42',
  });
  const alerts = new TopicCollector(kafka.brokers, output);
  const dead = new TopicCollector(kafka.brokers, dlq);
  try {
    await picket.waitReady();
    await alerts.start();
    await dead.start();
    const corrupt = Buffer.concat([flow('8.8.8.8').subarray(0, 9), Buffer.from([0xff, 0xff, 0xff])]);
    await produce(kafka.brokers, input, [
      { value: flow('8.8.8.8') },
      { value: flow('10.9.9.9') }, // private destination: no alert
      { value: toWireFormat(99, Buffer.from([2, 0])) },
      { value: corrupt },
      { value: '{"@timestamp":"2024-01-01T00:00:00Z"}' },
    ]);
    await dead.waitFor((r) => r.length >= 3, 60000, 'three dead letters');
    await alerts.waitFor((r) => r.length >= 1, 60000, 'the alert');
    await new Promise((r) => setTimeout(r, 1000));
    assert.deepEqual(dead.records.map((r) => r.headers[DEAD_LETTER_HEADERS.reason]).sort(), [
      'avro_corrupt',
      'avro_not_wire_format',
      'avro_unknown_schema',
    ]);
    assert.equal(alerts.records.length, 1);
    // The alert is Avro too: read it back with the shipped schema.
    const raw = await rawValues(output);
    const decoded = await new AvroDecoder({ schemaDir: dir }).decode(raw[0]!);
    assert.ok(decoded.ok, decoded.ok ? '' : decoded.detail);
    const doc = alertFromAvro(decoded.doc) as any;
    assert.equal(doc.rule.id, '32923416-763a-4531-bb35-f33b9232ecdb');
    assert.equal(doc.destination.ip, '8.8.8.8');
    assert.equal(doc.picket.events[0].topic, input);
  } finally {
    picket.child.kill('SIGKILL');
    await alerts.stop();
    await dead.stop();
  }
});

/** The alert topic's values as bytes (TopicCollector keeps them as text). */
async function rawValues(topic: string): Promise<Buffer[]> {
  const consumer = new Kafka({ clientId: 't', brokers: kafka.brokers, logLevel: logLevel.NOTHING }).consumer({
    groupId: uniqueName('raw'),
  });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const out: Buffer[] = [];
  await consumer.run({ eachMessage: async ({ message }) => void out.push(message.value!) });
  const deadline = Date.now() + 30000;
  while (out.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  await consumer.disconnect();
  return out;
}
