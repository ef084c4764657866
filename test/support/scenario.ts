/**
 * The events of a small attack scenario for the integration tests that split detections across a
 * crash, a restart or a broker outage: a D2 pair (endpoint mapper, then a dynamic-port flow between
 * the same hosts) and a D3 sequence (services.exe accepts a connection, then starts a child), plus
 * an event nothing detects, to move event time on. Times are epoch ms; event ids are fixed
 * (`m1`, `e1`, `s1`, `c1`, `f<n>`) so tests can name them.
 */
const iso = (ms: number): string => new Date(ms).toISOString();

/** D2, first half: the endpoint mapper (tcp/135) between two private hosts. */
export function mapperFlow(t: number): object {
  return {
    '@timestamp': iso(t),
    event: { id: 'm1', category: ['network'], dataset: 'zeek.connection' },
    network: { transport: 'tcp' },
    source: { ip: '10.1.1.5', port: 50000 },
    destination: { ip: '10.1.1.10', port: 135 },
  };
}

/** D2, second half: high port to high port between the same hosts. */
export function endpointFlow(t: number): object {
  return {
    '@timestamp': iso(t),
    event: { id: 'e1', category: ['network'], dataset: 'zeek.connection' },
    network: { transport: 'tcp' },
    source: { ip: '10.1.1.5', port: 50001 },
    destination: { ip: '10.1.1.10', port: 49700 },
  };
}

/** D3, first half: services.exe on `host` accepts a network connection. */
export function servicesConnection(t: number, host: object): object {
  return {
    '@timestamp': iso(t),
    event: { id: 's1', category: ['network'], type: ['connection', 'start'] },
    host,
    process: { name: 'services.exe', entity_id: '{svc-guid}', executable: 'C:\\Windows\\System32\\services.exe' },
    network: { direction: 'ingress', transport: 'tcp' },
    source: { ip: '10.1.1.5', port: 50010 },
    destination: { ip: '10.1.1.20', port: 49670 },
  };
}

/** D3, second half: that services.exe starts a child. */
export function serviceChild(t: number, host: object): object {
  return {
    '@timestamp': iso(t),
    event: { id: 'c1', category: ['process'], type: ['start'] },
    host,
    process: {
      entity_id: '{child-guid}',
      name: 'evil.exe',
      executable: 'C:\\Windows\\Temp\\evil.exe',
      args: ['C:\\Windows\\Temp\\evil.exe'],
      parent: { name: 'services.exe', entity_id: '{svc-guid}' },
    },
  };
}

/** An event nothing detects, to move the partition's event time on. */
export function filler(t: number, n: number): object {
  return { '@timestamp': iso(t), event: { id: `f${n}`, category: ['process'], type: ['end'] }, host: { id: 'x' } };
}

/** A D1 event: a private host's RPC connection (TCP 135) to an Internet address. */
export function rpcToInternet(id: string, t: number, source: string, hostId: string): object {
  return {
    '@timestamp': new Date(t).toISOString(),
    event: { id, category: ['network'] },
    network: { transport: 'tcp' },
    host: { id: hostId },
    source: { ip: source, port: 50123 },
    destination: { ip: '45.33.32.156', port: 135 },
  };
}
