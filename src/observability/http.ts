/**
 * The HTTP endpoints Kubernetes and Prometheus use: /metrics, /healthz (the process is alive and
 * its event loop answers), /readyz (joined the group, not rebalancing, producer connected).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { PicketMetrics } from './metrics.js';

export interface Readiness {
  ready: boolean;
  /** Why not ready, or what is in force; shown as JSON. */
  detail: Record<string, unknown>;
}

export interface HttpEndpoints {
  readonly port: number;
  close(): Promise<void>;
}

export async function startHttp(
  host: string,
  port: number,
  metrics: PicketMetrics,
  readiness: () => Readiness,
): Promise<HttpEndpoints> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/metrics') {
      metrics
        .scrape()
        .then((body) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(body))
        .catch((err: Error) => res.writeHead(500).end(err.message));
    } else if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    } else if (path === '/readyz') {
      const r = readiness();
      res
        .writeHead(r.ready ? 200 : 503, { 'content-type': 'application/json' })
        .end(JSON.stringify({ ready: r.ready, ...r.detail }) + '\n');
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
