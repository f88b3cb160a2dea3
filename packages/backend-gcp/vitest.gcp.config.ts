import { defineConfig } from "vitest/config";
import shared from "../../vitest.shared.js";

/**
 * The emulator suites: test/emulators.ts starts the Pub/Sub and Firestore emulators and
 * fake-gcs-server once for the run. The files mostly wait on Pub/Sub's 10 s leases rather than on a
 * CPU, so they run side by side even on two cores.
 */
export default defineConfig({
  ...shared,
  test: {
    ...shared.test,
    include: ["src/**/*.gcp.test.ts"],
    exclude: ["**/node_modules/**"],
    globalSetup: ["./test/emulators.ts"],
    env: { METADATA_SERVER_DETECTION: "none" },
    maxWorkers: 4,
    testTimeout: 120_000,
  },
});
