import type { EnvReader, QueueConfig } from "@imagen/core";

/** The Google Cloud backend's settings, read from the environment once at start-up. */
export interface GcpConfig {
  projectId: string;
  bucket: string;
  /** Topics are `<prefix>-<op>`, subscriptions `<prefix>-<op>-worker`, dead letters `<prefix>-<op>-dead-letter`. */
  topicPrefix: string;
  firestoreDatabaseId: string;
  firestoreCollection: string;
  /** Jobs carry `expireAt` = creation + this many days, for a Firestore TTL policy. */
  jobTtlDays: number;
  /** Create topics, subscriptions and the bucket at start-up (emulators, development); Terraform does it in production. */
  createResources: boolean;
  /** The longest a job may run: its message lease is extended until then. */
  maxJobMs: number;
  /**
   * A service-account JSON key that signs result and upload URLs; unset, the client signs through
   * the IAM signBlob API (Workload Identity).
   */
  signingKeyFile: string | undefined;
  /** Emulator endpoints for tests and development; unset means the real service. */
  emulators: { pubsub: string | undefined; firestore: string | undefined; storage: string | undefined };
}

/** Reads the `IMAGEN_BACKEND=gcp` settings, and refuses queue settings Pub/Sub cannot honour. */
export function readGcpConfig(env: EnvReader, queue: QueueConfig): GcpConfig {
  checkPubSubLimits(env, queue);
  const required = (name: string): string => {
    const value = env.optionalString(name);
    if (value === undefined) env.problem(`${name}: required when IMAGEN_BACKEND=gcp`);
    return value ?? "";
  };
  return {
    projectId: required("GCP_PROJECT_ID"),
    bucket: required("GCS_BUCKET"),
    topicPrefix: env.string("PUBSUB_TOPIC_PREFIX", "imagen"),
    firestoreDatabaseId: env.string("FIRESTORE_DATABASE_ID", "(default)"),
    firestoreCollection: env.string("FIRESTORE_COLLECTION", "jobs"),
    jobTtlDays: env.int("JOB_TTL_DAYS", 7, { min: 1, max: 3650 }),
    // Off by default: in production the resources exist (Terraform) and the service account may not create them.
    createResources: env.bool("IMAGEN_GCP_CREATE_RESOURCES", false),
    maxJobMs: env.int("JOB_MAX_MS", 3_600_000, { min: 1_000 }),
    signingKeyFile: env.optionalString("GCS_SIGNING_KEY_FILE"),
    emulators: {
      // The names the Google Cloud client libraries themselves read.
      pubsub: env.optionalString("PUBSUB_EMULATOR_HOST"),
      firestore: env.optionalString("FIRESTORE_EMULATOR_HOST"),
      storage: env.optionalString("GCS_API_ENDPOINT"),
    },
  };
}

/** Pub/Sub's own bounds on the queue settings, named by variable. */
function checkPubSubLimits(env: EnvReader, queue: QueueConfig): void {
  const checks: [boolean, string][] = [
    [queue.leaseMs >= 10_000 && queue.leaseMs <= 600_000, "QUEUE_LEASE_MS: Pub/Sub ack deadlines are 10000..600000 ms"],
    [
      queue.backoffBaseMs <= 600_000 && queue.backoffMaxMs <= 600_000,
      "QUEUE_BACKOFF_*_MS: Pub/Sub backoff is at most 600000 ms",
    ],
  ];
  for (const [ok, message] of checks) if (!ok) env.problem(`${message} (IMAGEN_BACKEND=gcp)`);
}
