/**
 * One readable line per alert, for `picket demo` and people watching a topic.
 * e.g. `12:04:31.207  HIGH    RPC (Remote Procedure Call) to the Internet  10.20.0.14:51234 → 45.33.32.156:135  host ws-04`
 */
import { field } from '../ecs/fields.js';
import { firstKeyword, firstNumber } from '../ecs/values.js';

const F = {
  time: field('@timestamp'),
  severity: field('picket.severity'),
  rule: field('rule.name'),
  srcIp: field('source.ip'),
  srcPort: field('source.port'),
  dstIp: field('destination.ip'),
  dstPort: field('destination.port'),
  host: field('host.name'),
  hostId: field('host.id'),
  process: field('process.name'),
};

function endpoint(doc: unknown, ip: typeof F.srcIp, port: typeof F.srcPort): string | undefined {
  const a = firstKeyword(doc, ip);
  if (a === undefined) return undefined;
  const p = firstNumber(doc, port);
  const shown = a.includes(':') ? `[${a}]` : a;
  return p === undefined ? shown : `${shown}:${p}`;
}

export function formatAlertLine(doc: unknown): string {
  const time = firstKeyword(doc, F.time) ?? '?';
  const clock = time.length >= 23 ? time.slice(11, 23) : time;
  const severity = (firstKeyword(doc, F.severity) ?? '?').toUpperCase().padEnd(8);
  const parts = [`${clock}  ${severity}${firstKeyword(doc, F.rule) ?? '?'}`];
  const src = endpoint(doc, F.srcIp, F.srcPort);
  const dst = endpoint(doc, F.dstIp, F.dstPort);
  if (src !== undefined || dst !== undefined) parts.push(`${src ?? '?'} → ${dst ?? '?'}`);
  const host = firstKeyword(doc, F.host) ?? firstKeyword(doc, F.hostId);
  if (host !== undefined) parts.push(`host ${host}`);
  const proc = firstKeyword(doc, F.process);
  if (proc !== undefined) parts.push(`process ${proc}`);
  return parts.join('  ');
}
