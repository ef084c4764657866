/**
 * Filebeat's zeek module as it runs Beat-side, before its ingest pipeline (reference/rules.md §D.3):
 * turns a Zeek JSON line into the document Filebeat puts on Kafka. Real Filebeat output is not in
 * the shared datasets; this builds it from the Zeek lines they do hold.
 */
import type { JsonObject } from '../../src/ecs/fields.js';

export const READ_TIME = '2024-05-01T10:00:00.000Z';

/** Filebeat's Beat-side processing of one Zeek line (reference/rules.md §D.3), nested as on Kafka. */
export function filebeatOnKafka(line: string, log: 'conn' | 'dce_rpc' | 'rdp'): JsonObject {
  const json = JSON.parse(line) as JsonObject;
  const take = (k: string): unknown => {
    const v = json[k];
    delete json[k];
    return v;
  };
  const fileset = log === 'conn' ? 'connection' : log;
  const source: JsonObject = { address: take('id.orig_h'), port: take('id.orig_p') };
  const destination: JsonObject = { address: take('id.resp_h'), port: take('id.resp_p') };
  source.ip = source.address;
  destination.ip = destination.address;
  const uid = take('uid');
  const network: JsonObject = {};
  const event: JsonObject = {
    module: 'zeek',
    dataset: `zeek.${fileset}`,
    kind: 'event',
    category: ['network'],
    id: uid,
  };
  const doc: JsonObject = {
    '@timestamp': READ_TIME,
    agent: { type: 'filebeat', version: '7.17.0', hostname: 'sensor-1' },
    host: { name: 'sensor-1' },
    input: { type: 'log' },
    log: { offset: 0, file: { path: `/opt/zeek/logs/current/${log}.log` } },
    fileset: { name: fileset },
    ecs: { version: '1.12.0' },
    event,
    source,
    destination,
    network,
  };
  if (log === 'conn') {
    doc.temp = { duration: take('duration') };
    network.transport = take('proto');
    network.protocol = take('service');
    source.bytes = take('orig_ip_bytes');
    destination.bytes = take('resp_ip_bytes');
    source.packets = take('orig_pkts');
    destination.packets = take('resp_pkts');
    json.state = take('conn_state');
    if (network.transport === 'icmp') {
      json.icmp = { type: source.port, code: destination.port };
      delete source.port;
      delete destination.port;
    }
  } else {
    network.transport = 'tcp';
    network.protocol = log;
    event.type = log === 'dce_rpc' ? ['connection', 'protocol', 'info'] : ['protocol', 'info'];
  }
  for (const k of Object.keys(network)) if (network[k] === undefined) delete network[k];
  doc.zeek = { session_id: uid, [fileset]: json };
  return doc;
}
