import { defineConfig } from "vitest/config";

/** One vitest setup for every workspace: tests run on TypeScript sources, never on a prior build. */
export default defineConfig({
  resolve: { conditions: ["@imagen/source"] },
  ssr: { resolve: { conditions: ["@imagen/source"] } },
  test: {
    // onnxruntime-node tensors do not survive vmThreads isolation; forks run real processes.
    pool: "forks",
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    // Emulator suites run through each package's vitest.gcp.config.ts (npm run test:gcp).
    exclude: ["**/node_modules/**", "**/*.gcp.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
