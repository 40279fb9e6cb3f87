import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // the exact-sum references over 2^20-voxel volumes take seconds on a slow machine
    testTimeout: 120_000,
  },
});
