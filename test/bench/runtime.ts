// Scenario `runtime`: 10,000 custom resources listed and cached by a manager, and a no-op reconcile
// of every one. The manager runs in a child process (runtime-manager.ts) so its RSS is its own.
// Targets (issue "The controller runtime"): sync ≤ 5 s, ≥ 2,000 reconciles/s, RSS ≤ 200 MiB.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { CustomResourceDefinitions, Namespaces } from "../../controllers/runtime/resource.ts";
import { benchClient, environment, kubeConfig, pool, round } from "./common.ts";

export const BENCH_GROUP = "bench.pacific.dev";
export const benchItems = {
  group: BENCH_GROUP,
  version: "v1",
  plural: "benchitems",
  kind: "BenchItem",
  namespaced: true,
};
const COUNT = Number(process.env.BENCH_COUNT ?? 10_000);
const NS = "pacific-bench-runtime";

export async function run(): Promise<void> {
  const kc = kubeConfig();
  const client = benchClient(kc);
  await client.patch(
    CustomResourceDefinitions,
    `benchitems.${BENCH_GROUP}`,
    undefined,
    {
      apiVersion: "apiextensions.k8s.io/v1",
      kind: "CustomResourceDefinition",
      metadata: { name: `benchitems.${BENCH_GROUP}` },
      spec: {
        group: BENCH_GROUP,
        scope: "Namespaced",
        names: { plural: "benchitems", singular: "benchitem", kind: "BenchItem", listKind: "BenchItemList" },
        versions: [
          {
            name: "v1",
            served: true,
            storage: true,
            schema: { openAPIV3Schema: { type: "object", "x-kubernetes-preserve-unknown-fields": true } },
          },
        ],
      },
    },
    { type: "apply" },
  );
  await client.patch(
    Namespaces,
    NS,
    undefined,
    { apiVersion: "v1", kind: "Namespace", metadata: { name: NS } },
    { type: "apply" },
  );
  for (let i = 0; ; i++) {
    try {
      await client.listPage(benchItems, { namespace: NS, limit: 1 });
      break;
    } catch (e) {
      if (i > 100) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  const existing = (await client.list(benchItems, { namespace: NS })).items.length;
  const createStart = performance.now();
  const names = Array.from({ length: COUNT }, (_, i) => `item-${i}`).slice(existing);
  await pool(names, 64, (name) =>
    client.create(benchItems, {
      apiVersion: `${BENCH_GROUP}/v1`,
      kind: "BenchItem",
      metadata: { name, namespace: NS, labels: { bench: "runtime" } },
      spec: { size: name.length, payload: "x".repeat(200) },
    }),
  );
  const createSeconds = (performance.now() - createStart) / 1000;

  // Benchmarks run compiled (npm run bench builds first), as the product ships; tsx when run from source.
  const fromSource = import.meta.filename.endsWith(".ts");
  const entry = join(import.meta.dirname, `runtime-manager.${fromSource ? "ts" : "js"}`);
  const child = spawn(process.execPath, [...(fromSource ? ["--import", "tsx"] : []), entry], {
    env: { ...process.env, BENCH_NAMESPACE: NS, BENCH_COUNT: String(COUNT) },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  child.stdout.on("data", (c: Buffer) => {
    out += c.toString();
  });
  const code = await new Promise<number | null>((r) => child.once("exit", r));
  if (code !== 0) throw new Error(`runtime-manager exited with ${code}`);
  const m = JSON.parse(out.trim()) as {
    syncSeconds: number;
    reconcilesPerSecond: number;
    rssMiB: number;
    heapMiB: number;
    reconciles: number;
  };

  const result = {
    scenario: "runtime",
    objects: COUNT,
    createPerSecond: round(names.length / createSeconds, 0),
    ...m,
    targets: { syncSeconds: 5, reconcilesPerSecond: 2000, rssMiB: 200 },
    met: m.syncSeconds <= 5 && m.reconcilesPerSecond >= 2000 && m.rssMiB <= 200,
    environment: await environment(client),
  };
  console.log(JSON.stringify(result));
  if (process.env.BENCH_KEEP !== "1") {
    await client.delete(Namespaces, NS).catch(() => undefined);
    await client.delete(CustomResourceDefinitions, `benchitems.${BENCH_GROUP}`).catch(() => undefined);
  }
}
