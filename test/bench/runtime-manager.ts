// The manager half of the `runtime` benchmark: a Manager with one no-op controller over the bench
// items; prints {syncSeconds, reconcilesPerSecond, rssMiB, ...} once every object was reconciled.
import * as k8s from "@kubernetes/client-node";
import { silentLogger } from "../../controllers/runtime/log.ts";
import { Manager } from "../../controllers/runtime/manager.ts";
import { mib, round } from "./common.ts";

const benchItems = {
  group: "bench.pacific.dev",
  version: "v1",
  plural: "benchitems",
  kind: "BenchItem",
  namespaced: true,
};
const count = Number(process.env.BENCH_COUNT);
const kc = new k8s.KubeConfig();
kc.loadFromDefault();

const mgr = new Manager({
  kubeConfig: kc,
  name: "bench",
  bindAddress: "127.0.0.1:0",
  logger: silentLogger,
  qps: 0,
});
const seen = new Set<string>();
let firstReconcile = 0;
let done: () => void;
const allDone = new Promise<void>((r) => {
  done = r;
});
mgr
  .controller("bench-noop")
  .for(benchItems, { informer: { namespace: process.env.BENCH_NAMESPACE } })
  .withOptions({ maxConcurrentReconciles: 4 })
  .complete({
    reconcile: async (req) => {
      if (firstReconcile === 0) firstReconcile = performance.now();
      seen.add(req.name);
      if (seen.size === count) done();
      return undefined;
    },
  });

const start = performance.now();
await mgr.start();
await mgr.waitForCacheSync();
const synced = performance.now();
await allDone;
const finished = performance.now();
const mem = process.memoryUsage();
process.stdout.write(
  `${JSON.stringify({
    syncSeconds: round((synced - start) / 1000),
    reconcileSeconds: round((finished - firstReconcile) / 1000),
    reconcilesPerSecond: round(count / ((finished - firstReconcile) / 1000), 0),
    reconciles: seen.size,
    rssMiB: mib(mem.rss),
    heapMiB: mib(mem.heapUsed),
  })}\n`,
);
await mgr.stop();
process.exit(0);
