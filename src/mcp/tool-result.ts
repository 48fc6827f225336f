/**
 * What a tool call hands back to the model: the answer as text a model reads well (aligned tables,
 * every field, the cursor spelled out with how to use it) plus the backend's `data` as structured
 * content; a failure as a tool error (isError) carrying the backend's error_code and message.
 */
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { ChatbotApiError, type IntentAnswer } from '../client/chatbot-client.js';
import { renderData } from '../client/render.js';

/** Cells long enough for user agents and URLs: the model should see the data, not an ellipsis. */
const MODEL_MAX_CELL = 500;

/** The readable text of a successful answer. */
export function answerText(intent: string, answer: IntentAnswer<Record<string, unknown>>): string {
  const { data } = answer;
  const lines = renderData(data, { maxCell: MODEL_MAX_CELL, allLogColumns: true });
  if (typeof data.next_cursor === 'string' && data.next_cursor !== '') {
    lines.push(
      '',
      `More entries: call ${intent} again with the same arguments plus "cursor": "${data.next_cursor}".`,
    );
  } else if ('next_cursor' in data) {
    lines.push('', 'No more entries: this is the last page.');
  }
  if (answer.requestId) lines.push(`(request id ${answer.requestId})`);
  return lines.join('\n');
}

export function toolSuccess(intent: string, answer: IntentAnswer<Record<string, unknown>>): CallToolResult {
  return {
    content: [{ type: 'text', text: answerText(intent, answer) }],
    structuredContent: answer.data,
  };
}

/**
 * A failure as a tool error, so the model can read it and correct its call. Only ChatbotApiError's
 * own text goes out (built from the status and the answer's body, which never holds the key);
 * anything else is a fault of this server, reported without its detail.
 */
export function toolFailure(err: unknown): CallToolResult {
  if (err instanceof ChatbotApiError) {
    const attempts = err.attempts > 1 ? ` (after ${err.attempts} attempts)` : '';
    const requestId = err.requestId ? ` [request id ${err.requestId}]` : '';
    const error = (err.response?.json as { error?: unknown } | undefined)?.error;
    return {
      isError: true,
      content: [{ type: 'text', text: `Error ${err.message}${attempts}${requestId}` }],
      structuredContent: {
        error_code: err.errorCode,
        error: typeof error === 'string' ? error : err.message,
        status: err.status,
        request_id: err.requestId ?? null,
      },
    };
  }
  return {
    isError: true,
    content: [{ type: 'text', text: 'Error INTERNAL_ERROR: chatbot-ops mcp failed to make this call' }],
    structuredContent: {
      error_code: 'INTERNAL_ERROR',
      error: 'chatbot-ops mcp failed to make this call',
      status: 0,
      request_id: null,
    },
  };
}
