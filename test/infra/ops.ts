/**
 * The one place that maps each op to its worker Deployment; every infra file is checked against it.
 * Pub/Sub names follow the GCP adapter's scheme with the default PUBSUB_TOPIC_PREFIX.
 */
export const DEPLOYMENTS = {
  upscale: "upscale-worker",
  enhance: "enhance-worker",
  comic: "comic-worker",
  "background-removal": "background-remove-worker",
} as const;

export type Op = keyof typeof DEPLOYMENTS;
export const OPS = Object.keys(DEPLOYMENTS) as Op[];

export const TOPIC_PREFIX = "imagen";
export const NAMESPACE = "imagen";
export const WORKER_KSA = "imagen-worker";
export const API_PORT = 8080;
export const WORKER_PORT = 8081;

export interface PubSubNames {
  topic: string;
  subscription: string;
  deadLetterTopic: string;
  deadLetterSubscription: string;
}

export function pubSubNames(op: Op, prefix = TOPIC_PREFIX): PubSubNames {
  return {
    topic: `${prefix}-${op}`,
    subscription: `${prefix}-${op}-worker`,
    deadLetterTopic: `${prefix}-${op}-dead-letter`,
    deadLetterSubscription: `${prefix}-${op}-dead-letter-sub`,
  };
}

/** Emulator endpoints, set only in docker-compose.yml. */
export const EMULATOR_VARIABLES = ["PUBSUB_EMULATOR_HOST", "FIRESTORE_EMULATOR_HOST", "GCS_API_ENDPOINT"];
