/**
 * A loopback HTTP proxy in front of a local stack that answers the next requests with the statuses a
 * test queues (a 429 as API Gateway's throttle sends it, a 503, or a dropped connection), then passes
 * requests on to the stack again. It counts every request it receives.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Fault = 429 | 503 | 'drop';

export interface FaultProxy {
  url: string;
  /** Faults for the next requests, in order. */
  faults: Fault[];
  /** Requests received so far. */
  requests: number;
  close(): Promise<void>;
}

const FAULT_BODIES: Record<429 | 503, unknown> = {
  429: { message: 'Too Many Requests' },
  503: { message: 'Service Unavailable' },
};

export async function startFaultProxy(upstream: string): Promise<FaultProxy> {
  const state = { faults: [] as Fault[], requests: 0 };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      state.requests++;
      const fault = state.faults.shift();
      if (fault === 'drop') {
        req.socket.destroy();
        return;
      }
      if (fault !== undefined) {
        res.writeHead(fault, { 'content-type': 'application/json' });
        res.end(JSON.stringify(FAULT_BODIES[fault]));
        return;
      }
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      const key = req.headers['x-api-key'];
      if (typeof key === 'string') headers['x-api-key'] = key;
      const answer = await fetch(upstream, {
        method: req.method ?? 'POST',
        headers,
        body: Buffer.concat(chunks),
      });
      res.writeHead(answer.status, {
        'content-type': answer.headers.get('content-type') ?? 'application/json',
        ...(answer.headers.get('x-request-id')
          ? { 'x-request-id': answer.headers.get('x-request-id') as string }
          : {}),
      });
      res.end(await answer.text());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return Object.assign(state, {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/prod/chatbot`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  });
}
