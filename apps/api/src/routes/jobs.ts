import {
  AppError,
  canTransition,
  isFinished,
  JOB_STATUSES,
  jobPath,
  OP_NAMES,
  toJobView,
  type BlobStore,
  type Job,
  type JobStore,
} from "@imagen/core";
import { Type } from "@sinclair/typebox";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { checkWebhookUrl, type WebhookUrlOptions } from "@imagen/webhooks";
import type { Counter, Gauge } from "prom-client";
import { errorResponse, imageContent, response } from "../api-schemas.js";
import { readIdempotencyKey } from "../idempotency.js";
import { getOwnedJob } from "../job-access.js";
import type { JobWatcher } from "../job-watch.js";
import { readPreferWait, waitAsPreferred } from "../prefer-wait.js";
import { clientBucket } from "../rate-limit.js";
import { readUpload } from "../read-upload.js";
import { parseJobFromUpload } from "../staged-upload.js";
import { submitJob, type Submission, type SubmitDeps } from "../submit-job.js";
import { SUBMIT_SCHEMA } from "./submit-schema.js";
import type { WatchSlots } from "../watch-slots.js";

export interface JobRoutesDeps extends Omit<SubmitDeps, "checkWebhookUrl"> {
  jobsCreated: Counter<"op">;
  watchesOpen: Gauge<"kind">;
  resultUrlTtlS: number;
  /** IMAGEN_WEBHOOK_ALLOW_HTTP and IMAGEN_WEBHOOK_ALLOW_PRIVATE. */
  webhooks: Pick<WebhookUrlOptions, "allowHttp" | "allowPrivate">;
  watcher: JobWatcher;
  slots: WatchSlots;
}

const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
const RESULT_TYPES = ["image/png", "image/jpeg", "image/webp", "image/avif"] as const;

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
  // A form sends the fields it has even when empty: an empty options or webhook is none.
  return {
    op: upload.op,
    options: upload.options || undefined,
    webhook: upload.webhook || undefined,
    input: { file: upload.file },
  };
}

/** Aborts when the client closes the connection before its answer is sent. */
function clientGone(reply: FastifyReply): { signal: AbortSignal; dispose: () => void } {
  const gone = new AbortController();
  const onClose = () => gone.abort();
  reply.raw.once("close", onClose);
  return { signal: gone.signal, dispose: () => reply.raw.off("close", onClose) };
}

/** `/v1/jobs`: submit, read, list, cancel, and download results. */
export async function jobRoutes(app: FastifyInstance, deps: JobRoutesDeps): Promise<void> {
  const checkWebhook = async (url: string) => void (await checkWebhookUrl(url, deps.webhooks));
  const waitDeps = {
    watcher: deps.watcher,
    slots: deps.slots,
    onStart: () => deps.watchesOpen.inc({ kind: "wait" }),
    onStop: () => deps.watchesOpen.dec({ kind: "wait" }),
  };

  app.post(
    "/v1/jobs",
    {
      schema: SUBMIT_SCHEMA,
      // readUpload and parseJobFromUpload check the body; this schema only documents it.
      validatorCompiler: () => () => true,
    },
    async (request, reply) => {
      const caller = {
        owner: ownerOf(request),
        idempotencyKey: readIdempotencyKey(request.headers["idempotency-key"]),
      };
      const waitS = readPreferWait(request.headers.prefer);
      const submitted = await submitJob(
        { ...deps, checkWebhookUrl: checkWebhook, log: request.log },
        await readSubmission(request),
        caller,
      );
      if (!submitted.replayed) deps.jobsCreated.inc({ op: submitted.job.op });
      let job = submitted.job;
      if (waitS !== undefined) {
        const gone = clientGone(reply);
        job = await waitAsPreferred(
          job,
          { waitS, bucket: clientBucket(request), signal: gone.signal },
          { ...waitDeps, log: request.log },
        ).finally(gone.dispose);
      }
      reply.header("location", jobPath(job.id));
      if (waitS !== undefined && isFinished(job.status)) reply.header("preference-applied", `wait=${waitS}`);
      if (submitted.replayed) return reply.code(200).header("idempotent-replayed", "true").send(toJobView(job));
      return reply.code(isFinished(job.status) && waitS !== undefined ? 200 : 202).send(toJobView(job));
    },
  );

  app.get(
    "/v1/jobs",
    {
      schema: {
        operationId: "listJobs",
        summary: "List jobs, newest first",
        querystring: Type.Object({
          status: Type.Optional(Type.Union(JOB_STATUSES.map((s) => Type.Literal(s)))),
          op: Type.Optional(Type.Union(OP_NAMES.map((o) => Type.Literal(o)))),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
          cursor: Type.Optional(Type.String({ maxLength: 512 })),
        }),
        response: {
          200: response("JobList", "One page of the key's jobs"),
          400: errorResponse("A query parameter or the cursor is not valid (VALIDATION_FAILED, INVALID_CURSOR)"),
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
    {
      schema: {
        operationId: "getJob",
        summary: "Read a job",
        params: IdParams,
        response: {
          200: response("Job", "The job"),
          404: errorResponse("No such job for this key (JOB_NOT_FOUND)"),
        },
      },
    },
    async (request) => toJobView(await getOwnedJob(deps.jobs, (request.params as { id: string }).id, ownerOf(request))),
  );

  app.delete(
    "/v1/jobs/:id",
    {
      schema: {
        operationId: "cancelJob",
        summary: "Cancel a queued or running job",
        params: IdParams,
        response: {
          200: response("Job", "The job, canceled"),
          404: errorResponse("No such job for this key (JOB_NOT_FOUND)"),
          409: errorResponse("The job already ended (JOB_FINISHED), or changed meanwhile (CONFLICT)"),
        },
      },
    },
    async (request) => toJobView(await cancelJob(deps.jobs, (request.params as { id: string }).id, ownerOf(request))),
  );

  app.get(
    "/v1/jobs/:id/result",
    {
      schema: {
        operationId: "getJobResult",
        summary: "Download the result image (or a redirect to a signed URL)",
        params: IdParams,
        response: {
          200: {
            description: "The result image, in the job's output format",
            headers: {
              "content-disposition": { type: "string", description: 'inline; filename="<id>.<format>"' },
            },
            content: imageContent(RESULT_TYPES),
          },
          302: {
            type: "null",
            description: "The result is in a store that signs URLs: follow Location (no API key needed there)",
            headers: { location: { type: "string", description: "A signed URL of the result, valid for a while" } },
          },
          404: errorResponse("No such job for this key (JOB_NOT_FOUND)"),
          409: errorResponse("The job has not succeeded (JOB_NOT_FINISHED) or ended without a result (JOB_FAILED)"),
        },
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
