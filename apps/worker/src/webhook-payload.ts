import { toJobView, type Job } from "@imagen/core";

/** The one event a job's webhook carries. */
export const JOB_FINISHED_EVENT = "job.finished";

/** `webhook-id`: one per job and event, the same on every retry, so that receivers can drop duplicates. */
export function webhookEventId(job: Pick<Job, "id">): string {
  return `${job.id}:finished`;
}

/**
 * The signed body, in the Standard Webhooks envelope `{ type, timestamp, data }`. `data` is the job
 * as the API shows it (GET /v1/jobs/:id): the result's URL instead of its blob key, and neither its
 * owner, idempotency key nor webhook state.
 */
export function webhookBody(job: Job): string {
  return JSON.stringify({
    type: JOB_FINISHED_EVENT,
    timestamp: job.finishedAt ?? job.updatedAt,
    data: payloadView(job),
  });
}

/** The job's view without what only its owner's other requests need, or what the delivery is still changing. */
function payloadView(job: Job) {
  const { owner, webhook, ...view } = toJobView(job);
  return view;
}
