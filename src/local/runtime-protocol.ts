/**
 * Messages between LambdaRuntime (the parent) and a runtime-host container process, and how they
 * travel: length-prefixed frames on a socket of their own (the container's fd 3), each a small JSON
 * head and a body of raw bytes. The body carries what is large: the event's JSON one way, the proxy
 * answer's body the other, as the bytes the stand-in writes to its client. Node's IPC channel would
 * instead JSON-encode the answer's body a second time (escaping every quote of the 38 KB answer of
 * get_access_logs) and parse it again in the parent, which then encodes it to bytes once more.
 *
 * Frame: head length (uint32 BE), body length (uint32 BE), the head (UTF-8 JSON), the body.
 */

export interface InvokeHead {
  type: 'invoke';
  id: number;
  requestId: string;
  /** Epoch ms when the function's timeout ends the invocation (for getRemainingTimeInMillis). */
  deadlineMs: number;
  functionArn: string;
  /** Tests only: latency added before the handler runs, to exercise timeouts. */
  extraLatencyMs?: number;
}

/**
 * A result whose `body` travels as the frame's body: `response` is the handler's answer with an
 * empty body, and `body` says how to read the bytes back into the string the handler returned.
 */
export type ResultHead =
  | { type: 'result'; id: number; response: unknown; body?: undefined }
  | { type: 'result'; id: number; response: Record<string, unknown>; body: 'utf8' };

export type HostHead =
  | { type: 'ready'; initMs: number }
  | { type: 'init-error'; errorType: string; errorMessage: string }
  | ResultHead
  | { type: 'error'; id: number; errorType: string; errorMessage: string };

const EMPTY = Buffer.alloc(0);

/** String.prototype.isWellFormed (ES2024, in Node 20), which the ES2023 library types lack. */
type WellFormedCheck = string & { isWellFormed(): boolean };

/**
 * One frame's bytes. A string body is written as UTF-8 straight into the frame: for a 38 KB answer
 * that is several times cheaper than Buffer.from and a copy.
 */
export function encodeFrame(head: object, body: Buffer | string = EMPTY): Buffer {
  const headText = JSON.stringify(head);
  const headBytes = Buffer.byteLength(headText);
  const bodyBytes = typeof body === 'string' ? Buffer.byteLength(body, 'utf8') : body.length;
  const frame = Buffer.allocUnsafe(8 + headBytes + bodyBytes);
  frame.writeUInt32BE(headBytes, 0);
  frame.writeUInt32BE(bodyBytes, 4);
  frame.write(headText, 8, 'utf8');
  if (typeof body === 'string') frame.write(body, 8 + headBytes, 'utf8');
  else body.copy(frame, 8 + headBytes);
  return frame;
}

/**
 * How a handler's answer travels. A plain object with a string body that is well-formed UTF-16
 * (what every proxy answer is) sends its body as UTF-8 bytes beside the rest; anything else goes
 * whole as JSON, as Lambda's runtime serialises it. A lone surrogate would not survive UTF-8, and
 * JSON keeps it (as an escape), so such a body takes the JSON way too.
 */
export function encodeResult(id: number, response: unknown): Buffer {
  if (
    typeof response === 'object' &&
    response !== null &&
    Object.getPrototypeOf(response) === Object.prototype &&
    typeof (response as { toJSON?: unknown }).toJSON !== 'function'
  ) {
    const body = (response as { body?: unknown }).body;
    // The head keeps an empty body in its place, so the answer read back has its keys in their order.
    if (typeof body === 'string' && (body as WellFormedCheck).isWellFormed())
      return encodeFrame({ type: 'result', id, response: { ...response, body: '' }, body: 'utf8' }, body);
  }
  return encodeFrame({ type: 'result', id, response });
}

/** A received frame: its head parsed, its body as the bytes sent. */
export interface Frame<H> {
  head: H;
  body: Buffer;
}

/**
 * Reassembles frames from a byte stream read in arbitrary chunks. `pending` says whether part of a
 * frame has arrived without its end (a container that died mid-answer leaves one behind).
 */
export class FrameReader<H> {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** The size of the frame being received, once its 8 length bytes are in. */
  private size: number | undefined;

  /** The frames these bytes complete, in order. */
  push(chunk: Buffer): Frame<H>[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const frames: Frame<H>[] = [];
    for (;;) {
      if (this.size === undefined) {
        if (this.buffered < 8) break;
        const lengths = this.joined();
        this.size = 8 + lengths.readUInt32BE(0) + lengths.readUInt32BE(4);
      }
      // The chunks of a large answer are joined once, when the last one arrives.
      if (this.buffered < this.size) break;
      const all = this.joined();
      const headEnd = 8 + all.readUInt32BE(0);
      frames.push({
        head: JSON.parse(all.toString('utf8', 8, headEnd)) as H,
        body: all.subarray(headEnd, this.size),
      });
      const rest = all.subarray(this.size);
      this.chunks = rest.length > 0 ? [rest] : [];
      this.buffered = rest.length;
      this.size = undefined;
    }
    return frames;
  }

  get pending(): boolean {
    return this.buffered > 0;
  }

  private joined(): Buffer {
    if (this.chunks.length !== 1) this.chunks = [Buffer.concat(this.chunks, this.buffered)];
    return this.chunks[0] as Buffer;
  }
}
