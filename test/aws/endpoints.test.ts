/**
 * `--endpoint-url` and the SDK's AWS_ENDPOINT_URL reach every client the CLI builds (LocalStack
 * and other emulators), proved with real SDK clients sending real requests to recording servers
 * on 127.0.0.1: which server a request reached, and which service signed it (the credential scope
 * of the Authorization header names the service). No mocks here.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetRestApisCommand } from '@aws-sdk/client-api-gateway';
import { DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { DescribeLogGroupsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { DescribeVpcsCommand } from '@aws-sdk/client-ec2';
import { ListRolesCommand } from '@aws-sdk/client-iam';
import { ListFunctionsCommand } from '@aws-sdk/client-lambda';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  type AwsClients,
  type AwsSettings,
  apiGatewayEndpointOverride,
  type CallCounter,
  createAwsClients,
} from '../../src/aws/clients.js';
import { main } from '../../src/cli/main.js';
import { recordingUi } from '../../src/cli/ui.js';
import { packageVersion } from '../../src/version.js';

const ACCOUNT = '123456789012';

interface Seen {
  /** The signing name from `Credential=<key>/<date>/<region>/<service>/aws4_request`. */
  service: string;
  method: string;
  path: string;
  /** The SDK's user agent headers, joined. */
  userAgent: string;
}

/** A stand-in endpoint: answers STS GetCallerIdentity, refuses everything else with a 400. */
class RecordingEndpoint {
  seen: Seen[] = [];
  url = '';
  private server: Server | undefined;

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString();
      });
      req.on('end', () => {
        const auth = String(req.headers.authorization ?? '');
        const service =
          /Credential=[^/]+\/\d{8}\/[^/]+\/([^/]+)\/aws4_request/.exec(auth)?.[1] ?? '(unsigned)';
        this.seen.push({
          service,
          method: req.method ?? '',
          path: req.url ?? '',
          userAgent: `${req.headers['user-agent'] ?? ''} ${req.headers['x-amz-user-agent'] ?? ''}`,
        });
        if (service === 'sts' && body.includes('Action=GetCallerIdentity')) {
          res.writeHead(200, { 'content-type': 'text/xml' });
          res.end(
            `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>arn:aws:iam::${ACCOUNT}:user/tester</Arn><UserId>AIDATEST</UserId><Account>${ACCOUNT}</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></GetCallerIdentityResponse>`,
          );
          return;
        }
        res.writeHead(400, { 'content-type': 'application/json', 'x-amzn-errortype': 'ValidationException' });
        res.end(JSON.stringify({ __type: 'ValidationException', message: 'recording endpoint' }));
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server?.address() as AddressInfo | undefined)?.port}`;
    return this;
  }

  services(): string[] {
    return [...new Set(this.seen.map((s) => s.service))].sort();
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server?.close(() => resolve()));
  }
}

/** One cheap read per client the CLI builds, with the signing name AWS uses for it. */
const everyClient: [
  keyof Omit<AwsClients, 'region' | 'endpointUrl'>,
  string,
  (c: AwsClients) => Promise<unknown>,
][] = [
  ['lambda', 'lambda', (c) => c.lambda.send(new ListFunctionsCommand({}))],
  ['apigateway', 'apigateway', (c) => c.apigateway.send(new GetRestApisCommand({}))],
  ['iam', 'iam', (c) => c.iam.send(new ListRolesCommand({}))],
  ['ec2', 'ec2', (c) => c.ec2.send(new DescribeVpcsCommand({}))],
  ['cloudwatch', 'monitoring', (c) => c.cloudwatch.send(new DescribeAlarmsCommand({}))],
  ['logs', 'logs', (c) => c.logs.send(new DescribeLogGroupsCommand({}))],
  ['sts', 'sts', (c) => c.sts.send(new GetCallerIdentityCommand({}))],
];

/** Send one call through each client; errors (the 400s) are expected and ignored. */
async function callEveryClient(settings: AwsSettings, counter?: CallCounter): Promise<void> {
  const clients = createAwsClients(settings, counter);
  for (const [, , call] of everyClient) await call(clients).catch(() => undefined);
}

let viaFlag: RecordingEndpoint;
let viaEnv: RecordingEndpoint;
beforeAll(async () => {
  viaFlag = await new RecordingEndpoint().start();
  viaEnv = await new RecordingEndpoint().start();
});
afterAll(async () => {
  await viaFlag.stop();
  await viaEnv.stop();
});

/** Nothing from the machine's own AWS set-up leaks in: static test credentials, no profile, one attempt. */
function isolateAwsEnvironment(dir: string): void {
  for (const v of [
    'AWS_PROFILE',
    'AWS_DEFAULT_PROFILE',
    'AWS_SESSION_TOKEN',
    'AWS_ENDPOINT_URL',
    'AWS_ENDPOINT_URL_API_GATEWAY',
    'AWS_IGNORE_CONFIGURED_ENDPOINT_URLS',
    'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
    'AWS_CONTAINER_CREDENTIALS_FULL_URI',
    'AWS_WEB_IDENTITY_TOKEN_FILE',
    'AWS_ROLE_ARN',
  ])
    vi.stubEnv(v, undefined);
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIATESTTESTTEST');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test-secret-key');
  vi.stubEnv('AWS_CONFIG_FILE', join(dir, 'no-aws-config'));
  vi.stubEnv('AWS_SHARED_CREDENTIALS_FILE', join(dir, 'no-aws-credentials'));
  vi.stubEnv('AWS_EC2_METADATA_DISABLED', 'true');
  vi.stubEnv('AWS_MAX_ATTEMPTS', '1');
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'chatbot-endpoints-'));
  isolateAwsEnvironment(dir);
  viaFlag.seen = [];
  viaEnv.seen = [];
});
afterEach(() => {
  vi.unstubAllEnvs();
  rmSync(dir, { recursive: true, force: true });
});

const allServices = everyClient.map(([, service]) => service).sort();

describe('every client goes to the override', () => {
  it('--endpoint-url (settings.endpointUrl): all seven clients send there', async () => {
    await callEveryClient({ region: 'eu-west-1', endpointUrl: viaFlag.url });

    expect(viaFlag.services()).toEqual(allServices);
    expect(viaFlag.seen).toHaveLength(everyClient.length);
  });

  it('AWS_ENDPOINT_URL alone: all seven clients send there', async () => {
    vi.stubEnv('AWS_ENDPOINT_URL', viaEnv.url);

    await callEveryClient({ region: 'eu-west-1' });

    expect(viaEnv.services()).toEqual(allServices);
    expect(viaEnv.seen).toHaveLength(everyClient.length);
  });

  it('--endpoint-url wins over AWS_ENDPOINT_URL for every client', async () => {
    vi.stubEnv('AWS_ENDPOINT_URL', viaEnv.url);

    await callEveryClient({ region: 'eu-west-1', endpointUrl: viaFlag.url });

    expect(viaFlag.services()).toEqual(allServices);
    expect(viaEnv.seen).toEqual([]);
  });

  it.each(everyClient)('%s: the client config resolves the --endpoint-url override', async (name) => {
    const clients = createAwsClients({ region: 'eu-west-1', endpointUrl: `${viaFlag.url}/base` });

    const endpoint = await clients[name].config.endpoint?.();

    expect(endpoint).toMatchObject({
      protocol: 'http:',
      hostname: '127.0.0.1',
      port: Number(new URL(viaFlag.url).port),
      path: '/base',
    });
  });
});

/** The resolved retry settings of an SDK client. */
interface RetryConfig {
  retryStrategy: () => Promise<{ mode: string }>;
  maxAttempts: () => Promise<number>;
}

describe('what every client sends and how it retries (set once in src/aws/clients.ts)', () => {
  it('every client names chatbot-ops and its version in the user agent', async () => {
    await callEveryClient({ region: 'eu-west-1', endpointUrl: viaFlag.url });

    expect(viaFlag.seen).toHaveLength(everyClient.length);
    for (const s of viaFlag.seen) expect(s.userAgent, s.service).toContain(`chatbot-ops/${packageVersion()}`);
  });

  it.each(everyClient)('%s: adaptive retries, 6 attempts', async (name) => {
    vi.stubEnv('AWS_MAX_ATTEMPTS', undefined);
    const clients = createAwsClients({ region: 'eu-west-1', endpointUrl: viaFlag.url });

    const config = clients[name].config as unknown as RetryConfig;

    expect([(await config.retryStrategy()).mode, await config.maxAttempts()]).toEqual(['adaptive', 6]);
  });

  it('AWS_RETRY_MODE and AWS_MAX_ATTEMPTS still win', async () => {
    vi.stubEnv('AWS_RETRY_MODE', 'standard');
    vi.stubEnv('AWS_MAX_ATTEMPTS', '2');
    const clients = createAwsClients({ region: 'eu-west-1', endpointUrl: viaFlag.url });

    const config = clients.apigateway.config as unknown as RetryConfig;

    expect([(await config.retryStrategy()).mode, await config.maxAttempts()]).toEqual(['standard', 2]);
  });
});

describe('the call counter (the benchmark counts with it)', () => {
  it('counts one call per send by Service.Command on every client, a failed call included', async () => {
    const counter: CallCounter = new Map();

    await callEveryClient({ region: 'eu-west-1', endpointUrl: viaFlag.url }, counter);
    await callEveryClient({ region: 'eu-west-1', endpointUrl: viaFlag.url }, counter);

    expect(Object.fromEntries(counter)).toEqual({
      'Lambda.ListFunctions': 2,
      'APIGateway.GetRestApis': 2,
      'IAM.ListRoles': 2,
      'EC2.DescribeVpcs': 2,
      'CloudWatch.DescribeAlarms': 2,
      'CloudWatchLogs.DescribeLogGroups': 2,
      'STS.GetCallerIdentity': 2,
    });
    expect(viaFlag.seen).toHaveLength(2 * everyClient.length);
  });
});

describe('the endpoint the invoke URL is built from', () => {
  it.each([
    [
      'the flag',
      { endpointUrl: 'http://flag:4566' },
      { AWS_ENDPOINT_URL: 'http://env:4566' },
      'http://flag:4566',
    ],
    [
      'the API Gateway variable',
      {},
      { AWS_ENDPOINT_URL: 'http://env:4566', AWS_ENDPOINT_URL_API_GATEWAY: 'http://apigw:4566' },
      'http://apigw:4566',
    ],
    ['the global variable', {}, { AWS_ENDPOINT_URL: 'http://env:4566' }, 'http://env:4566'],
    ['nothing: real AWS', {}, {}, undefined],
    [
      'variables ignored on request',
      {},
      { AWS_ENDPOINT_URL: 'http://env:4566', AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'true' },
      undefined,
    ],
  ])('%s', (_what, settings: AwsSettings, env: Record<string, string>, expected) => {
    expect(apiGatewayEndpointOverride(settings, env)).toBe(expected);
  });

  it('is the address the API Gateway client really sends to, under AWS_ENDPOINT_URL', async () => {
    vi.stubEnv('AWS_ENDPOINT_URL', viaEnv.url);
    const clients = createAwsClients({ region: 'eu-west-1' });

    await clients.apigateway.send(new GetRestApisCommand({})).catch(() => undefined);

    expect(clients.endpointUrl).toBe(viaEnv.url);
    expect(viaEnv.seen.map((s) => [s.service, s.method, s.path])).toEqual([
      ['apigateway', 'GET', '/restapis'],
    ]);
  });
});

describe('through the real CLI (no injected clients)', () => {
  const writeConfig = (doc: Record<string, unknown>) => {
    const path = join(dir, 'chatbot-ops.config.json');
    writeFileSync(path, JSON.stringify(doc));
    return path;
  };
  const run = async (args: string[]) => {
    const ui = recordingUi();
    const code = await main(['node', 'chatbot-ops', ...args], { ui });
    return { code, text: [...ui.out, ...ui.err].join('\n') };
  };

  it.each([
    ['--endpoint-url', true],
    ['AWS_ENDPOINT_URL', false],
  ])('status with %s: its calls to every service reach that endpoint', async (_how, flag) => {
    const config = writeConfig({
      region: 'eu-west-1',
      vpc: { vpcId: 'vpc-1', subnetIds: ['subnet-1', 'subnet-2'], rdsSecurityGroupId: 'sg-1' },
      database: { host: 'db.example' },
    });
    vi.stubEnv('AWS_ENDPOINT_URL', viaEnv.url);
    const target = flag ? viaFlag : viaEnv;

    const r = await run(['--config', config, ...(flag ? ['--endpoint-url', viaFlag.url] : []), 'status']);

    // STS answered, then status read each step's resources in parallel; the endpoint refuses
    // those reads, so the command fails, but only after each of them was sent there.
    expect(r.code).toBe(1);
    expect(target.seen[0]?.service).toBe('sts');
    await vi.waitFor(() =>
      expect(target.services()).toEqual(
        expect.arrayContaining(['sts', 'iam', 'ec2', 'lambda', 'apigateway', 'monitoring']),
      ),
    );
    if (flag) expect(viaEnv.seen).toEqual([]);
  });

  it('no credentials: a clear error, and not one request reaches the endpoint', async () => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', undefined);
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', undefined);
    const config = writeConfig({ region: 'eu-west-1' });

    const r = await run(['--config', config, '--endpoint-url', viaFlag.url, 'deploy', '--yes']);

    expect(r.code).toBe(1);
    expect(r.text).toMatch(/no usable AWS credentials/);
    expect(r.text).toMatch(/AWS_PROFILE|--profile/);
    expect(viaFlag.seen).toEqual([]);
  });

  it('no region: exit 2 saying how to set one, and not one request reaches the endpoint', async () => {
    for (const v of ['AWS_REGION', 'AWS_DEFAULT_REGION']) vi.stubEnv(v, undefined);
    const config = writeConfig({});

    const r = await run(['--config', config, '--endpoint-url', viaFlag.url, 'deploy', '--yes']);

    expect(r.code).toBe(2);
    expect(r.text).toMatch(/no AWS region is set/);
    expect(r.text).toMatch(/--region/);
    expect(viaFlag.seen).toEqual([]);
  });
});
