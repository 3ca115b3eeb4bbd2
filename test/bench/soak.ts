// Scenario `soak`: 1,000 ESXi hosts and 10,000 pods kept by Pacific for 10 minutes (BENCH_SOAK_SECONDS).
// Measures what a long run reveals: lease age (p99 and max; must stay < 40 s, target p99 < 12 s),
// Ready flaps (target 0), Pacific's RSS (≤ 300 MiB, flat within ±10%) and event-loop lag.
import type { V1Lease, V1Node } from "@kubernetes/client-node";
import { Informer } from "../../controllers/runtime/informer.ts";
import { silentLogger } from "../../controllers/runtime/log.ts";
import { Leases, Namespaces, Nodes, Pods } from "../../controllers/runtime/resource.ts";
import { benchClient, environment, kubeConfig, percentile, pool, round } from "./common.ts";
import { benchManagerAddress, installChart, pacific, resetCluster, rssMiB } from "./simulators.ts";

const HOSTS = Number(process.env.BENCH_HOSTS ?? 1000);
const PODS = Number(process.env.BENCH_PODS ?? 10_000);
const SECONDS = Number(process.env.BENCH_SOAK_SECONDS ?? 600);
const WARMUP_SECONDS = Number(process.env.BENCH_SOAK_WARMUP_SECONDS ?? 120);

export async function soak(): Promise<void> {
  resetCluster();
  const client = benchClient(kubeConfig());
  await installChart();
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
    const rss: number[] = [];
    const lag: number[] = [];
    const t0 = Date.now();
    let nextSample = 0;
    while (Date.now() - t0 < SECONDS * 1000) {
      const leases = (await client.list<V1Lease>(Leases, { namespace: "kube-node-lease" })).items;
      const now = Date.now();
      for (const l of leases) {
        if (!l.metadata?.name?.startsWith("soak-")) continue;
        ages.push((now - new Date(l.spec!.renewTime as unknown as string).getTime()) / 1000);
      }
      if (Date.now() >= nextSample) {
        nextSample = Date.now() + 30_000;
        const r = rssMiB(sim.pid());
        if (r) rss.push(r);
        const metrics = await fetch(`http://${benchManagerAddress}/metrics`).then(
          (x) => x.text(),
          () => "",
        );
        const m = /^nodejs_eventloop_lag_p99_seconds (\S+)/m.exec(metrics);
        if (m) lag.push(Number(m[1]) * 1000);
      }
      await new Promise((r) => setTimeout(r, 10_000));
    }
    nodeInformer.stop();
    ages.sort((a, b) => a - b);
    const first = rss[0] ?? 0;
    const last = rss.at(-1) ?? 0;
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
        eventLoopLagP99Ms: { max: round(Math.max(...lag)), last: round(lag.at(-1) ?? Number.NaN) },
        targets: { leaseAgeP99Seconds: 12, readyFlaps: 0, rssMiB: 300, rssDriftPercent: 10 },
        environment: await environment(client),
      }),
    );
  } finally {
    await sim.stop();
  }
}
