// @ts-check
import js from "@eslint/js";
import tseslint from "typescript-eslint";

const deepImports = {
  patterns: [{ group: ["@imagen/*/src/*", "@imagen/*/dist/*"], message: "Import a package through its exports map." }],
};

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
      "no-restricted-imports": ["error", deepImports],
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
  {
    files: ["packages/core/**"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          ...deepImports,
          paths: ["sharp", "onnxruntime-node", "better-sqlite3", "fastify"].map((name) => ({
            name,
            message: "core does no I/O.",
          })),
        },
      ],
    },
  },
  {
    files: ["apps/**", "packages/backend-*/**"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          ...deepImports,
          paths: ["sharp", "onnxruntime-node"].map((name) => ({
            name,
            message: "Only @imagen/imaging runs sharp and onnxruntime.",
          })),
        },
      ],
    },
  },
  { files: ["**/*.js", "**/*.mjs"], ...tseslint.configs.disableTypeChecked },
);
