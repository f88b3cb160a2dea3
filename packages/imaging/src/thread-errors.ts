import { AppError, isAppError, isPermanentJobError, PermanentJobError, type ErrorCode } from "@imagen/core";

/** An error as it crosses a thread: structured cloning keeps an Error's message but not its class or code. */
export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  code?: ErrorCode;
  permanent?: boolean;
}

export function serializeError(err: unknown): SerializedError {
  if (!(err instanceof Error)) return { name: "Error", message: String(err) };
  const base = { name: err.name, message: err.message, ...(err.stack !== undefined && { stack: err.stack }) };
  if (isAppError(err)) return { ...base, code: err.code, permanent: isPermanentJobError(err) };
  return base;
}

/** The error rebuilt with its class: `PermanentJobError` stays permanent, an `AppError` keeps its code. */
export function deserializeError(error: SerializedError): Error {
  let rebuilt: Error;
  if (error.code !== undefined) {
    rebuilt = error.permanent
      ? new PermanentJobError(error.code, error.message)
      : new AppError(error.code, error.message);
  } else {
    rebuilt = new Error(error.message);
    rebuilt.name = error.name;
  }
  if (error.stack !== undefined) rebuilt.stack = error.stack;
  return rebuilt;
}
