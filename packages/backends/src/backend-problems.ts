import type { Backend } from "@imagen/core";

/**
 * What keeps the backends from being ready, one line each. The three pings run at once and are
 * settled together: one failing fast while another is still pending is a problem to report, never
 * an unhandled rejection.
 */
export async function backendProblems(backend: Backend): Promise<string[]> {
  const names = ["job store", "queue", "blob store"] as const;
  const outcomes = await Promise.allSettled([backend.jobs.ping(), backend.queue.ping(), backend.blobs.ping()]);
  return outcomes.flatMap((outcome, i) =>
    outcome.status === "rejected"
      ? [
          `${names[i]} unreachable: ${outcome.reason instanceof Error ? outcome.reason.message : String(outcome.reason)}`,
        ]
      : [],
  );
}
