import { defineConfig } from "vitest/config";

// End-to-end tests: the built Worker (build/index.js + wasm) inside workerd, through Miniflare.
export default defineConfig({
  test: {
    include: ["tests/e2e/**/*.test.mjs", "tests/fakes/**/*.test.mjs", "tests/browser/**/*.test.mjs"],
    environment: "node",
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
