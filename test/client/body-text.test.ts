/** One-line descriptions of answers that are not the backend's JSON. */
import { describe, expect, it } from 'vitest';
import { notBackendAnswer, summarizeBody } from '../../src/client/body-text.js';
import { errorFromResponse } from '../../src/client/chatbot-client.js';

const BAD_GATEWAY = `<!DOCTYPE html>
<html><head><title>502 Bad Gateway</title></head>
<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>`;

describe('an answer body in one line', () => {
  it.each([
    [BAD_GATEWAY, `an HTML page titled "502 Bad Gateway" (${BAD_GATEWAY.length} bytes) instead of JSON`],
    ['<html><body>oops</body></html>', 'an HTML page (30 bytes) instead of JSON'],
    ['', 'an empty body'],
    ['{"message":"Internal server error"}', '{"message":"Internal server error"}'],
    ['line one\n\tline two', 'line one line two'],
    ['\u001b[31mred\u001b[0m\u202eevil', '[31mred [0m evil'],
  ])('%j → %s', (body, expected) => {
    expect(summarizeBody(body)).toBe(expected);
  });

  it('cuts long text', () => {
    expect(summarizeBody('x'.repeat(500), 20)).toBe(`${'x'.repeat(17)}...`);
  });
});

describe("whether a body is the backend's answer", () => {
  it.each([
    ['{"success":true,"data":{}}', undefined],
    ['{"success":false,"error":"x","error_code":"Y"}', undefined],
    ['{"intent":"health"}', 'it echoed the request back, so the code answering is not the chatbot backend'],
    ['{"hello":"world"}', `it answered {"hello":"world"}, not the backend's {"success": ...} envelope`],
    [
      BAD_GATEWAY,
      `it answered an HTML page titled "502 Bad Gateway" (${BAD_GATEWAY.length} bytes) instead of JSON`,
    ],
  ])('%j', (body, problem) => {
    expect(notBackendAnswer(body, { intent: 'health' })).toBe(problem);
  });
});

describe('the client error for an HTML page', () => {
  it('names the page by its title, never with its markup', () => {
    const err = errorFromResponse({
      status: 502,
      headers: {},
      text: BAD_GATEWAY,
      json: undefined,
      ms: 3,
      attempts: 1,
    });

    expect(err.message).toBe(
      `502 HTTP_502: an HTML page titled "502 Bad Gateway" (${BAD_GATEWAY.length} bytes) instead of JSON`,
    );
    expect(err.message).not.toContain('<');
  });
});
