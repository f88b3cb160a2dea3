import { configDefaults, defineConfig } from "vitest/config";
import shared from "../../vitest.shared.js";

/** Unit tests only: the emulator suites (`*.gcp.test.ts`) run with `npm run test:gcp`. */
export default defineConfig({
  ...shared,
  test: { ...shared.test, exclude: [...configDefaults.exclude, "src/**/*.gcp.test.ts"] },
});
