/**
 * The frames between the local Lambda runtime and its containers (src/local/runtime-protocol.ts):
 * reassembled from any chunking, a proxy answer's body carried as raw UTF-8 bytes with the answer
 * read back exactly as the handler returned it, and anything else carried whole as JSON.
 */
import { describe, expect, it } from 'vitest';
import {
  encodeFrame,
  encodeResult,
  FrameReader,
  type HostHead,
  type ResultHead,
} from '../../src/local/runtime-protocol.js';

/** The handler's answer as the parent reads it back from one result frame. */
function roundTrip(response: unknown): { response: unknown; bytes: Buffer | undefined } {
  const frames = new FrameReader<HostHead>().push(encodeResult(7, response));
  expect(frames).toHaveLength(1);
  const { head, body } = frames[0] as { head: ResultHead; body: Buffer };
  expect(head).toMatchObject({ type: 'result', id: 7 });
  if (head.body !== 'utf8') return { response: head.response, bytes: undefined };
  head.response.body = body.toString('utf8');
  return { response: head.response, bytes: body };
}

describe('FrameReader', () => {
  it('reassembles frames delivered a byte at a time and several in one chunk', () => {
    // Prepare
    const frames = [
      encodeFrame({ type: 'invoke', id: 1 }, Buffer.from('{"a":"é"}')),
      encodeFrame({ type: 'ready', initMs: 3 }),
      encodeFrame({ type: 'invoke', id: 2 }, Buffer.from([0xff, 0x00, 0xfe])),
    ];
    const stream = Buffer.concat(frames);

    // Act
    const oneByOne = new FrameReader<{ id?: number }>();
    const got = [...stream].flatMap((byte) => oneByOne.push(Buffer.from([byte])));
    const whole = new FrameReader<{ id?: number }>().push(stream);

    // Assess
    for (const read of [got, whole]) {
      expect(read.map((f) => f.head)).toEqual([
        { type: 'invoke', id: 1 },
        { type: 'ready', initMs: 3 },
        { type: 'invoke', id: 2 },
      ]);
      expect(read.map((f) => [...f.body])).toEqual([[...Buffer.from('{"a":"é"}')], [], [0xff, 0x00, 0xfe]]);
    }
    expect(oneByOne.pending).toBe(false);
  });

  it('holds a frame whose end has not arrived, and says so', () => {
    const frame = encodeFrame({ type: 'result', id: 1 }, Buffer.alloc(100_000, 'x'));
    const reader = new FrameReader();
    expect(reader.push(frame.subarray(0, 50_000))).toEqual([]);
    expect(reader.pending).toBe(true);
    expect(reader.push(frame.subarray(50_000))).toHaveLength(1);
    expect(reader.pending).toBe(false);
  });
});

describe('encodeResult', () => {
  it("sends a proxy answer's body as its UTF-8 bytes and reads the answer back as returned", () => {
    const answer = {
      statusCode: 200,
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ city: 'Zürich', emoji: '🦆', quote: '"q"\\n' }),
      isBase64Encoded: false,
    };
    const { response, bytes } = roundTrip(answer);
    expect(response).toEqual(answer);
    expect(Object.keys(response as object)).toEqual(Object.keys(answer));
    expect(bytes?.equals(Buffer.from(answer.body, 'utf8'))).toBe(true);
  });

  it('keeps a body with a lone surrogate, which UTF-8 cannot carry, by sending it as JSON', () => {
    const answer = { statusCode: 200, body: 'a\ud800b' };
    const { response, bytes } = roundTrip(answer);
    expect(bytes).toBeUndefined();
    expect(response).toEqual(answer);
  });

  it.each([
    { what: 'a string', answer: 'plain text' },
    { what: 'a number', answer: 42 },
    { what: 'null', answer: null },
    { what: 'an array', answer: [{ body: 'x' }] },
    { what: 'an object without a body', answer: { statusCode: 204 } },
    { what: 'a body that is not a string', answer: { statusCode: 200, body: { nested: true } } },
  ])('sends $what whole as JSON', ({ answer }) => {
    const { response, bytes } = roundTrip(answer);
    expect(bytes).toBeUndefined();
    expect(response).toEqual(answer);
  });

  it('serialises an object with toJSON, or of a class, as JSON does', () => {
    class Answer {
      statusCode = 200;
      body = 'from a class';
    }
    const withToJson = { body: 'hidden', toJSON: () => ({ statusCode: 201, body: 'shown' }) };
    expect(roundTrip(new Answer())).toEqual({
      response: { statusCode: 200, body: 'from a class' },
      bytes: undefined,
    });
    expect(roundTrip(withToJson)).toEqual({ response: { statusCode: 201, body: 'shown' }, bytes: undefined });
  });
});
