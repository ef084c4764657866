/**
 * Ten days of RDP traffic to one server, for the D4 durability tests (changelog on a broker,
 * snapshot file in replay): a few regular users in working hours, one every three hours at night
 * and at the weekend, and a fan-in of 30 new sources on day 4 at 10:00 and on day 8 at 11:00. With
 * 1-hour buckets both fan-ins alert when the detector has seen every day before them, and the second
 * alerts differently (or not at all) for a detector that starts cold on day 8.
 */
export const RDP_HOUR = 3_600_000;
export const RDP_DAY = 24 * RDP_HOUR;
/** A Monday. */
export const RDP_T0 = Date.parse('2024-01-01T00:00:00.000Z');
export const RDP_DESTINATION = '10.20.0.10';
export const RDP_SPIKES = [RDP_T0 + 4 * RDP_DAY + 10 * RDP_HOUR, RDP_T0 + 8 * RDP_DAY + 11 * RDP_HOUR] as const;

export interface TrafficEvent {
  readonly time: number;
  readonly json: string;
}

export function rdpTraffic(): TrafficEvent[] {
  const out: TrafficEvent[] = [];
  let n = 0;
  const conn = (src: string, time: number): void => {
    n++;
    const doc = {
      '@timestamp': new Date(time).toISOString(),
      event: { id: `rdp-${n}`, category: ['network'], dataset: 'zeek.connection' },
      network: { transport: 'tcp' },
      source: { ip: src, port: 40000 + n },
      destination: { ip: RDP_DESTINATION, port: 3389 },
    };
    out.push({ time, json: JSON.stringify(doc) });
  };
  for (let d = 0; d < 10; d++) {
    for (let h = 0; h < 24; h++) {
      const start = RDP_T0 + d * RDP_DAY + h * RDP_HOUR;
      const work = d % 7 < 5 && h >= 8 && h < 18;
      if (!work && h % 3 !== 0) continue;
      const users = work ? 1 + (h % 2) : 1;
      for (let i = 0; i < users; i++) {
        conn(`10.20.1.${((d * 7 + h + i) % 8) + 1}`, start + ((i * 13 + h * 7) % 60) * 60_000 + i * 1000);
      }
      if (start === RDP_SPIKES[0])
        for (let i = 0; i < 30; i++) conn(`10.66.1.${i + 1}`, start + (5 + i * 0.6) * 60_000);
      if (start === RDP_SPIKES[1])
        for (let i = 0; i < 30; i++) conn(`10.77.1.${i + 1}`, start + (3 + i * 0.8) * 60_000);
    }
  }
  return out.sort((a, b) => a.time - b.time);
}

/** The events before `end` and at or after `start`. */
export function between(events: readonly TrafficEvent[], start: number, end: number): TrafficEvent[] {
  return events.filter((e) => e.time >= start && e.time < end);
}
