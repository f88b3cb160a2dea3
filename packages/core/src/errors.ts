/**
 * The public error catalogue. Codes are stable API: clients branch on them, so never rename one.
 * `httpStatus` is what the API answers; worker-side codes also land in `job.error.code`.
 */
export const ERROR_CATALOG = {
  VALIDATION_FAILED: 400,
  INVALID_REQUEST: 400,
  INVALID_WEBHOOK_URL: 400,
  UNKNOWN_OP: 400,
  INVALID_OPTIONS: 400,
  MISSING_FILE: 400,
  INVALID_CURSOR: 400,
  UNAUTHENTICATED: 401,
  JOB_NOT_FOUND: 404,
  UPLOAD_NOT_FOUND: 404,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  JOB_NOT_FINISHED: 409,
  JOB_FINISHED: 409,
  JOB_FAILED: 409,
  CONFLICT: 409,
  IDEMPOTENCY_CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_IMAGE: 415,
  UNSUPPORTED_MEDIA_TYPE: 415,
  IMAGE_TOO_LARGE: 422,
  OUTPUT_TOO_LARGE: 422,
  RATE_LIMITED: 429,
  QUOTA_EXCEEDED: 429,
  MODEL_UNAVAILABLE: 503,
  OP_UNAVAILABLE: 503,
  MAX_ATTEMPTS_EXCEEDED: 500,
  JOB_TIMEOUT: 500,
  PROCESSING_FAILED: 500,
  SERVICE_UNAVAILABLE: 503,
  QUEUE_FULL: 503,
  OVERLOADED: 503,
  INTERNAL: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_CATALOG;

export interface AppErrorOptions {
  cause?: unknown;
  /** Whether the message may be shown to a client. 5xx errors default to hidden. */
  expose?: boolean;
  details?: unknown;
  httpStatus?: number;
  /** Seconds after which a retry may succeed; the API sends it as `Retry-After` (429, 503). */
  retryAfterS?: number;
}

/** Base of every error the project raises on purpose. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly httpStatus: number;
  readonly expose: boolean;
  readonly details: unknown;
  readonly retryAfterS: number | undefined;

  constructor(code: ErrorCode, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "AppError";
    this.code = code;
    this.httpStatus = options.httpStatus ?? ERROR_CATALOG[code];
    this.expose = options.expose ?? this.httpStatus < 500;
    this.details = options.details;
    this.retryAfterS = options.retryAfterS;
  }
}

export class ValidationError extends AppError {
  constructor(message: string, options: AppErrorOptions & { code?: ErrorCode } = {}) {
    super(options.code ?? "VALIDATION_FAILED", message, options);
    this.name = "ValidationError";
  }
}

export class NotFoundError extends AppError {
  constructor(message: string, options: AppErrorOptions & { code?: ErrorCode } = {}) {
    super(options.code ?? "NOT_FOUND", message, options);
    this.name = "NotFoundError";
  }
}

export class ConflictError extends AppError {
  constructor(message: string, options: AppErrorOptions & { code?: ErrorCode } = {}) {
    super(options.code ?? "CONFLICT", message, options);
    this.name = "ConflictError";
  }
}

/**
 * An error that no retry can fix (corrupt input, invalid options): the worker fails the job at once
 * instead of handing the message back to the queue.
 */
export class PermanentJobError extends AppError {
  constructor(code: ErrorCode, message: string, options: AppErrorOptions = {}) {
    super(code, message, { expose: true, ...options });
    this.name = "PermanentJobError";
  }
}

/** Raised when configuration read at start-up is invalid; the message names the variable. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

// `instanceof` breaks when two copies of this module are loaded, so the checks also look at names.
export function isAppError(err: unknown): err is AppError {
  return (
    err instanceof AppError ||
    (err instanceof Error &&
      typeof (err as Partial<AppError>).code === "string" &&
      typeof (err as Partial<AppError>).httpStatus === "number")
  );
}

export function isPermanentJobError(err: unknown): err is PermanentJobError {
  return err instanceof PermanentJobError || (isAppError(err) && err.name === "PermanentJobError");
}
