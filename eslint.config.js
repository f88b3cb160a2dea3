// @ts-check
import js from "@eslint/js";
import tseslint from "typescript-eslint";

const DEEP_IMPORTS = {
  group: ["@imagen/*/src/*", "@imagen/*/dist/*"],
  message: "Import a package through its exports map.",
};
const APPS = {
  group: ["@imagen/api", "@imagen/api/*", "@imagen/worker", "@imagen/worker/*", "@imagen/cli", "@imagen/cli/*"],
  message: "Packages never import apps.",
};
const ONLY_IMAGING_RUNS_MODELS = ["sharp", "onnxruntime-node"].map((name) => ({
  name,
  message: "Only @imagen/imaging runs onnxruntime; sharp is for it and @imagen/catalogue (headers).",
}));
const NO_MODEL = "Runs no model: never imports onnxruntime or @imagen/imaging.";

/** `no-restricted-imports` options: deep imports are always refused; a later block replaces, not merges, them. */
function restrict({ paths = [], patterns = [] } = {}) {
  return ["error", { paths, patterns: [DEEP_IMPORTS, ...patterns] }];
}

export default tseslint.config(
  {
    ignores: [
      "**/dist/**",
      "**/node_modules/**",
      "**/.turbo/**",
      "**/*.config.ts",
      "vitest.shared.ts",
      "apps/api/public/**",
      "**/.scratch/**",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/switch-exhaustiveness-check": "error",
      "@typescript-eslint/consistent-type-imports": "error",
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/require-await": "off",
      // `const { dropped, ...kept } = value` is how a field is left out of a copy.
      "@typescript-eslint/no-unused-vars": ["error", { ignoreRestSiblings: true }],
      "no-restricted-imports": restrict(),
      "no-restricted-properties": [
        "error",
        { object: "process", property: "env", message: "Read configuration in src/config.ts and pass it down." },
      ],
    },
  },
  {
    // Only the entry points and the test tooling may read the environment.
    files: ["apps/*/src/main.ts", "**/*.test.ts", "**/test/**", "packages/testing/**", "scripts/**"],
    rules: { "no-restricted-properties": "off" },
  },
  // The import direction: apps → packages → core (each later block replaces the rule for its files).
  {
    files: ["packages/**"],
    rules: { "no-restricted-imports": restrict({ patterns: [APPS] }) },
  },
  {
    // What the API carries: it never loads onnxruntime, nor the package that runs the models.
    files: ["packages/catalogue/**"],
    rules: {
      "no-restricted-imports": restrict({
        paths: [{ name: "onnxruntime-node", message: NO_MODEL }],
        patterns: [APPS, { group: ["@imagen/imaging", "@imagen/imaging/*"], message: NO_MODEL }],
      }),
    },
  },
  {
    files: ["packages/backend-*/**", "packages/backends/**"],
    rules: { "no-restricted-imports": restrict({ paths: ONLY_IMAGING_RUNS_MODELS, patterns: [APPS] }) },
  },
  {
    // Core imports none of ours and does no I/O.
    files: ["packages/core/**"],
    rules: {
      "no-restricted-imports": restrict({
        paths: ["sharp", "onnxruntime-node", "better-sqlite3", "fastify"].map((name) => ({
          name,
          message: "core does no I/O.",
        })),
        patterns: [{ group: ["@imagen/*"], message: "core imports no other package of this repo." }],
      }),
    },
  },
  {
    files: ["apps/worker/**"],
    rules: {
      "no-restricted-imports": restrict({
        paths: ONLY_IMAGING_RUNS_MODELS,
        patterns: [
          {
            group: ["@imagen/api", "@imagen/api/*", "@imagen/cli", "@imagen/cli/*"],
            message: "Apps do not import each other.",
          },
        ],
      }),
    },
  },
  {
    // The CLI runs the same pipelines as the worker, in its own process; it imports neither app.
    files: ["apps/cli/**"],
    rules: {
      "no-restricted-imports": restrict({
        paths: ONLY_IMAGING_RUNS_MODELS,
        patterns: [
          {
            group: ["@imagen/api", "@imagen/api/*", "@imagen/worker", "@imagen/worker/*"],
            message: "Apps do not import each other.",
          },
        ],
      }),
    },
  },
  {
    // The API runs no model and carries no worker: `npm start` runs the worker as a child process.
    files: ["apps/api/**"],
    rules: {
      "no-restricted-imports": restrict({
        paths: [
          ...ONLY_IMAGING_RUNS_MODELS,
          { name: "@imagen/imaging", message: "The API runs no model: import @imagen/catalogue." },
        ],
        patterns: [{ group: ["@imagen/worker", "@imagen/worker/*"], message: "The API does not carry the worker." }],
      }),
    },
  },
  {
    // The submission load bench makes its upload with sharp; it is not the API.
    files: ["apps/api/bench/**"],
    rules: {
      "no-restricted-imports": restrict({ paths: [{ name: "onnxruntime-node", message: NO_MODEL }] }),
    },
  },
  { files: ["**/*.js", "**/*.mjs"], ...tseslint.configs.disableTypeChecked },
);
