/**
 * HTTP below fetch, for requests fetch will not send: raw bytes on a socket (malformed requests), and
 * header names exactly as given (fetch drops a header named `__proto__`).
 */
import { request } from 'node:http';
import { connect } from 'node:net';

export interface RawAnswer {
  status: number;
  /** Header names in lower case; a repeated header keeps its last value. */
  headers: Record<string, string>;
  body: string;
}

/** Parse every answer in what a server wrote on one connection (pipelined answers, Content-Length framed). */
export function parseAnswers(bytes: Buffer): RawAnswer[] {
  const answers: RawAnswer[] = [];
  let rest = bytes;
  while (rest.length > 0) {
    const end = rest.indexOf('\r\n\r\n');
    if (end === -1) break;
    const [statusLine = '', ...lines] = rest.subarray(0, end).toString('latin1').split('\r\n');
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const at = line.indexOf(':');
      headers[line.slice(0, at).toLowerCase()] = line.slice(at + 1).trim();
    }
    const length = Number(headers['content-length'] ?? rest.length - end - 4);
    const body = rest.subarray(end + 4, end + 4 + length);
    answers.push({ status: Number(statusLine.split(' ')[1] ?? 0), headers, body: body.toString('utf8') });
    rest = rest.subarray(end + 4 + length);
  }
  return answers;
}

/**
 * Write `bytes` to 127.0.0.1:`port` and collect what comes back until the server closes, `halfClose`
 * ends our side after writing, or `waitMs` passes (then the socket is closed by us).
 */
export function rawExchange(
  port: number,
  bytes: string | Buffer,
  options: { halfClose?: boolean; waitMs?: number } = {},
): Promise<RawAnswer[]> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(bytes);
      if (options.halfClose) socket.end();
    });
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.setTimeout(options.waitMs ?? 5000, () => socket.destroy());
    socket.on('error', reject);
    socket.on('close', () => resolve(parseAnswers(Buffer.concat(chunks))));
  });
}

/** The first answer to raw bytes, or a status 0 answer when there was none. */
export async function rawRequest(port: number, bytes: string | Buffer): Promise<RawAnswer> {
  return (await rawExchange(port, bytes))[0] ?? { status: 0, headers: {}, body: '' };
}

/**
 * POST with these headers, each name as given. Names equal but for case go out as one header with all
 * their values (node:http folds them so).
 */
export function postWithHeaders(
  url: string,
  headers: [string, string][],
  body: string | Buffer,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST' }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (c: string) => {
        text += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
    });
    req.on('error', reject);
    const grouped = new Map<string, { name: string; values: string[] }>();
    for (const [name, value] of headers) {
      const entry = grouped.get(name.toLowerCase());
      if (entry) entry.values.push(value);
      else grouped.set(name.toLowerCase(), { name, values: [value] });
    }
    for (const { name, values } of grouped.values()) req.setHeader(name, values);
    req.end(body);
  });
}
