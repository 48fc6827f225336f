/**
 * The backend's error vocabulary (the status and error_code table in docs/backend.md, "Errors"):
 * every failure a caller can see is an
 * ApiError with one of these codes, and this table is the only place that maps a code to an
 * HTTP status. Messages are written for the caller: never SQL, host names, users, passwords or keys.
 */

export const ERROR_STATUS = {
  INVALID_JSON: 400,
  INVALID_REQUEST: 400,
  UNKNOWN_INTENT: 400,
  INVALID_PARAMS: 400,
  UNAUTHORIZED: 401,
  METHOD_NOT_ALLOWED: 405,
  PAYLOAD_TOO_LARGE: 413,
  INTERNAL_ERROR: 500,
  DATABASE_UNAVAILABLE: 503,
  QUERY_TIMEOUT: 504,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export class ApiError extends Error {
  readonly code: ErrorCode;

  /**
   * @param message what the caller reads (safe to show)
   * @param options.cause the underlying failure, logged with the request id, never sent
   */
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ApiError';
    this.code = code;
  }

  get status(): number {
    return ERROR_STATUS[this.code];
  }
}

/** A parameter problem; the message always names the field. */
export function invalidParam(field: string, problem: string): ApiError {
  return new ApiError('INVALID_PARAMS', `${field}: ${problem}`);
}

export const MISCONFIGURED_MESSAGE = 'backend misconfigured';
