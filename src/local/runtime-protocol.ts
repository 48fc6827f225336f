/** Messages between LambdaRuntime (the parent) and a runtime-host container process. */

export interface InvokeMessage {
  type: 'invoke';
  id: number;
  requestId: string;
  event: unknown;
  /** Epoch ms when the function's timeout ends the invocation (for getRemainingTimeInMillis). */
  deadlineMs: number;
  functionArn: string;
  /** Tests only: latency added before the handler runs, to exercise timeouts. */
  extraLatencyMs?: number;
}

export type HostMessage =
  | { type: 'ready'; initMs: number }
  | { type: 'init-error'; errorType: string; errorMessage: string }
  | { type: 'result'; id: number; response: unknown }
  | { type: 'error'; id: number; errorType: string; errorMessage: string };
