import { InvokeCommand, ResourceNotFoundException } from '@aws-sdk/client-lambda';
import { beforeEach, describe, expect, it } from 'vitest';
import { invokeDirect, resolveDeployedTarget } from '../../src/aws/api-target.js';
import { makeContext } from '../../src/cli/context.js';
import { recordingUi } from '../../src/cli/ui.js';
import { UserError } from '../../src/errors.js';
import {
  healthyWorld,
  INVALID_PARAMS_RESPONSE,
  invokeAnswer,
  KEY_VALUE,
  mocks,
  resetMocks,
  serveWorld,
  type World,
  writeConfig,
} from './fixtures/deployment.js';

let world: World;

beforeEach(() => {
  resetMocks();
  world = healthyWorld();
  serveWorld(world);
});

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
    {},
  );

describe('resolveDeployedTarget', () => {
  it('reads the invoke URL, the key value and the plan limits from API Gateway', async () => {
    const target = await resolveDeployedTarget(context());

    expect(target).toEqual({
      url: 'https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/prod/chatbot',
      apiKey: KEY_VALUE,
      source: 'aws',
      usagePlan: { rateLimit: 100, burstLimit: 200, quotaLimit: 100000, quotaPeriod: 'MONTH' },
      functionName: 'chatbot-backend',
    });
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
