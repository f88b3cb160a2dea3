import { describeJobQueueContract, queueInstancesFixture } from "@imagen/testing/contracts";
import { emulators, uniqueName } from "../test/gcp-test-kit.js";
import { createPubSubJobQueue } from "./pubsub-job-queue.js";

/*
 * The JobQueue contract against the Pub/Sub emulator (gcloud beta emulators pubsub, 0.8.20).
 *
 * Timing: an ack deadline cannot be shorter than 10 s, so `leaseMs` is 10 s and every "nothing else
 * happens" window of the suite (two leases plus two backoffs) lasts 22 s; this file takes about four
 * minutes, most of it waiting (the long-handler test alone holds a message for 40 s). `maxAttempts`
 * 3 is below the 5 that Pub/Sub's dead-letter policy allows: the adapter dead-letters by itself at
 * `maxAttempts`, and the policy (5) is the backstop (pubsub-wiring.gcp.test.ts shows it forwarding).
 *
 * Emulator limits, documented rather than worked around:
 * - Retry policy timing: the emulator redelivers a nacked message after its own delays (about 0.1 s,
 *   then 2-5 s) whatever minimumBackoff says, and forwards to the dead-letter topic a few seconds
 *   after the last allowed delivery; real backoff timing is not shown here, only the settings.
 * - deliveryAttempt is filled in only on subscriptions with a dead-letter policy (0 otherwise); the
 *   adapter always sets one when it creates subscriptions, and treats 0 as attempt 1.
 * - Ordering keys and exactly-once delivery are not used and not exercised: Pub/Sub may dead-letter
 *   an ordered message and go on with the next one out of order, and exactly-once holds only within
 *   one region.
 * - IAM is not emulated: the Pub/Sub service agent's publisher role on the dead-letter topic and
 *   subscriber role on the subscription, which real dead-lettering needs, are Terraform's job.
 * - A dead consumer is simulated by dropping the client without nacking (`abandon`); the emulator
 *   then redelivers after the 10 s deadline, as the service does.
 */

const TIMING = { leaseMs: 10_000, maxAttempts: 3, backoffBaseMs: 1_000, waitMs: 20_000 };

describeJobQueueContract(
  "PubSubJobQueue",
  async (options) => {
    const topicPrefix = uniqueName("q");
    const open = () =>
      createPubSubJobQueue({
        projectId: emulators().projectId,
        emulatorHost: emulators().pubsub,
        topicPrefix,
        ...options,
        backoffMaxMs: 10_000,
        createResources: true,
      });
    return queueInstancesFixture(open);
  },
  TIMING,
);
