import { defineConfig } from "vitest/config";

// End-to-end tests: the built Worker (build/index.js + wasm) inside workerd, through Miniflare.
export default defineConfig({
  test: {
    include: ["tests/e2e/**/*.test.mjs", "tests/fakes/**/*.test.mjs", "tests/browser/**/*.test.mjs"],
    environment: "node",
    // One Worker at a time: the timing tests (pacing, alarms) measure the runtime, not a
    // machine shared with other suites.
    fileParallelism: false,
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
