import { GetApiKeysCommand, GetUsagePlanKeysCommand } from '@aws-sdk/client-api-gateway';
import { InvokeCommand, ResourceNotFoundException } from '@aws-sdk/client-lambda';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createAwsClients } from '../../src/aws/clients.js';
import { invokeFunction } from '../../src/aws/lambda.js';
import { type Context, makeContext } from '../../src/cli/context.js';
import { recordingUi } from '../../src/cli/ui.js';
import { resolveDeployedTarget } from '../../src/client/deployed-target.js';
import { UserError } from '../../src/errors.js';
import {
  API_ID,
  freshWorld,
  INVALID_PARAMS_RESPONSE,
  invokeAnswer,
  KEY_VALUE,
  mocks,
  PLAN_ID,
  type World,
  writeConfig,
} from './fixtures/deployment.js';

let world: World;

beforeEach(() => {
  world = freshWorld();
});
afterEach(() => vi.useRealTimers());

/** Lambda Invoke of the configured function, as `invoke --direct` sends it. */
const invokeDirect = (ctx: Context, event: unknown) =>
  invokeFunction(ctx.aws().lambda, ctx.config().function.name, event);

const context = (endpointUrl?: string) =>
  makeContext(
    {
      config: writeConfig(),
      json: false,
      yes: false,
      verbose: false,
      ...(endpointUrl ? { endpointUrl } : {}),
    },
    recordingUi(),
    { awsFactory: createAwsClients },
  );

describe('resolveDeployedTarget', () => {
  it('reads the invoke URL, the key value and the plan limits from API Gateway', async () => {
    const target = await resolveDeployedTarget(context());

    expect(target).toEqual({
      url: 'https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/prod/chatbot',
      apiKey: KEY_VALUE,
      source: 'aws',
      usagePlan: {
        rateLimit: 100,
        burstLimit: 200,
        quotaLimit: 100000,
        quotaPeriod: 'MONTH',
        name: 'chatbot-usage-plan',
        onStage: true,
      },
      functionName: 'chatbot-backend',
    });
  });

  it('asks API Gateway with these exact inputs, the key value included', async () => {
    await resolveDeployedTarget(context());

    const inputs = mocks.apigateway.calls().map((c) => [c.args[0].constructor.name, c.args[0].input]);
    expect(inputs).toEqual(
      expect.arrayContaining([
        ['GetRestApisCommand', { limit: 500 }],
        ['GetUsagePlansCommand', { limit: 500 }],
        ['GetApiKeysCommand', { nameQuery: 'chatbot-api-key', includeValues: true, limit: 500 }],
        ['GetStageCommand', { restApiId: API_ID, stageName: 'prod' }],
        ['GetUsagePlanKeysCommand', { usagePlanId: PLAN_ID, limit: 500 }],
      ]),
    );
    expect(inputs).toHaveLength(5);
  });

  it('picks the newest enabled key on the plan while a rotation is under way', async () => {
    world.fake.apiKeys.set('k3y002', {
      ...world.apiKeys[0],
      id: 'k3y002',
      value: 'N3wK3yN3wK3yN3wK3yN3wK3yN3wK3yN3wK3yN3wK',
      createdDate: new Date('2026-11-20T08:00:00Z'),
    } as (typeof world.apiKeys)[number]);
    world.usagePlanKeys = [...world.usagePlanKeys, { id: 'k3y002' }];

    const target = await resolveDeployedTarget(context());

    expect(target.apiKey).toBe('N3wK3yN3wK3yN3wK3yN3wK3yN3wK3yN3wK3yN3wK');
  });

  it('uses a key given by the user and reads no key values', async () => {
    const target = await resolveDeployedTarget(context(), { apiKey: 'mine' });

    expect(target.apiKey).toBe('mine');
    expect(mocks.apigateway.commandCalls(GetApiKeysCommand)).toHaveLength(0);
    expect(mocks.apigateway.commandCalls(GetUsagePlanKeysCommand)).toHaveLength(0);
  });

  it('takes the limits from the plan in API Gateway, not from the config', async () => {
    Object.assign(world.usagePlans[0] ?? {}, {
      throttle: { rateLimit: 3, burstLimit: 6 },
      quota: { limit: 250, period: 'WEEK', offset: 0 },
    });

    const target = await resolveDeployedTarget(context());

    expect(target.usagePlan).toMatchObject({
      rateLimit: 3,
      burstLimit: 6,
      quotaLimit: 250,
      quotaPeriod: 'WEEK',
    });
  });

  it('tells whether the usage plan is attached to the stage', async () => {
    Object.assign(world.usagePlans[0] ?? {}, { apiStages: [{ apiId: API_ID, stage: 'test' }] });

    const target = await resolveDeployedTarget(context());

    expect(target.usagePlan?.onStage).toBe(false);
  });

  it("gives the emulator's URL form behind --endpoint-url", async () => {
    const target = await resolveDeployedTarget(context('http://127.0.0.1:4566'));

    expect(target.url).toBe('http://127.0.0.1:4566/restapis/a1b2c3d4e5/prod/_user_request_/chatbot');
  });

  it.each<[string, (w: World) => void, RegExp]>([
    ['no API', (w) => (w.restApis = []), /no REST API named chatbot-api in us-east-1/],
    ['no stage', (w) => (w.stage = undefined), /has no stage prod/],
    ['no usage plan', (w) => (w.usagePlans = []), /no usage plan named chatbot-usage-plan/],
    [
      'no key on the plan',
      (w) => (w.usagePlanKeys = []),
      /no enabled API key named chatbot-api-key is on the usage plan/,
    ],
  ])('explains %s', async (_what, breakIt, message) => {
    breakIt(world);

    await expect(resolveDeployedTarget(context())).rejects.toThrow(message);
  });
});

describe('invokeDirect', () => {
  it('sends the body itself as the event and decodes the proxy response', async () => {
    const out = await invokeDirect(context(), { intent: 'get_traffic_summary', params: { hours: 1 } });

    const input = mocks.lambda.commandCalls(InvokeCommand)[0]?.args[0].input;
    expect(new TextDecoder().decode(input?.Payload as Uint8Array)).toBe(
      '{"intent":"get_traffic_summary","params":{"hours":1}}',
    );
    expect(input).toMatchObject({ FunctionName: 'chatbot-backend', InvocationType: 'RequestResponse' });
    // The fixture answers any intent but health with its INVALID_PARAMS proxy response.
    expect(out).toEqual({
      statusCode: 400,
      body: INVALID_PARAMS_RESPONSE.body,
      requestId: '5e1f0a2b-0000-4000-8000-00000000c0de',
    });
  });

  it('reports a function error with its type and message', async () => {
    world.invoke = invokeAnswer(
      { errorType: 'Runtime.HandlerNotFound', errorMessage: 'lambda_function.lambda_handler is undefined' },
      { FunctionError: 'Unhandled' },
    );

    const out = await invokeDirect(context(), { intent: 'health' });

    expect(out).toMatchObject({
      statusCode: 502,
      functionError: 'Runtime.HandlerNotFound: lambda_function.lambda_handler is undefined',
    });
  });

  it('says when the function does not exist', async () => {
    world.invoke = new ResourceNotFoundException({ message: 'Function not found', $metadata: {} });

    const p = invokeDirect(context(), { intent: 'health' });

    await expect(p).rejects.toBeInstanceOf(UserError);
    await expect(p).rejects.toThrow('no Lambda function named chatbot-backend');
  });
});
