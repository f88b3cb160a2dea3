import type { JobView } from "@imagen/core";
import type { CommandContext } from "../context.js";
import { requireApi } from "../context.js";
import { EXIT_CODES } from "../exit-codes.js";
import { formatBytes, formatPixels } from "../output/format.js";
import { renderTable } from "../output/table.js";

export interface ListJobsFlags {
  status?: string;
  op?: string;
  limit?: number;
  cursor?: string;
}

/** `imagen jobs ls`: the API's jobs (the key's own, where keys are on), newest first. */
export async function listJobs(ctx: CommandContext, flags: ListJobsFlags): Promise<number> {
  const page = await requireApi(ctx, "jobs ls").list(flags);
  if (ctx.json) {
    ctx.stdout.write(`${JSON.stringify(page, null, 2)}\n`);
    return EXIT_CODES.ok;
  }
  const rows = page.jobs.map((j) => [
    j.id,
    j.op,
    j.status,
    `${Math.round(j.progress * 100)}%`,
    j.createdAt,
    j.error?.code ?? "",
  ]);
  const lines = renderTable(["ID", "OP", "STATUS", "PROGRESS", "CREATED", "ERROR"], rows);
  if (page.jobs.length === 0) lines.push("(no jobs)");
  if (page.nextCursor !== null) lines.push("", `more: imagen jobs ls --cursor ${page.nextCursor}`);
  ctx.stdout.write(`${lines.join("\n")}\n`);
  return EXIT_CODES.ok;
}

/** `imagen jobs get <id>`. */
export async function getJob(ctx: CommandContext, id: string): Promise<number> {
  const client = requireApi(ctx, "jobs get");
  writeJob(ctx, await client.job(id), client.baseUrl);
  return EXIT_CODES.ok;
}

/** `imagen jobs cancel <id>`: cancels a queued or running job; a finished one is JOB_FINISHED (exit 1). */
export async function cancelJob(ctx: CommandContext, id: string): Promise<number> {
  const client = requireApi(ctx, "jobs cancel");
  writeJob(ctx, await client.cancel(id), client.baseUrl);
  return EXIT_CODES.ok;
}

function writeJob(ctx: CommandContext, job: JobView, baseUrl: string): void {
  if (ctx.json) {
    ctx.stdout.write(`${JSON.stringify(job, null, 2)}\n`);
    return;
  }
  const fields: [string, string][] = [
    ["id", job.id],
    ["op", job.op],
    ["status", job.status],
    ["progress", `${Math.round(job.progress * 100)}%`],
    ["options", JSON.stringify(job.options)],
    ["input", `${formatPixels(job.input)} ${job.input.format}, ${formatBytes(job.input.bytes)}`],
    ["attempts", String(job.attempts)],
    ["created", job.createdAt],
  ];
  if (job.finishedAt) fields.push(["finished", job.finishedAt]);
  if (job.output) {
    fields.push(["output", `${formatPixels(job.output)} ${job.output.format}, ${formatBytes(job.output.bytes)}`]);
    fields.push(["result", new URL(job.output.url.replace(/^\//, ""), baseUrl).href]);
  }
  if (job.error) fields.push(["error", `${job.error.code} ${job.error.message}`]);
  ctx.stdout.write(
    `${renderTable(
      ["", ""],
      fields.map(([k, v]) => [`${k}:`, v]),
    )
      .slice(1)
      .join("\n")}\n`,
  );
}
