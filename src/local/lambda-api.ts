/**
 * The local stack's Lambda Invoke API on 127.0.0.1: `POST /2015-03-31/functions/<name>/invocations`,
 * answered by the stack's function runtimes, so the CLI reaches the local functions with the same
 * LambdaClient (pointed here) that it uses against AWS: `db init|stats|load --remote --local`.
 * Only what those calls need: RequestResponse invocations (and Event, queued), a function error
 * reported as Lambda reports it (200 with X-Amz-Function-Error), an unknown function as
 * ResourceNotFoundException. Requests are not authenticated: the port is on loopback only.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { InvokeResult } from './lambda-runtime.js';

export interface LocalLambdaApi {
  endpoint: string;
  port: number;
  close(): Promise<void>;
}

/** A function the API answers for: its invoke. */
export type LocalFunctions = Record<string, (event: unknown) => Promise<InvokeResult>>;

const PATH_RE = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;
/** Lambda's limit for a synchronous invocation's payload. */
const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

function serviceError(res: ServerResponse, status: number, type: string, message: string): void {
  send(res, status, { Type: 'User', message }, { 'x-amzn-ErrorType': type });
}

async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_PAYLOAD_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

export async function startLocalLambdaApi(functions: LocalFunctions, port = 0): Promise<LocalLambdaApi> {
  const server: Server = createServer((req, res) => {
    void (async () => {
      const match = PATH_RE.exec((req.url ?? '').split('?')[0] as string);
      if (req.method !== 'POST' || !match)
        return serviceError(res, 404, 'UnknownOperationException', 'not found');
      const name = decodeURIComponent(match[1] as string);
      // A name may come as an ARN; the function is the part after "function:".
      const invoke =
        functions[name.replace(/^arn:[^:]+:lambda:[^:]*:[^:]*:function:/, '').split(':')[0] as string];
      if (!invoke) return serviceError(res, 404, 'ResourceNotFoundException', `Function not found: ${name}`);
      const body = await readBody(req);
      if (body === undefined)
        return serviceError(
          res,
          413,
          'RequestTooLargeException',
          'Request must be smaller than 6291456 bytes',
        );
      let event: unknown;
      try {
        event = body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
      } catch {
        return serviceError(
          res,
          400,
          'InvalidRequestContentException',
          'Could not parse request body into json',
        );
      }
      if (req.headers['x-amz-invocation-type'] === 'Event') {
        void invoke(event);
        res.writeHead(202, { 'Content-Length': 0 });
        return res.end();
      }
      const result = await invoke(event);
      if (result.ok) {
        return send(res, 200, result.response ?? null, {
          'X-Amz-Executed-Version': '$LATEST',
          'x-amzn-RequestId': result.requestId,
        });
      }
      send(
        res,
        200,
        { errorType: result.errorType, errorMessage: result.errorMessage },
        {
          'X-Amz-Function-Error': 'Unhandled',
          'X-Amz-Executed-Version': '$LATEST',
          'x-amzn-RequestId': result.requestId,
        },
      );
    })().catch((err: unknown) => {
      if (!res.headersSent) serviceError(res, 500, 'ServiceException', (err as Error).message);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const address = server.address() as { port: number };
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
