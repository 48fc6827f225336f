/**
 * The smoke test after deploy: "failed" (a real answer that is wrong: exit 1) told apart from "could
 * not reach the backend" (a transport error, an HTML error page, a URL nothing serves, an Invoke
 * that did not run the code, as on an AWS API emulator: deployed, exit 0, said so), and
 * --no-smoke-test skipping it.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { invokeAnswer } from '../support/fake-account.js';
import { createWorld, type World } from './harness.js';

let world: World;
beforeEach(async () => {
  world = await createWorld();
});
afterEach(() => world.close());

const deploy = (...extra: string[]) => world.run(['deploy', '--yes', '--zip', world.zipPath, ...extra]);
const smokeOf = (r: { results: unknown[] }) =>
  (
    r.results.at(-1) as {
      smokeTest?: { outcome: string; direct: { outcome: string }; api: { outcome: string } };
    }
  ).smokeTest;

const UNAVAILABLE = invokeAnswer({
  statusCode: 503,
  body: JSON.stringify({
    success: false,
    error: 'the database is unavailable',
    error_code: 'DATABASE_UNAVAILABLE',
  }),
});
const HTML_500 = {
  status: 500,
  body: '<!doctype html><html><body><h1>Internal Server Error</h1></body></html>',
  contentType: 'text/html; charset=utf-8',
};

describe('the smoke test after deploy', () => {
  it('passes when both the function and the API answer healthy', async () => {
    const r = await deploy();

    expect(r.code).toBe(0);
    expect(smokeOf(r)).toMatchObject({
      outcome: 'passed',
      direct: { outcome: 'passed' },
      api: { outcome: 'passed' },
    });
  });

  it.each([
    [
      'the function answers 503 DATABASE_UNAVAILABLE',
      (w: World) => {
        w.fake.directAnswers.health = UNAVAILABLE;
      },
      'direct',
      /direct: HTTP 503: DATABASE_UNAVAILABLE/,
    ],
    [
      'the function crashes (FunctionError)',
      (w: World) => {
        w.fake.directAnswers.health = invokeAnswer(
          {
            errorType: 'Runtime.HandlerNotFound',
            errorMessage: 'lambda_function.lambda_handler is undefined',
          },
          { FunctionError: 'Unhandled' },
        );
      },
      'direct',
      /the function failed \(Runtime.HandlerNotFound/,
    ],
    [
      'API Gateway answers 502 Internal server error',
      (w: World) => {
        w.fake.httpAnswers.withKey = { status: 502, body: '{"message": "Internal server error"}' };
      },
      'api',
      /API: HTTP 502: \{"message": "Internal server error"\}/,
    ],
  ])('%s: failed, exit 1', async (_what, breakIt, part, detail) => {
    breakIt(world);

    const r = await deploy();

    expect(r.code).toBe(1);
    expect(r.err.some((l) => l.startsWith('✖ Smoke test failed'))).toBe(true);
    expect(r.text).toMatch(detail);
    expect(r.text).toMatch(/deployed, but the smoke test failed/);
    expect(smokeOf(r)).toMatchObject({ outcome: 'failed', [part]: { outcome: 'failed' } });
  });

  it.each([
    [
      'the stage URL answers an HTML error page',
      (w: World) => {
        w.fake.httpAnswers.withKey = HTML_500;
      },
      'api',
      /API: HTTP 500 with an HTML page, not an answer of API Gateway or the backend/,
    ],
    [
      'nothing serves the stage URL (404)',
      (w: World) => {
        w.fake.httpAnswers.withKey = { status: 404, body: '{"message":"Not Found"}' };
      },
      'api',
      /API: HTTP 404: nothing serves this URL/,
    ],
    [
      'Invoke answers without running the code (the event echoed back)',
      (w: World) => {
        w.fake.directAnswers.health = invokeAnswer({ intent: 'health' });
      },
      'direct',
      /the answer is not the backend's \(\{"intent":"health"\}\): the code did not run/,
    ],
    [
      'Invoke itself cannot be reached',
      (w: World) => {
        w.fake.directAnswers.health = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:4566'), {
          code: 'ECONNREFUSED',
        });
      },
      'direct',
      /Lambda Invoke failed: connect ECONNREFUSED/,
    ],
  ])(
    '%s: could not reach the backend, deployed, exit 0, and says so',
    async (_what, breakIt, part, detail) => {
      breakIt(world);

      const r = await deploy();

      expect(r.code).toBe(0);
      expect(r.err.some((l) => l.startsWith('⚠ Smoke test could not reach the backend'))).toBe(true);
      expect(r.text).toMatch(detail);
      expect(r.text).toMatch(/the smoke test could not run: this is not a failed check/);
      expect(r.text).toMatch(/--no-smoke-test/);
      expect(r.text).not.toMatch(/smoke test failed/);
      expect(smokeOf(r)).toMatchObject({ outcome: 'unreachable', [part]: { outcome: 'unreachable' } });
    },
  );

  it('a real failure wins over an unreachable part: failed, exit 1', async () => {
    world.fake.directAnswers.health = UNAVAILABLE;
    world.fake.httpAnswers.withKey = HTML_500;

    const r = await deploy();

    expect(r.code).toBe(1);
    expect(smokeOf(r)).toMatchObject({
      outcome: 'failed',
      direct: { outcome: 'failed' },
      api: { outcome: 'unreachable' },
    });
  });

  it('--no-smoke-test skips it: no invocation, no request to the API', async () => {
    world.fake.directAnswers.health = UNAVAILABLE;

    const r = await deploy('--no-smoke-test');

    expect(r.code).toBe(0);
    expect(world.fake.calls.filter((c) => c.command === 'Invoke')).toEqual([]);
    expect(world.fake.requests).toEqual([]);
    expect(smokeOf(r)).toBeUndefined();
    expect(r.text).not.toMatch(/Smoke test/);
  });
});
