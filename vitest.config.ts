import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["**/*.test.ts"],
    // examples/*/tests/ are the example apps' own tests, run by `ncw test` (test/examples-tests.test.ts).
    exclude: ["node_modules/**", "dist/**", "examples/**"],
    pool: "forks",
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
