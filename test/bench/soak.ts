// Scenario `soak`: 1,000 ESXi hosts and 10,000 pods kept by Pacific for 10 minutes (BENCH_SOAK_SECONDS).
// Measures what a long run reveals: lease age (p99 and max; must stay < 40 s, target p99 < 12 s),
// Ready flaps (target 0), Pacific's RSS (≤ 300 MiB, flat within ±10%) and event-loop lag.
// RSS, V8 heap (used, total) and lag are sampled every 30 s and printed with a least-squares slope
// (MiB per 10 minutes) over the last 20 minutes. BENCH_SOAK_HEAP_SNAPSHOTS=<dir>: the manager writes
// a V8 heap snapshot there (SIGUSR2, --heapsnapshot-signal) after the warm-up, half-way and at the
// end, to diff by retainer in Chrome DevTools (each pauses the manager for a few seconds).
import type { V1Lease, V1Node } from "@kubernetes/client-node";
import { Informer } from "../../controllers/runtime/informer.ts";
import { silentLogger } from "../../controllers/runtime/log.ts";
import { Leases, Namespaces, Nodes, Pods } from "../../controllers/runtime/resource.ts";
import {
  benchClient,
  environment,
  kubeConfig,
  mib,
  percentile,
  pool,
  round,
  slopePer10Min,
} from "./common.ts";
import { benchManagerAddress, installChart, pacific, resetCluster, rssMiB } from "./simulators.ts";

const HOSTS = Number(process.env.BENCH_HOSTS ?? 1000);
const PODS = Number(process.env.BENCH_PODS ?? 10_000);
const SECONDS = Number(process.env.BENCH_SOAK_SECONDS ?? 600);
const WARMUP_SECONDS = Number(process.env.BENCH_SOAK_WARMUP_SECONDS ?? 120);
const SNAPSHOTS = process.env.BENCH_SOAK_HEAP_SNAPSHOTS;
/** The slope is fitted over this last stretch of the run (the issue: the last 20 minutes). */
const SLOPE_WINDOW_MS = 20 * 60_000;

interface Sample {
  atSeconds: number;
  rssMiB: number;
  heapUsedMiB: number;
  heapTotalMiB: number;
  lagP99Ms: number;
}

const gauge = (metrics: string, name: string): number => {
  const m = new RegExp(`^${name} (\\S+)`, "m").exec(metrics);
  return m ? Number(m[1]) : Number.NaN;
};

export async function soak(): Promise<void> {
  resetCluster();
  const client = benchClient(kubeConfig());
  await installChart();
  if (SNAPSHOTS)
    process.env.BENCH_MANAGER_NODE_ARGS = [
      process.env.BENCH_MANAGER_NODE_ARGS ?? "",
      "--heapsnapshot-signal=SIGUSR2",
      `--diagnostic-dir=${SNAPSHOTS}`,
    ].join(" ");
  const sim = pacific();
  await sim.start();
  try {
    const names = Array.from({ length: HOSTS }, (_, i) => `soak-${String(i).padStart(4, "0")}`);
    await pool(names, 32, (n) => sim.createHost(client, n));
    const isReady = (n: V1Node) =>
      n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
    for (;;) {
      const nodes = (await client.list<V1Node>(Nodes, { labelSelector: sim.nodeSelector })).items;
      if (nodes.filter(isReady).length >= HOSTS) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    await client.create(Namespaces, { apiVersion: "v1", kind: "Namespace", metadata: { name: "soak" } });
    await new Promise((r) => setTimeout(r, 1000));
    await pool(
      Array.from({ length: PODS }, (_, i) => i),
      64,
      (i) =>
        client.create(Pods, {
          apiVersion: "v1",
          kind: "Pod",
          metadata: { name: `soak-${i}`, namespace: "soak" },
          spec: {
            nodeName: names[i % HOSTS],
            containers: [{ name: "c", image: "registry.k8s.io/pause:3.10" }],
          },
        }),
    );
    for (;;) {
      const pods = (await client.list(Pods, { namespace: "soak" })).items;
      if (pods.filter((p) => p.status?.phase === "Running").length >= PODS) break;
      await new Promise((r) => setTimeout(r, 1000));
    }

    // Flaps: a Node that was Ready and is seen not Ready.
    let flaps = 0;
    const wasReady = new Map<string, boolean>();
    const nodeInformer = new Informer<V1Node>(Nodes, client, silentLogger, {
      labelSelector: sim.nodeSelector,
      resyncMs: 0,
    });
    const observe = (n: V1Node) => {
      const name = n.metadata!.name!;
      const r = isReady(n);
      if (wasReady.get(name) && !r) flaps++;
      wasReady.set(name, r);
    };
    nodeInformer.addHandler({ add: observe, update: (_o, n) => observe(n) });
    nodeInformer.start();
    await nodeInformer.waitForSync();

    // RSS right after set-up still holds the 10,000 creations' garbage: drift is measured from the
    // end of a warm-up, so it shows growth (a leak), not the heap settling.
    const rssAfterSetUp = rssMiB(sim.pid());
    await new Promise((r) => setTimeout(r, WARMUP_SECONDS * 1000));
    const ages: number[] = [];
    const samples: Sample[] = [];
    const t0 = Date.now();
    let nextSample = 0;
    const snapshotsAt = [0, SECONDS / 2, SECONDS].map((x) => t0 + x * 1000);
    const snapshot = () => {
      if (SNAPSHOTS && Date.now() >= (snapshotsAt[0] ?? Number.POSITIVE_INFINITY)) {
        snapshotsAt.shift();
        const pid = sim.pid();
        if (pid) process.kill(pid, "SIGUSR2");
      }
    };
    snapshot();
    while (Date.now() - t0 < SECONDS * 1000) {
      const leases = (await client.list<V1Lease>(Leases, { namespace: "kube-node-lease" })).items;
      const now = Date.now();
      for (const l of leases) {
        if (!l.metadata?.name?.startsWith("soak-")) continue;
        ages.push((now - new Date(l.spec!.renewTime as unknown as string).getTime()) / 1000);
      }
      if (Date.now() >= nextSample) {
        nextSample = Date.now() + 30_000;
        const metrics = await fetch(`http://${benchManagerAddress}/metrics`).then(
          (x) => x.text(),
          () => "",
        );
        samples.push({
          atSeconds: Math.round((Date.now() - t0) / 1000),
          rssMiB: rssMiB(sim.pid()) ?? Number.NaN,
          heapUsedMiB: mib(gauge(metrics, "nodejs_heap_size_used_bytes")),
          heapTotalMiB: mib(gauge(metrics, "nodejs_heap_size_total_bytes")),
          lagP99Ms: round(gauge(metrics, "nodejs_eventloop_lag_p99_seconds") * 1000),
        });
      }
      snapshot();
      await new Promise((r) => setTimeout(r, 10_000));
    }
    // The end: the last sample and snapshot.
    await new Promise((r) => setTimeout(r, 1000));
    snapshot();
    nodeInformer.stop();
    ages.sort((a, b) => a - b);
    const rss = samples.map((x) => x.rssMiB).filter((x) => !Number.isNaN(x));
    const lag = samples.map((x) => x.lagP99Ms).filter((x) => !Number.isNaN(x));
    const first = rss[0] ?? 0;
    const last = rss.at(-1) ?? 0;
    const slope = (pick: (x: Sample) => number) =>
      round(
        slopePer10Min(
          samples
            .map((x) => ({ atMs: x.atSeconds * 1000, value: pick(x) }))
            .filter((x) => !Number.isNaN(x.value)),
          SLOPE_WINDOW_MS,
        ),
      );
    console.log(
      JSON.stringify({
        scenario: "soak",
        hosts: HOSTS,
        pods: PODS,
        seconds: SECONDS,
        leaseAgeP99Seconds: round(percentile(ages, 99)),
        leaseAgeMaxSeconds: round(ages.at(-1) ?? Number.NaN),
        readyFlaps: flaps,
        warmupSeconds: WARMUP_SECONDS,
        rssMiB: {
          afterSetUp: rssAfterSetUp,
          first,
          last,
          max: Math.max(...rss),
          driftPercent: round(((last - first) / first) * 100, 1),
        },
        /** Least squares over the last 20 minutes (the whole run when shorter). */
        slopeMiBPer10Min: { rss: slope((x) => x.rssMiB), heapUsed: slope((x) => x.heapUsedMiB) },
        heapUsedMiB: {
          first: samples[0]?.heapUsedMiB,
          last: samples.at(-1)?.heapUsedMiB,
          max: Math.max(...samples.map((x) => x.heapUsedMiB)),
        },
        eventLoopLagP99Ms: { max: round(Math.max(...lag)), last: round(lag.at(-1) ?? Number.NaN) },
        targets: { leaseAgeP99Seconds: 12, readyFlaps: 0, rssMiB: 300, rssDriftPercent: 10 },
        heapSnapshots: SNAPSHOTS,
        samples,
        environment: await environment(client),
      }),
    );
  } finally {
    await sim.stop();
  }
}
