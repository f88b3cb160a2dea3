import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import type { FastifyInstance, FastifySchema, RouteOptions } from "fastify";
import { errorResponse } from "./api-schemas.js";

declare module "fastify" {
  interface FastifyContextConfig {
    /**
     * The request body as the OpenAPI document shows it, for a route whose body Fastify does not
     * validate (raw bytes): its schema would refuse a Buffer.
     */
    documentedBody?: { content: Record<string, { schema: unknown }> };
  }
}

/** What the edge hooks do, as `buildApp` set them up: the document says where each can answer. */
export interface OpenApiEdge {
  /** API keys are configured: protected routes answer 401 and need the bearer scheme. */
  keysOn: boolean;
  rateLimitOn: boolean;
  needsApiKey: (routeUrl: string) => boolean;
  isRateLimited: (routeUrl: string) => boolean;
  isSheddable: (routeUrl: string) => boolean;
}

const BEARER = "bearer";

/** `/openapi.json` (OpenAPI 3.0, components named by their `$id`) and its UI at `/docs`. */
export async function registerOpenApi(app: FastifyInstance, edge: OpenApiEdge): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: "3.0.3",
      info: {
        title: "Imagen API",
        version: "1.0.0",
        description: "Submit an image and an operation; get the processed image back.",
      },
      ...(edge.keysOn && {
        components: {
          securitySchemes: {
            [BEARER]: { type: "http", scheme: "bearer", description: "An API key: Authorization: Bearer <key>" },
          },
        },
      }),
    },
    // The default names every shared schema `def-<n>`; clients and generators want `Error`, `Job`.
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === "string" ? json.$id : `def-${i}`),
    },
    transform: ({ schema, url, route }) => ({ url, schema: documentedSchema(schema, route, edge) }),
  });
  await app.register(swaggerUi, { routePrefix: "/docs" });
  app.get("/openapi.json", { schema: { hide: true } }, async () => app.swagger());
}

/**
 * A route's schema as documented: plus the answers the edge gives before the route runs (validation,
 * body limits, key, rate limit, load shedding) and its security requirement.
 */
function documentedSchema(schema: FastifySchema | undefined, route: RouteOptions, edge: OpenApiEdge): FastifySchema {
  if (!schema || schema.hide) return schema ?? {};
  const documentedBody = route.config?.documentedBody;
  const responses: Record<string, unknown> = { ...(schema.response as Record<string, unknown> | undefined) };
  const add = (status: number, description: string, options?: { retryAfter?: boolean }) => {
    responses[status] ??= errorResponse(description, options);
  };
  const takesBody = ![route.method].flat().every((method) => method === "GET" || method === "HEAD");
  if (schema.params || schema.querystring || schema.headers || schema.body || documentedBody || takesBody) {
    add(400, "The request is malformed (VALIDATION_FAILED, INVALID_REQUEST)");
  }
  if (takesBody) {
    add(413, "The body is over its size limit (PAYLOAD_TOO_LARGE)");
    add(415, "The body's content type is not one this route takes (UNSUPPORTED_MEDIA_TYPE)");
  }
  const keyed = edge.keysOn && edge.needsApiKey(route.url) && route.config?.apiKeyRequired !== false;
  if (keyed) add(401, "No API key, or not a valid one (UNAUTHENTICATED); see WWW-Authenticate");
  if (edge.rateLimitOn && edge.isRateLimited(route.url)) {
    add(429, "Over the rate limit of the key or client (RATE_LIMITED)", { retryAfter: true });
  }
  if (edge.isSheddable(route.url)) add(503, "The service is overloaded (OVERLOADED)", { retryAfter: true });
  add(500, "An internal error (INTERNAL); the message carries no detail");
  const open = edge.keysOn && route.url.startsWith("/v1/") && !keyed;
  return {
    ...schema,
    ...(documentedBody && { body: documentedBody }),
    response: responses,
    ...(keyed && { security: [{ [BEARER]: [] }] }),
    // A /v1 route that needs no key says so, since its neighbours do.
    ...(open && { security: [] }),
  };
}
