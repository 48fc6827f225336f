/**
 * src/aws/failures.ts tells "could not ask" apart from "asked": an endpoint's HTML error page (a real
 * SDK error, made against a server on 127.0.0.1), a denied permission, no connection; each with the
 * call it came from when the CLI's clients sent it.
 */
import { describe, expect, it } from 'vitest';
import { errorLine, failedCall, foreignAnswer, whyNoAnswer } from '../../src/aws/failures.js';
import { sdkErrorFromHtmlAnswer } from '../support/html-answer.js';

describe('what kind of failure an SDK error is', () => {
  it('an HTML error page: the call named, the status, and what to try', async () => {
    const err = await sdkErrorFromHtmlAnswer(500);

    expect(err.name).toBe('SyntaxError');
    expect(failedCall(err)).toBe('APIGateway.GetUsage');
    expect(foreignAnswer(err)).toMatchObject({ status: 500, what: 'an HTML page' });
    expect(whyNoAnswer(err)).toEqual({
      reason: 'APIGateway.GetUsage answered HTTP 500 with an HTML page, not an AWS answer',
      tryThis: expect.stringMatching(/may not implement this call \(AWS API emulators often do not/),
    });
  });

  it('a denied permission', () => {
    const err = Object.assign(new Error('User is not authorized to perform: rds:DescribeDBInstances'), {
      name: 'AccessDenied',
      $fault: 'client',
    });

    expect(foreignAnswer(err)).toBeUndefined();
    expect(whyNoAnswer(err)).toEqual({
      reason:
        'your credentials may not make an AWS call: AccessDenied: User is not authorized to perform: rds:DescribeDBInstances',
      tryThis: expect.stringMatching(/Allow the action the message names/),
    });
  });

  it('no connection at all', () => {
    const err = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:4566'), { code: 'ECONNREFUSED' });

    expect(whyNoAnswer(err).reason).toBe('no answer to an AWS call: connect ECONNREFUSED 127.0.0.1:4566');
  });

  it('anything else is the check itself failing, on one line', () => {
    const err = new TypeError('cannot read x of undefined\n  Deserialization error: ...');

    expect(errorLine(err)).toBe('TypeError: cannot read x of undefined');
    expect(whyNoAnswer(err).reason).toBe('the check itself failed: TypeError: cannot read x of undefined');
  });
});
