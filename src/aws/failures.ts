/**
 * What kind of failure an AWS SDK error is, for messages that say what to try: an answer that is not
 * AWS's (an HTML error page from an emulator that does not implement the call, or from a proxy),
 * a permission the credentials lack, or no connection at all. Read from the SDK's own marks: a
 * service exception carries `$fault`; a body the SDK could not parse leaves the raw HTTP response
 * on `$response`; Node's network errors carry a `code`. Nothing here prints.
 */

/** The hidden field src/aws/clients.ts puts on every error a command throws: "APIGateway.GetUsage". */
export const CALL_FIELD = '$chatbotOpsCall';

/** The command an error came from, when the client that sent it recorded it. */
export function failedCall(err: unknown): string | undefined {
  const call = (err as Record<string, unknown> | null)?.[CALL_FIELD];
  return typeof call === 'string' ? call : undefined;
}

export interface ForeignAnswer {
  status: number | undefined;
  contentType: string;
  /** "an HTML page" or "a body that is not an AWS answer (text/plain)". */
  what: string;
}

/**
 * The answer, when the endpoint answered something the SDK could not read as AWS's: a SyntaxError
 * (or other parse failure) with the HTTP response attached and no service fault.
 */
export function foreignAnswer(err: unknown): ForeignAnswer | undefined {
  if (err === null || typeof err !== 'object') return undefined;
  const e = err as {
    $fault?: unknown;
    $response?: { statusCode?: number; headers?: Record<string, string> };
    $metadata?: { httpStatusCode?: number };
  };
  if (e.$fault !== undefined || e.$response === undefined) return undefined;
  const headers = e.$response.headers ?? {};
  const contentType =
    Object.entries(headers)
      .find(([k]) => k.toLowerCase() === 'content-type')?.[1]
      ?.toLowerCase() ?? '';
  const html = contentType.includes('html') || /Unexpected token '<'/.test((err as Error).message ?? '');
  return {
    status: e.$response.statusCode ?? e.$metadata?.httpStatusCode,
    contentType,
    what: html ? 'an HTML page' : `a body that is not an AWS answer (${contentType || 'no content type'})`,
  };
}

/** Error names AWS services use for a caller who may not make the call. */
const DENIED = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'UnauthorizedOperation',
  'AuthorizationError',
  'AuthorizationErrorException',
  'UnauthorizedException',
]);

export function isPermissionDenied(err: unknown): boolean {
  return err instanceof Error && DENIED.has(err.name);
}

/** Node's and the SDK's names for "no answer came": refused, unresolvable, reset, timed out. */
const TRANSPORT = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
]);

export function isTransportFailure(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: string }).code ?? (err.cause as { code?: string } | undefined)?.code;
  return (
    (code !== undefined && TRANSPORT.has(code)) ||
    err.name === 'TimeoutError' ||
    err.name === 'AbortError' ||
    (err.name === 'TypeError' && err.message === 'fetch failed')
  );
}

/** An error's name and message on one line, without the SDK's multi-line deserialization hint. */
export function errorLine(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const message = (err.message ?? '').split('\n')[0]?.trim() ?? '';
  return `${err.name && err.name !== 'Error' ? `${err.name}: ` : ''}${message}`;
}

/**
 * Why a read could not be made, and what to try: for a doctor check that could not run, and for
 * anything else that must tell "could not ask" from "asked, and the answer is wrong".
 */
export function whyNoAnswer(err: unknown): { reason: string; tryThis: string } {
  const call = failedCall(err) ?? 'an AWS call';
  const foreign = foreignAnswer(err);
  if (foreign) {
    return {
      reason: `${call} answered${foreign.status ? ` HTTP ${foreign.status}` : ''} with ${foreign.what}, not an AWS answer`,
      tryThis:
        'The endpoint that answered may not implement this call (AWS API emulators often do not: --endpoint-url or AWS_ENDPOINT_URL decides where calls go), or a proxy answered instead of AWS. Against AWS, run it again; if it persists, run with --verbose.',
    };
  }
  if (isPermissionDenied(err)) {
    return {
      reason: `your credentials may not make ${call}: ${errorLine(err)}`,
      tryThis:
        'Allow the action the message names for the credentials doctor runs with, or run it with credentials that may read the deployment.',
    };
  }
  if (isTransportFailure(err)) {
    return {
      reason: `no answer to ${call}: ${errorLine(err)}`,
      tryThis:
        'Check the network, and --endpoint-url or AWS_ENDPOINT_URL when you use an emulator, then run it again.',
    };
  }
  return {
    reason: `the check itself failed: ${errorLine(err)}`,
    tryThis: 'Run it again with --verbose; if it persists, check that your credentials may make this read.',
  };
}
