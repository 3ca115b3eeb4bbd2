import { defineConfig } from "vitest/config";

// Two projects: `unit` needs nothing; `e2e` needs KUBECONFIG pointing at a real cluster
// (hack/test.sh starts the local control plane and sets it).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: [
            "controllers/**/*.test.ts",
            "hack/**/*.test.ts",
            "test/bench/**/*.test.ts",
            "test/chaos/**/*.test.ts",
            "test/e2e/fixtures/**/*.test.ts",
            "test/docs.test.ts",
          ],
          environment: "node",
        },
      },
      {
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.e2e.ts"],
          environment: "node",
          // One API server is shared: e2e files run one after another.
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 180_000,
          globalSetup: ["test/e2e/global-setup.ts"],
        },
      },
    ],
  },
});
