// Node-simulator scenarios (docs/performance.md), Pacific against kwok in the same run, one simulator
// at a time, each against a freshly reset etcd:
//   hosts-1k   create 1,000 hosts → time until 1,000 Nodes Ready (watch-observed); writes per node
//   pods-10k   100 hosts, 10,000 pods pre-bound with nodeName → all Running; pods/s; p50/p99
//   delete-10k delete those pods → all gone; none stuck Terminating
// Each scenario prints one JSON line with both simulators' figures and the ratio pacific/kwok.
import type { V1Node, V1Pod } from "@kubernetes/client-node";
import type { KubeClient } from "../../controllers/runtime/client.ts";
import { Informer } from "../../controllers/runtime/informer.ts";
import { silentLogger } from "../../controllers/runtime/log.ts";
import { Namespaces, Nodes, Pods } from "../../controllers/runtime/resource.ts";
import { type Ceiling, ceilingFraction, measureCeiling } from "./ceiling.ts";
import { benchClient, environment, kubeConfig, percentile, pool, round } from "./common.ts";
import {
  apiserverWritesBy,
  installChart,
  kwok,
  pacific,
  resetCluster,
  rssMiB,
  type Simulator,
  writesPer,
} from "./simulators.ts";

const HOSTS = Number(process.env.BENCH_HOSTS ?? 1000);
const POD_HOSTS = Number(process.env.BENCH_POD_HOSTS ?? 100);
const PODS = Number(process.env.BENCH_PODS ?? 10_000);
const TIMEOUT_MS = 600_000;
const NS = "bench-pods";
/** BENCH_ONLY=pacific (or kwok) runs one simulator, for a quick before/after of a change (no ratio). */
const ONLY = process.env.BENCH_ONLY;
/** BENCH_CEILING=0 skips the ceiling step. */
const CEILING = process.env.BENCH_CEILING !== "0";
const simulators = (): Simulator[] => [pacific(), kwok()].filter((s) => !ONLY || s.name === ONLY);

/** The ceiling step (ceiling.ts) on a freshly reset control plane, no simulator running. */
async function ceilingStep(): Promise<Ceiling | undefined> {
  if (!CEILING) return undefined;
  resetCluster();
  await installChart();
  return measureCeiling(benchClient(kubeConfig()));
}

const ready = (n: V1Node) =>
  n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;

/** Watches Nodes of a simulator (through the runtime's Informer, which survives a watch the
 * server closes), calling back with the time each first became Ready. */
function watchReadyNodes(
  client: KubeClient,
  selector: string,
  onReady: (name: string, at: number) => void,
): { abort(): void } {
  const seen = new Set<string>();
  const inf = new Informer<V1Node>(Nodes, client, silentLogger, { labelSelector: selector, resyncMs: 0 });
  const check = (n: V1Node) => {
    const name = n.metadata!.name!;
    if (ready(n) && !seen.has(name)) {
      seen.add(name);
      onReady(name, performance.now());
    }
  };
  inf.addHandler({ add: check, update: (_o, n) => check(n) });
  inf.start();
  return { abort: () => inf.stop() };
}

async function until(what: string, cond: () => boolean, timeoutMs = TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function prepare(sim: Simulator): Promise<KubeClient> {
  resetCluster();
  const client = benchClient(kubeConfig());
  if (sim.name === "pacific") await installChart();
  await sim.start();
  return client;
}

/** Creates `n` hosts and waits for their Nodes to be Ready; returns timing and write figures. */
export async function bringUpHosts(client: KubeClient, sim: Simulator, n: number, prefix: string) {
  let readyCount = 0;
  let lastReady = 0;
  const readyAt = new Map<string, number>();
  const createdAt = new Map<string, number>();
  const watch = watchReadyNodes(client, sim.nodeSelector, (name, at) => {
    readyCount++;
    lastReady = at;
    readyAt.set(name, at);
  });
  await new Promise((r) => setTimeout(r, 500));
  const writesBefore = await apiserverWritesBy(client);
  const t0 = performance.now();
  await pool(
    Array.from({ length: n }, (_, i) => `${prefix}-${String(i).padStart(4, "0")}`),
    32,
    async (name) => {
      await sim.createHost(client, name);
      createdAt.set(name, performance.now());
    },
  );
  const createSeconds = (performance.now() - t0) / 1000;
  await until(`${n} nodes Ready`, () => readyCount >= n);
  // Per host: from its create call returning to its Node observed Ready (negative when the watch
  // event beat the create response).
  const latencies = [...createdAt]
    .map(([name, at]) => Math.max(0, (readyAt.get(name) ?? at) - at))
    .sort((a, b) => a - b);
  const seconds = (lastReady - t0) / 1000;
  // Let trailing writes (node status after the first Ready, leases) land before counting.
  await new Promise((r) => setTimeout(r, 3000));
  const writesAfter = await apiserverWritesBy(client);
  let writes = -n; // the benchmark's own creates
  for (const [k, v] of writesAfter) writes += v - (writesBefore.get(k) ?? 0);
  watch.abort();
  return {
    seconds: round(seconds),
    nodesPerSecond: round(n / seconds, 1),
    createSeconds: round(createSeconds),
    readyP50Ms: round(percentile(latencies, 50)),
    readyP99Ms: round(percentile(latencies, 99)),
    writesPerNode: round(writes / n, 2),
    /** Including the benchmark's own creates (the POST esxihosts or nodes: 1 per host). */
    writesPerNodeByKind: writesPer(writesBefore, writesAfter, n),
  };
}

export async function hosts1k(): Promise<void> {
  const results: Record<string, unknown> = {};
  let env: Record<string, unknown> = {};
  for (const sim of simulators()) {
    const client = await prepare(sim);
    try {
      results[sim.name] = { ...(await bringUpHosts(client, sim, HOSTS, "host")), rssMiB: rssMiB(sim.pid()) };
      env = await environment(client);
    } finally {
      await sim.stop();
    }
  }
  type Hosts = { nodesPerSecond: number; writesPerNodeByKind: Record<string, number> } | undefined;
  const p = results.pacific as Hosts;
  const k = results.kwok as Hosts;
  const ceiling = await ceilingStep();
  console.log(
    JSON.stringify({
      scenario: "hosts-1k",
      hosts: HOSTS,
      ...results,
      ratio: p && k ? round(p.nodesPerSecond / k.nodesPerSecond) : undefined,
      ceiling: ceiling?.hosts,
      fractionOfCeiling: ceiling && {
        pacific: p && ceilingFraction(ceiling.hosts, p.writesPerNodeByKind, p.nodesPerSecond),
        kwok: k && ceilingFraction(ceiling.hosts, k.writesPerNodeByKind, k.nodesPerSecond),
      },
      target: "ratio ≥ 1.0",
      environment: env,
    }),
  );
}

interface PodRun {
  podsPerSecond: number;
  seconds: number;
  p50Ms: number;
  p99Ms: number;
  deleteSeconds: number;
  deletePerSecond: number;
  stuckTerminating: number;
  rssMiB?: number;
  /** Everything the API server served per pod while the pods started (the benchmark's creates included). */
  writesPerPodByKind: Record<string, number>;
  /** The same for the deletion (the benchmark's graceful deletes included). */
  deleteWritesPerPodByKind: Record<string, number>;
}

async function podsRun(sim: Simulator): Promise<PodRun> {
  const client = await prepare(sim);
  try {
    await bringUpHosts(client, sim, POD_HOSTS, "host");
    const nodes = (await client.list<V1Node>(Nodes, { labelSelector: sim.nodeSelector })).items.map(
      (n) => n.metadata!.name!,
    );
    await client.create(Namespaces, { apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
    await new Promise((r) => setTimeout(r, 1000)); // the default ServiceAccount

    const added = new Map<string, number>();
    const running = new Map<string, number>();
    const deleted = new Set<string>();
    const pods = new Informer<V1Pod>(Pods, client, silentLogger, { namespace: NS, resyncMs: 0 });
    const seen = (p: V1Pod) => {
      const name = p.metadata!.name!;
      const now = performance.now();
      if (!added.has(name)) added.set(name, now);
      if (p.status?.phase === "Running" && !running.has(name)) running.set(name, now);
    };
    pods.addHandler({ add: seen, update: (_o, n) => seen(n), delete: (p) => deleted.add(p.metadata!.name!) });
    pods.start();
    await pods.waitForSync();

    const w0 = await apiserverWritesBy(client);
    const t0 = performance.now();
    const names = Array.from({ length: PODS }, (_, i) => `pod-${String(i).padStart(5, "0")}`);
    await pool(names, 64, (name, i) =>
      client.create(Pods, {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name, namespace: NS },
        spec: {
          nodeName: nodes[i % nodes.length],
          tolerations: [{ operator: "Exists" }],
          containers: [{ name: "c", image: "registry.k8s.io/pause:3.10" }],
        },
      }),
    );
    await until(`${PODS} pods Running`, () => running.size >= PODS);
    const t1 = Math.max(...running.values());
    const latencies = names.map((n) => running.get(n)! - (added.get(n) ?? t0)).sort((a, b) => a - b);

    // Let trailing writes (host counts every 5 s) land before counting.
    await new Promise((r) => setTimeout(r, 3000));
    const w1 = await apiserverWritesBy(client);
    const d0 = performance.now();
    await pool(names, 64, (name) => client.delete(Pods, name, NS).catch(() => undefined));
    let stuck = 0;
    try {
      await until(`${PODS} pods deleted`, () => deleted.size >= PODS, 300_000);
    } catch {
      stuck = PODS - deleted.size;
    }
    const d1 = performance.now();
    await new Promise((r) => setTimeout(r, 3000));
    const w2 = await apiserverWritesBy(client);
    pods.stop();
    const seconds = (t1 - t0) / 1000;
    return {
      podsPerSecond: round(PODS / seconds, 1),
      seconds: round(seconds),
      p50Ms: round(percentile(latencies, 50)),
      p99Ms: round(percentile(latencies, 99)),
      deleteSeconds: round((d1 - d0) / 1000),
      deletePerSecond: round(deleted.size / ((d1 - d0) / 1000), 1),
      stuckTerminating: stuck,
      rssMiB: rssMiB(sim.pid()),
      writesPerPodByKind: writesPer(w0, w1, PODS),
      deleteWritesPerPodByKind: writesPer(w1, w2, PODS),
    };
  } finally {
    await sim.stop();
  }
}

export async function pods10k(): Promise<void> {
  const runs: Partial<Record<Simulator["name"], PodRun>> = {};
  for (const sim of simulators()) runs[sim.name] = await podsRun(sim);
  const env = await environment(benchClient(kubeConfig()));
  const ceiling = await ceilingStep();
  const p = runs.pacific;
  const k = runs.kwok;
  const total = (w: Record<string, number>) => round(Object.values(w).reduce((a, b) => a + b, 0));
  const pick = (r: PodRun | undefined) =>
    r && {
      podsPerSecond: r.podsPerSecond,
      seconds: r.seconds,
      p50Ms: r.p50Ms,
      p99Ms: r.p99Ms,
      rssMiB: r.rssMiB,
      writesPerPod: total(r.writesPerPodByKind),
      writesPerPodByKind: r.writesPerPodByKind,
    };
  const fraction = (r: PodRun | undefined, del: boolean) =>
    r &&
    ceiling &&
    (del
      ? ceilingFraction(ceiling.delete, r.deleteWritesPerPodByKind, r.deletePerSecond)
      : ceilingFraction(ceiling.pods, r.writesPerPodByKind, r.podsPerSecond));
  console.log(
    JSON.stringify({
      scenario: "pods-10k",
      hosts: POD_HOSTS,
      pods: PODS,
      pacific: pick(p),
      kwok: pick(k),
      ratio: p && k ? round(p.podsPerSecond / k.podsPerSecond) : undefined,
      ceiling: ceiling?.pods,
      fractionOfCeiling: ceiling && { pacific: fraction(p, false), kwok: fraction(k, false) },
      target: "ratio ≥ 1.0",
      environment: env,
    }),
  );
  const del = (r: PodRun | undefined) =>
    r && {
      seconds: r.deleteSeconds,
      podsPerSecond: r.deletePerSecond,
      stuckTerminating: r.stuckTerminating,
      writesPerPod: total(r.deleteWritesPerPodByKind),
      writesPerPodByKind: r.deleteWritesPerPodByKind,
    };
  console.log(
    JSON.stringify({
      scenario: "delete-10k",
      pods: PODS,
      pacific: del(p),
      kwok: del(k),
      ratio: p && k ? round(p.deletePerSecond / k.deletePerSecond) : undefined,
      ceiling: ceiling?.delete,
      fractionOfCeiling: ceiling && { pacific: fraction(p, true), kwok: fraction(k, true) },
      target: "ratio ≥ 1.0; none stuck Terminating",
      environment: env,
    }),
  );
}
