import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";
import shared from "../../vitest.shared.js";

/** The end-to-end run on the emulated Google Cloud stack; the emulators come from backend-gcp's setup. */
export default defineConfig({
  ...shared,
  test: {
    ...shared.test,
    include: ["test/**/*.gcp.test.ts"],
    exclude: ["**/node_modules/**"],
    globalSetup: [fileURLToPath(new URL("../../packages/backend-gcp/test/emulators.ts", import.meta.url))],
    env: { METADATA_SERVER_DETECTION: "none" },
    testTimeout: 180_000,
  },
});
