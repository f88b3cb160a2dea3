/**
 * gRPC status codes the adapters translate. The Pub/Sub and Firestore clients report them as a
 * numeric `code` on the error; Cloud Storage (JSON API) reports the HTTP status there instead.
 */
export const GrpcStatus = {
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
} as const;

/** The numeric `code` an SDK error carries (gRPC status or HTTP status), if any. */
function errorCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "number" ? code : undefined;
}

export function hasCode(err: unknown, ...codes: number[]): boolean {
  const code = errorCode(err);
  return code !== undefined && codes.includes(code);
}
