import { EnvReader } from "@imagen/core";
import { describe, expect, it } from "vitest";
import { readBackendConfig } from "./backend-config.js";

function read(env: Record<string, string>) {
  const reader = new EnvReader(env);
  const config = readBackendConfig(reader, "/srv");
  reader.done();
  return config;
}

describe("readBackendConfig", () => {
  it("defaults to the local backend in ./.imagen", () => {
    expect(read({})).toMatchObject({ kind: "local", dataDir: "/srv/.imagen", queue: { maxAttempts: 5 } });
  });

  it("reads the Google Cloud settings, with defaults for the names", () => {
    expect(read({ IMAGEN_BACKEND: "gcp", GCP_PROJECT_ID: "p", GCS_BUCKET: "b" })).toEqual({
      kind: "gcp",
      queue: expect.objectContaining({ leaseMs: 60_000 }) as unknown,
      gcp: {
        projectId: "p",
        bucket: "b",
        topicPrefix: "imagen",
        firestoreDatabaseId: "(default)",
        firestoreCollection: "jobs",
        jobTtlDays: 7,
        createResources: false,
        maxJobMs: 3_600_000,
        signingKeyFile: undefined,
        emulators: { pubsub: undefined, firestore: undefined, storage: undefined },
      },
    });
  });

  it("requires the project and bucket for gcp, by name", () => {
    expect(() => read({ IMAGEN_BACKEND: "gcp" })).toThrow(/GCP_PROJECT_ID: required[\s\S]*GCS_BUCKET: required/);
  });

  it("refuses queue settings Pub/Sub cannot honour", () => {
    const env = { IMAGEN_BACKEND: "gcp", GCP_PROJECT_ID: "p", GCS_BUCKET: "b" };
    expect(() => read({ ...env, QUEUE_LEASE_MS: "5000" })).toThrow(/QUEUE_LEASE_MS/);
    expect(() => read({ ...env, QUEUE_BACKOFF_MAX_MS: "900000" })).toThrow(/QUEUE_BACKOFF/);
    expect(read({ QUEUE_LEASE_MS: "5000" }).queue.leaseMs).toBe(5000);
  });
});
