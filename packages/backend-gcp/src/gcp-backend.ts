import { composeBackend, type Backend, type Logger, type QueueConfig } from "@imagen/core";
import { createFirestoreJobStore } from "./firestore-job-store.js";
import { createGcsBlobStore, type ServiceAccountKey } from "./gcs-blob-store.js";
import { createPubSubJobQueue } from "./pubsub-job-queue.js";

/** Emulator endpoints; each unset one means the real service. */
export interface GcpEmulators {
  /** `host:port` of the Pub/Sub emulator. */
  pubsub?: string | undefined;
  /** `host:port` of the Firestore emulator. */
  firestore?: string | undefined;
  /** Base URL of a Cloud Storage emulator, e.g. `http://127.0.0.1:4443`. */
  storage?: string | undefined;
}

export interface GcpBackendOptions {
  projectId: string;
  /** The bucket inputs and outputs live in, under `inputs/` and `outputs/`. */
  bucket: string;
  topicPrefix: string;
  subscriptionPrefix?: string | undefined;
  /** The Firestore collection of jobs (default `jobs`). */
  firestoreCollection?: string | undefined;
  firestoreDatabaseId?: string | undefined;
  /** Days a job is kept after its creation (Firestore TTL on `expireAt`); unset: forever. */
  jobTtlDays?: number | undefined;
  queue: QueueConfig;
  /** The longest a job may run; its message lease is extended until then (default 1 h). */
  maxJobMs?: number | undefined;
  resumableThresholdBytes?: number | undefined;
  /** Signs result URLs; unset: Application Default Credentials (IAM signBlob under Workload Identity). */
  credentials?: ServiceAccountKey | undefined;
  /** Creates topics, subscriptions and the bucket when missing: for emulators and development only. */
  createResources?: boolean | undefined;
  emulators?: GcpEmulators | undefined;
  log?: Logger | undefined;
}

export type GcpBackend = Backend;

/**
 * The three ports on Google Cloud: jobs in Firestore, messages in Pub/Sub, blobs in Cloud Storage.
 * Every process of one deployment (API, workers) opens the same names and sees the same data.
 */
export function createGcpBackend(options: GcpBackendOptions): GcpBackend {
  const emulators = options.emulators ?? {};
  const jobs = createFirestoreJobStore({
    projectId: options.projectId,
    collection: options.firestoreCollection,
    databaseId: options.firestoreDatabaseId,
    ttlDays: options.jobTtlDays,
    emulatorHost: emulators.firestore,
  });
  const queue = createPubSubJobQueue({
    ...options.queue,
    projectId: options.projectId,
    topicPrefix: options.topicPrefix,
    subscriptionPrefix: options.subscriptionPrefix,
    maxExtensionMs: options.maxJobMs,
    createResources: options.createResources,
    emulatorHost: emulators.pubsub,
    log: options.log,
  });
  const blobs = createGcsBlobStore({
    projectId: options.projectId,
    bucket: options.bucket,
    apiEndpoint: emulators.storage,
    resumableThresholdBytes: options.resumableThresholdBytes,
    credentials: options.credentials,
    createBucket: options.createResources,
  });
  return composeBackend({ jobs, queue, blobs });
}
