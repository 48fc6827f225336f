/**
 * What the AWS SDK throws when an endpoint answers an HTML error page instead of an AWS answer (as
 * AWS API emulators do for calls they do not implement): made for real, by a client the CLI's
 * factory builds (so its middleware names the call), sending to a server on 127.0.0.1 that answers
 * HTML. Call it before a fake account is started (the fake replaces `send` on every client).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GetUsageCommand } from '@aws-sdk/client-api-gateway';
import { createAwsClients } from '../../src/aws/clients.js';

export const HTML_PAGE = '<!doctype html><html><body><h1>500 Internal Server Error</h1></body></html>';

/** The error `APIGateway.GetUsage` throws when the endpoint answers HTTP `status` with an HTML page. */
export async function sdkErrorFromHtmlAnswer(status = 500): Promise<Error> {
  const server = createServer((req, res) => {
    req.resume();
    res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' });
    res.end(HTML_PAGE);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const saved = {
    attempts: process.env.AWS_MAX_ATTEMPTS,
    key: process.env.AWS_ACCESS_KEY_ID,
    secret: process.env.AWS_SECRET_ACCESS_KEY,
  };
  // One attempt (a 500 is retried otherwise), and credentials that need no lookup.
  process.env.AWS_MAX_ATTEMPTS = '1';
  process.env.AWS_ACCESS_KEY_ID = 'test';
  process.env.AWS_SECRET_ACCESS_KEY = 'test';
  let thrown: unknown;
  try {
    const aws = createAwsClients({
      region: 'us-east-1',
      endpointUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    });
    await aws.apigateway.send(
      new GetUsageCommand({ usagePlanId: 'p', startDate: '2026-11-01', endDate: '2026-11-30' }),
    );
  } catch (err) {
    thrown = err;
  } finally {
    for (const [name, value] of [
      ['AWS_MAX_ATTEMPTS', saved.attempts],
      ['AWS_ACCESS_KEY_ID', saved.key],
      ['AWS_SECRET_ACCESS_KEY', saved.secret],
    ] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    server.close();
  }
  if (!(thrown instanceof Error)) throw new Error('the SDK accepted the HTML answer');
  return thrown;
}
