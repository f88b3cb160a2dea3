import {
  AppError,
  canTransition,
  JOB_STATUSES,
  jobPath,
  JobViewSchema as JobView,
  OP_NAMES,
  toJobView,
  type BlobStore,
  type Job,
  type JobStore,
} from "@imagen/core";
import { Type } from "@sinclair/typebox";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { checkWebhookUrl, type WebhookUrlOptions } from "@imagen/webhooks";
import type { Counter } from "prom-client";
import { readIdempotencyKey } from "../idempotency.js";
import { getOwnedJob } from "../job-access.js";
import { readUpload } from "../read-upload.js";
import { JobFromUpload, parseJobFromUpload } from "../staged-upload.js";
import { submitJob, type Submission, type SubmitDeps } from "../submit-job.js";

export interface JobRoutesDeps extends Omit<SubmitDeps, "checkWebhookUrl"> {
  jobsCreated: Counter<"op">;
  resultUrlTtlS: number;
  /** IMAGEN_WEBHOOK_ALLOW_HTTP and IMAGEN_WEBHOOK_ALLOW_PRIVATE. */
  webhooks: Pick<WebhookUrlOptions, "allowHttp" | "allowPrivate">;
}

const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
const ErrorResponse = Type.Ref("Error");

/** The API key the request authenticated with; null when the API runs without keys. */
function ownerOf(request: FastifyRequest): string | null {
  return request.apiKey ?? null;
}

/** A multipart upload or the JSON naming a two-phase upload, as one submission. */
async function readSubmission(request: FastifyRequest): Promise<Submission> {
  if (!request.isMultipart() && request.headers["content-type"]?.startsWith("application/json")) {
    const body = parseJobFromUpload(request.body);
    return { op: body.op, options: body.options, webhook: body.webhook, input: { uploadId: body.input.uploadId } };
  }
  const upload = await readUpload(request);
  return { op: upload.op, options: upload.options, webhook: upload.webhook, input: { file: upload.file } };
}

/** `/v1/jobs`: submit, read, list, cancel, and download results. */
export async function jobRoutes(app: FastifyInstance, deps: JobRoutesDeps): Promise<void> {
  const checkWebhook = async (url: string) => void (await checkWebhookUrl(url, deps.webhooks));
  app.post(
    "/v1/jobs",
    {
      schema: {
        summary: "Submit an image and an operation",
        description:
          "Either multipart/form-data with `file` (the image), `op` and optional `options` (a JSON object " +
          "as a string), or JSON naming a two-phase upload (`POST /v1/uploads`). The image type is sniffed " +
          "from its bytes; animated images use their first frame.",
        body: {
          content: {
            "multipart/form-data": {
              schema: Type.Object({
                file: Type.String({ format: "binary" }),
                op: Type.Union(OP_NAMES.map((o) => Type.Literal(o))),
                options: Type.Optional(Type.String({ description: "JSON object of the op's options" })),
              }),
            },
            "application/json": { schema: JobFromUpload },
          },
        },
        headers: Type.Object({
          "idempotency-key": Type.Optional(
            Type.String({
              description: "Repeat a submission safely: the same key and request within 24 h return the same job",
            }),
          ),
        }),
        response: {
          200: JobView,
          202: JobView,
          400: ErrorResponse,
          409: ErrorResponse,
          413: ErrorResponse,
          415: ErrorResponse,
          422: ErrorResponse,
          429: ErrorResponse,
          503: ErrorResponse,
        },
      },
      // readUpload and parseJobFromUpload check the body; this schema only documents it.
      validatorCompiler: () => () => true,
    },
    async (request, reply) => {
      const caller = {
        owner: ownerOf(request),
        idempotencyKey: readIdempotencyKey(request.headers["idempotency-key"]),
      };
      const { job, replayed } = await submitJob(
        { ...deps, checkWebhookUrl: checkWebhook, log: request.log },
        await readSubmission(request),
        caller,
      );
      reply.header("location", jobPath(job.id));
      if (replayed) return reply.code(200).header("idempotent-replayed", "true").send(toJobView(job));
      deps.jobsCreated.inc({ op: job.op });
      return reply.code(202).send(toJobView(job));
    },
  );

  app.get(
    "/v1/jobs",
    {
      schema: {
        summary: "List jobs, newest first",
        querystring: Type.Object({
          status: Type.Optional(Type.Union(JOB_STATUSES.map((s) => Type.Literal(s)))),
          op: Type.Optional(Type.Union(OP_NAMES.map((o) => Type.Literal(o)))),
          limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
          cursor: Type.Optional(Type.String({ maxLength: 512 })),
        }),
        response: {
          200: Type.Object({ jobs: Type.Array(JobView), nextCursor: Type.Union([Type.String(), Type.Null()]) }),
          400: ErrorResponse,
        },
      },
    },
    async (request) => {
      const { status, op, limit, cursor } = request.query as {
        status?: Job["status"];
        op?: Job["op"];
        limit: number;
        cursor?: string;
      };
      const owner = ownerOf(request);
      const page = await deps.jobs.list({ status, op, ...(owner !== null && { owner }) }, { limit, cursor });
      return { jobs: page.jobs.map(toJobView), nextCursor: page.nextCursor };
    },
  );

  app.get(
    "/v1/jobs/:id",
    { schema: { summary: "Read a job", params: IdParams, response: { 200: JobView, 404: ErrorResponse } } },
    async (request) => toJobView(await getOwnedJob(deps.jobs, (request.params as { id: string }).id, ownerOf(request))),
  );

  app.delete(
    "/v1/jobs/:id",
    {
      schema: {
        summary: "Cancel a queued or running job",
        params: IdParams,
        response: { 200: JobView, 404: ErrorResponse, 409: ErrorResponse },
      },
    },
    async (request) => toJobView(await cancelJob(deps.jobs, (request.params as { id: string }).id, ownerOf(request))),
  );

  app.get(
    "/v1/jobs/:id/result",
    {
      schema: {
        summary: "Download the result image (or a redirect to a signed URL)",
        params: IdParams,
        response: { 404: ErrorResponse, 409: ErrorResponse },
      },
    },
    async (request, reply) => {
      const job = await getOwnedJob(deps.jobs, (request.params as { id: string }).id, ownerOf(request));
      const output = finishedOutput(job);
      const signed = await deps.blobs.url(output.key, { expiresInS: deps.resultUrlTtlS });
      if (signed) return reply.redirect(signed, 302);
      const body = await openResult(deps.blobs, output.key);
      return reply
        .type(`image/${output.format}`)
        .header("content-length", output.bytes)
        .header("content-disposition", `inline; filename="${job.id}.${output.format}"`)
        .send(body);
    },
  );
}

/** Cancels the job; its webhook, if any, becomes due at once, as when a worker ends a job. */
async function cancelJob(jobs: JobStore, id: string, owner: string | null): Promise<Job> {
  const job = await getOwnedJob(jobs, id, owner);
  const finishedAt = new Date().toISOString();
  const result = await jobs.update(id, ["queued", "running"], {
    status: "canceled",
    finishedAt,
    ...(job.webhook && { webhook: { ...job.webhook, nextAttemptAt: finishedAt } }),
  });
  if (result.ok) return result.job;
  const current = result.reason === "conflict" ? result.current : job;
  if (!canTransition(current.status, "canceled")) {
    throw new AppError("JOB_FINISHED", `Job ${id} already ended with status ${current.status}`);
  }
  throw new AppError("CONFLICT", `Job ${id} changed while it was being canceled; try again`);
}

function finishedOutput(job: Job): NonNullable<Job["output"]> {
  if (job.status === "succeeded" && job.output) return job.output;
  if (job.status === "failed" || job.status === "canceled") {
    throw new AppError("JOB_FAILED", `Job ${job.id} ended with status ${job.status} and has no result`);
  }
  throw new AppError("JOB_NOT_FINISHED", `Job ${job.id} is ${job.status}; poll ${jobPath(job.id)} until it succeeds`);
}

async function openResult(blobs: BlobStore, key: string) {
  const stream = await blobs.get(key);
  // The job says succeeded, so a missing blob is our fault, not the client's.
  if (!stream) throw new AppError("INTERNAL", `Result blob ${key} is missing`, { expose: false });
  return stream;
}
