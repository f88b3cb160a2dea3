import * as path from "node:path";
import { AppError, OUTPUT_FORMATS, type JobView, type OpName, type OutputFormat } from "@imagen/core";
import type { FileRunner } from "../file-runner.js";
import { remoteError, type ApiClient } from "./api-client.js";
import { followJob, type FollowOptions } from "./follow-job.js";

/**
 * Runs each file as a job on a running Imagen: submit, follow its events (or poll), download the
 * result. `options` are sent as the user gave them, so the API applies its own defaults. A file
 * canceled here (Ctrl-C) is canceled on the API too.
 */
export function createRemoteRunner(
  client: ApiClient,
  op: OpName,
  options: Record<string, unknown>,
  follow: Pick<FollowOptions, "pollIntervalMs"> = {},
): FileRunner {
  return {
    async run(input, file, ctx) {
      const submitted = await client.submit(op, options, input, path.basename(file.path));
      let job: JobView;
      try {
        job = await followJob(client, submitted.id, { ...follow, signal: ctx.signal, onProgress: ctx.onProgress });
      } catch (err) {
        if (ctx.signal.aborted) await client.cancel(submitted.id).catch(() => undefined);
        throw err;
      }
      if (job.status !== "succeeded" || !job.output) {
        throw job.error
          ? remoteError(job.error.code, job.error.message)
          : new AppError("PROCESSING_FAILED", `Job ${job.id} ended ${job.status}`, { expose: true });
      }
      const data = await client.download(job.output.url, ctx.signal);
      return {
        input: job.input,
        output: {
          width: job.output.width,
          height: job.output.height,
          format: outputFormat(job.output.format),
          bytes: data.length,
        },
        data,
      };
    },
    close: async () => {},
  };
}

function outputFormat(format: string): OutputFormat {
  const known = OUTPUT_FORMATS.find((f) => f === format);
  if (!known)
    throw new AppError("INTERNAL", `Expected a result format of ${OUTPUT_FORMATS.join(", ")} but received ${format}`);
  return known;
}
