export { createFirestoreJobStore, type FirestoreJobStoreOptions } from "./firestore-job-store.js";
export { createGcsBlobStore, type GcsBlobStoreOptions, type ServiceAccountKey } from "./gcs-blob-store.js";
export { createPubSubJobQueue, type PubSubJobQueue, type PubSubJobQueueOptions } from "./pubsub-job-queue.js";
export { pubSubNames, subscriptionSettings, type PubSubNames, type SubscriptionSettings } from "./pubsub-settings.js";
export { parseServiceAccountKey } from "./service-account-key.js";
export { createGcsModelSource, type GcsModelSourceOptions } from "./gcs-model-source.js";
export { createGcpBackend, type GcpBackend, type GcpBackendOptions, type GcpEmulators } from "./gcp-backend.js";
export { readGcpConfig, type GcpConfig } from "./gcp-config.js";
