import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { startEmulator, freePort, type EmulatorProcess } from "./emulator-process.js";
import { fakeGcsServerBinary } from "./fake-gcs-server.js";

/** What the emulator tests connect to; read with `inject("gcpEmulators")`. */
export interface GcpEmulatorEndpoints {
  projectId: string;
  /** `host:port` */
  pubsub: string;
  /** `host:port` */
  firestore: string;
  /** Base URL, `http://host:port` */
  storage: string;
}

declare module "vitest" {
  export interface ProvidedContext {
    gcpEmulators: GcpEmulatorEndpoints;
  }
}

const PROJECT_ID = "imagen-test";
/** The JVM emulators take a few seconds; a cold machine with two cores may need much longer. */
const START_TIMEOUT_MS = 120_000;
const GCLOUD_HINT =
  "These need the Google Cloud CLI on PATH with its pubsub-emulator and cloud-firestore-emulator components, and Java 17+.";

/**
 * vitest globalSetup: starts the Pub/Sub and Firestore emulators (gcloud, Java) and fake-gcs-server
 * on free ports, each with its own process group, and stops them by pid after the run. gcloud gets
 * a fresh `CLOUDSDK_CONFIG` in the temp dir so no other gcloud configuration is read or written.
 * Any emulator that cannot start fails the whole run with its log's tail.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const workDir = await mkdtemp(join(tmpdir(), "imagen-gcp-emulators-"));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CLOUDSDK_CONFIG: join(workDir, "gcloud"),
    CLOUDSDK_CORE_DISABLE_PROMPTS: "1",
    METADATA_SERVER_DETECTION: "none",
  };
  const running: EmulatorProcess[] = [];
  const teardown = async () => {
    await Promise.allSettled(running.map((emulator) => emulator.stop()));
    await rm(workDir, { recursive: true, force: true });
  };
  try {
    const [pubsubPort, firestorePort, storagePort] = await Promise.all([freePort(), freePort(), freePort()]);
    const gcloud = (name: string, args: string[], port: number) =>
      startEmulator({
        name,
        command: "gcloud",
        args,
        env,
        logFile: join(workDir, `${name}.log`),
        readyUrl: `http://127.0.0.1:${port}/`,
        timeoutMs: START_TIMEOUT_MS,
        hint: GCLOUD_HINT,
      }).then((emulator) => void running.push(emulator));
    const storage = async () => {
      const binary = await fakeGcsServerBinary();
      const emulator = await startEmulator({
        name: "fake-gcs-server",
        command: binary,
        args: ["-scheme", "http", "-host", "127.0.0.1", "-port", String(storagePort)].concat([
          "-public-host",
          `127.0.0.1:${storagePort}`,
          "-backend",
          "memory",
          "-log-level",
          "warn",
        ]),
        env,
        logFile: join(workDir, "fake-gcs-server.log"),
        readyUrl: `http://127.0.0.1:${storagePort}/storage/v1/b`,
        timeoutMs: START_TIMEOUT_MS,
        hint: "fake-gcs-server was built with 'go install'; delete its cache directory to rebuild it.",
      });
      running.push(emulator);
    };
    // Every start settles before a failure is reported, so teardown never races a starting process.
    const started = await Promise.allSettled([
      gcloud("pubsub", pubsubArgs(pubsubPort), pubsubPort),
      gcloud("firestore", ["emulators", "firestore", "start", `--host-port=127.0.0.1:${firestorePort}`], firestorePort),
      storage(),
    ]);
    const failures = started.flatMap((result) => (result.status === "rejected" ? [result.reason as unknown] : []));
    if (failures.length > 0)
      throw failures.length === 1 ? failures[0] : new AggregateError(failures, failuresText(failures));
    project.provide("gcpEmulators", {
      projectId: PROJECT_ID,
      pubsub: `127.0.0.1:${pubsubPort}`,
      firestore: `127.0.0.1:${firestorePort}`,
      storage: `http://127.0.0.1:${storagePort}`,
    });
  } catch (err) {
    await teardown();
    throw err;
  }
  return teardown;
}

function pubsubArgs(port: number): string[] {
  return ["beta", "emulators", "pubsub", "start", `--host-port=127.0.0.1:${port}`, `--project=${PROJECT_ID}`];
}

function failuresText(failures: unknown[]): string {
  return failures.map((failure) => (failure instanceof Error ? failure.message : String(failure))).join("\n\n");
}
