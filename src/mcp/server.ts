/**
 * The MCP server of `chatbot-ops mcp`: one tool per intent, made from the backend's list_intents, each
 * call sent through ChatbotClient to the same API `invoke` calls. Over stdio, or Streamable HTTP on a
 * loopback address.
 *
 * It uses the SDK's low-level Server rather than McpServer: McpServer wants each tool's input as a zod
 * schema written in code, while these tools are JSON Schemas known only once the backend has answered.
 * Arguments go to the backend as they are, and the backend's own validation answers a bad one
 * (INVALID_PARAMS naming the field), so the model reads the same message a program would.
 */
import {
  createServer,
  type Server as HttpServer,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import type { ChatbotClient } from '../client/chatbot-client.js';
import { mcpTool, type ToolDefinition } from '../tools/tool-definitions.js';
import { toolFailure, toolSuccess } from './tool-result.js';

export interface McpServerOptions {
  client: ChatbotClient;
  tools: readonly ToolDefinition[];
  /** This package's version, announced to the client. */
  version: string;
  /** One line per event (start, each call) on the server's log; never given the key. */
  log: (line: string) => void;
}

const INSTRUCTIONS =
  'Tools that answer questions about the web traffic in an access-log table. Time windows default to ' +
  'the last 24 hours; pass hours, start_time/end_time (ISO 8601, UTC when no offset) or all_time. ' +
  'Log listings are paged: pass next_cursor back as cursor, with the same arguments, for the next page.';

/** An MCP server (not yet connected) answering tools/list and tools/call. */
export function createMcpServer(options: McpServerOptions): Server {
  const server = new Server(
    { name: 'chatbot-ops', version: options.version },
    { capabilities: { tools: {} }, instructions: INSTRUCTIONS },
  );
  const listed = { tools: options.tools.map(mcpTool) };
  server.setRequestHandler(ListToolsRequestSchema, () => listed);
  server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    const { name, arguments: args = {} } = request.params;
    const started = performance.now();
    try {
      // A name that is not in the list still goes to the backend: it answers UNKNOWN_INTENT with the
      // valid names, and an intent the backend gained since start-up works at once.
      const answer = await options.client.request(name, args, { signal: extra.signal });
      options.log(
        `${name} -> ${answer.status} in ${Math.round(performance.now() - started)} ms` +
          `${answer.attempts > 1 ? `, ${answer.attempts} attempts` : ''}${answer.requestId ? `, request id ${answer.requestId}` : ''}`,
      );
      return toolSuccess(name, answer);
    } catch (err) {
      const result = toolFailure(err);
      const s = result.structuredContent as { error_code: string; status: number };
      options.log(`${name} -> ${s.status} ${s.error_code} in ${Math.round(performance.now() - started)} ms`);
      return result;
    }
  });
  return server;
}

/** Serve on standard input and output until the client closes them. */
export async function serveStdio(options: McpServerOptions): Promise<{ closed: Promise<void> }> {
  const server = createMcpServer(options);
  const transport = new StdioServerTransport();
  const closed = new Promise<void>((resolveClosed) => {
    server.onclose = () => resolveClosed();
    // The client closing our standard input is the end of the session.
    process.stdin.once('end', () => void server.close());
  });
  await server.connect(transport);
  return { closed };
}

export interface HttpServing {
  /** The endpoint to configure in the MCP client, http://host:port/mcp. */
  url: string;
  port: number;
  close(): Promise<void>;
}

const LOOPBACK_NAMES = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

function hostnameOf(value: string): string {
  try {
    return new URL(value.includes('://') ? value : `http://${value}`).hostname;
  } catch {
    return '';
  }
}

/**
 * On a loopback address, refuse what a web page could make the browser send (DNS rebinding): the
 * Host must be a loopback name, and an Origin, when there is one, too. Bound elsewhere (`--host`),
 * the server was deliberately put on the network and every host name is accepted.
 */
function acceptable(req: IncomingMessage, listenHost: string): boolean {
  if (!LOOPBACK_NAMES.has(listenHost)) return true;
  if (!LOOPBACK_NAMES.has(hostnameOf(req.headers.host ?? ''))) return false;
  const origin = req.headers.origin;
  return origin === undefined || LOOPBACK_NAMES.has(hostnameOf(origin));
}

function refuse(res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message }, id: null }));
}

/**
 * Streamable HTTP at http://host:port/mcp, stateless: each POST gets its own server and transport
 * (the tool list is shared), answered as JSON. Nothing to keep per session, so nothing leaks when a
 * client goes away without closing.
 */
export async function serveHttp(
  options: McpServerOptions,
  listen: { host: string; port: number },
): Promise<HttpServing> {
  // Loaded only for --http: stdio start-up does not pay for the HTTP transport's modules.
  const { StreamableHTTPServerTransport } = await import(
    '@modelcontextprotocol/sdk/server/streamableHttp.js'
  );
  const http: HttpServer = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path !== '/mcp') return refuse(res, 404, 'not found: the MCP endpoint is /mcp');
    if (!acceptable(req, listen.host)) return refuse(res, 403, 'forbidden: host or origin not allowed');
    if (req.method !== 'POST')
      return refuse(res, 405, 'method not allowed: this server is stateless, send POST requests');
    const server = createMcpServer(options);
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: true,
    });
    res.on('close', () => {
      void transport.close();
      void server.close();
    });
    server
      .connect(transport)
      .then(() => transport.handleRequest(req, res))
      .catch(() => {
        if (!res.headersSent) refuse(res, 500, 'internal error');
      });
  });
  await new Promise<void>((resolveListen, reject) => {
    http.once('error', reject);
    http.listen(listen.port, listen.host, () => resolveListen());
  });
  const { port } = http.address() as AddressInfo;
  const shownHost = listen.host.includes(':') ? `[${listen.host}]` : listen.host;
  return {
    url: `http://${shownHost}:${port}/mcp`,
    port,
    close: () =>
      new Promise<void>((resolveClose) => {
        http.close(() => resolveClose());
        http.closeAllConnections();
      }),
  };
}
