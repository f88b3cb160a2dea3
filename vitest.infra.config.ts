import { defineConfig, mergeConfig } from "vitest/config";
import shared from "./vitest.shared.ts";

/** The deployment files' consistency tests (test/infra), run by `npm run test:infra`. */
export default mergeConfig(
  shared,
  defineConfig({
    test: { include: ["test/infra/**/*.test.ts"] },
  }),
);
