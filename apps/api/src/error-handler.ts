import { isAppError } from "@imagen/core";
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";

interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
  requestId: string;
}

function send(reply: FastifyReply, request: FastifyRequest, status: number, error: ErrorBody["error"]) {
  return reply.code(status).send({ error, requestId: request.id } satisfies ErrorBody);
}

/** Fastify's own 4xx errors (body too large, bad content type) mapped to catalogue codes. */
function codeForFastifyStatus(status: number): string {
  if (status === 413) return "PAYLOAD_TOO_LARGE";
  if (status === 404) return "NOT_FOUND";
  if (status === 406 || status === 415) return "UNSUPPORTED_MEDIA_TYPE";
  return "VALIDATION_FAILED";
}

/**
 * The one error handler: every error leaves as `{ error: { code, message }, requestId }`, and a 5xx
 * never carries its internal message (it goes to the log instead). An error's `retryAfterS` becomes
 * `Retry-After`.
 */
export function registerErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (isAppError(err) && err.retryAfterS !== undefined) reply.header("retry-after", String(err.retryAfterS));
    if (isAppError(err) && err.expose) {
      const details = err.details === undefined ? {} : { details: err.details };
      return send(reply, request, err.httpStatus, { code: err.code, message: err.message, ...details });
    }
    if (err.validation) {
      return send(reply, request, 400, {
        code: "VALIDATION_FAILED",
        message: err.message,
        details: err.validation.map((v) => ({ path: v.instancePath, message: v.message })),
      });
    }
    const status = err.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      return send(reply, request, status, { code: codeForFastifyStatus(status), message: err.message });
    }
    request.log.error({ err }, "request failed");
    const code = isAppError(err) ? err.code : "INTERNAL";
    return send(reply, request, isAppError(err) ? err.httpStatus : 500, { code, message: "Internal Server Error" });
  });

  app.setNotFoundHandler((request, reply) =>
    send(reply, request, 404, { code: "NOT_FOUND", message: `No route for ${request.method} ${request.url}` }),
  );
}
