// Scenario `hosts-5k` (issue 18): 5,000 hosts for Pacific and for kwok in the same run, one after
// the other, each on a freshly reset control plane: create them all, time until every Node is
// Ready, then hold them for BENCH_HOLD_SECONDS (600) with heartbeats only. Reported per simulator:
// Ready time and rate, lease age p99/max over the hold (sampled every 10 s), Ready flaps (a Node
// seen Ready, then not), the simulator's RSS, Pacific's event-loop lag, and the CPU seconds and RSS
// of the Supervisor's kube-apiserver and etcd over the hold — so that where it breaks (the first
// limit hit: API server, etcd, the event loop, memory) shows. A step that fails is reported with
// its error, and the run goes on: the scenario reports whatever it shows.
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import type { V1Lease, V1Node } from "@kubernetes/client-node";
import type { KubeClient } from "../../controllers/runtime/client.ts";
import { Informer } from "../../controllers/runtime/informer.ts";
import { silentLogger } from "../../controllers/runtime/log.ts";
import { Leases, Nodes } from "../../controllers/runtime/resource.ts";
import { cpuSecondsOf, memoryOf } from "../e2e/fixtures/processes.ts";
import { benchClient, environment, kubeConfig, percentile, round } from "./common.ts";
import { bringUpHosts, prepare } from "./nodes.ts";
import { benchManagerAddress, kwok, pacific, root, rssMiB, type Simulator } from "./simulators.ts";

const HOSTS = Number(process.env.BENCH_HOSTS ?? 5000);
const HOLD_SECONDS = Number(process.env.BENCH_HOLD_SECONDS ?? 600);
const ONLY = process.env.BENCH_ONLY;

const isReady = (n: V1Node) =>
  n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;

/** The local control plane's component pid (hack/cluster.sh writes .cluster/<component>.pid). */
function controlPlanePid(component: "kube-apiserver" | "etcd"): number[] {
  try {
    return [Number(readFileSync(join(root, ".cluster", `${component}.pid`), "utf8").trim())];
  } catch {
    return [];
  }
}

async function lagP99Ms(): Promise<number | undefined> {
  const text = await fetch(`http://${benchManagerAddress}/metrics`).then(
    (r) => r.text(),
    () => "",
  );
  const m = /^nodejs_eventloop_lag_p99_seconds (\S+)/m.exec(text);
  return m ? round(Number(m[1]) * 1000) : undefined;
}

/** Holds the hosts with heartbeats only; lease ages, flaps, memory and the control plane's CPU. */
async function hold(client: KubeClient, sim: Simulator, names: Set<string>) {
  let flaps = 0;
  const wasReady = new Map<string, boolean>();
  const nodes = new Informer<V1Node>(Nodes, client, silentLogger, {
    labelSelector: sim.nodeSelector,
    resyncMs: 0,
  });
  const observe = (n: V1Node) => {
    const name = n.metadata?.name ?? "";
    const r = isReady(n);
    if (wasReady.get(name) && !r) flaps++;
    wasReady.set(name, r);
  };
  nodes.addHandler({ add: observe, update: (_o, n) => observe(n) });
  nodes.start();
  await nodes.waitForSync();
  const apiserver = controlPlanePid("kube-apiserver");
  const etcd = controlPlanePid("etcd");
  const cpu0 = {
    apiserver: cpuSecondsOf(apiserver),
    etcd: cpuSecondsOf(etcd),
    sim: cpuSecondsOf([sim.pid() ?? 0]),
  };
  const ages: number[] = [];
  const lags: number[] = [];
  const rss: number[] = [];
  const t0 = Date.now();
  while (Date.now() - t0 < HOLD_SECONDS * 1000) {
    const leases = (await client.list<V1Lease>(Leases, { namespace: "kube-node-lease" })).items;
    const now = Date.now();
    for (const l of leases)
      if (names.has(l.metadata?.name ?? "") && l.spec?.renewTime)
        ages.push((now - new Date(l.spec.renewTime as unknown as string).getTime()) / 1000);
    const r = rssMiB(sim.pid());
    if (r !== undefined) rss.push(r);
    if (sim.name === "pacific") {
      const lag = await lagP99Ms();
      if (lag !== undefined) lags.push(lag);
    }
    await new Promise((res) => setTimeout(res, 10_000));
  }
  nodes.stop();
  const seconds = (Date.now() - t0) / 1000;
  ages.sort((a, b) => a - b);
  // A share of one core: 1.0 is a whole core all the hold long.
  const cores = (s: number) => round(s / seconds);
  return {
    holdSeconds: round(seconds),
    leaseAgeSeconds: { p99: round(percentile(ages, 99)), max: round(ages.at(-1) ?? Number.NaN) },
    readyFlaps: flaps,
    notReadyAtEnd: [...wasReady.values()].filter((x) => !x).length,
    rssMiB: { last: rss.at(-1), max: rss.length ? Math.max(...rss) : undefined },
    ...(lags.length ? { eventLoopLagP99Ms: { max: Math.max(...lags), last: lags.at(-1) } } : {}),
    coresUsedDuringHold: {
      simulator: cores(cpuSecondsOf([sim.pid() ?? 0]) - cpu0.sim),
      kubeApiserver: cores(cpuSecondsOf(apiserver) - cpu0.apiserver),
      etcd: cores(cpuSecondsOf(etcd) - cpu0.etcd),
      of: availableParallelism(),
    },
    controlPlaneRssMiB: { kubeApiserver: memoryOf(apiserver).rss, etcd: memoryOf(etcd).rss },
  };
}

async function run(sim: Simulator): Promise<Record<string, unknown>> {
  const client = await prepare(sim);
  try {
    const names = new Set(Array.from({ length: HOSTS }, (_, i) => `host-${String(i).padStart(4, "0")}`));
    const up = await bringUpHosts(client, sim, HOSTS, "host").then(
      (r) => r,
      (e: Error) => ({ error: e.message }),
    );
    if ("error" in up) return { up, rssMiB: rssMiB(sim.pid()) };
    const held = await hold(client, sim, names).then(
      (r) => r,
      (e: Error) => ({ error: e.message }),
    );
    return { up, ...held };
  } finally {
    await sim.stop();
  }
}

export async function hosts5k(): Promise<void> {
  const results: Record<string, unknown> = {};
  for (const sim of [pacific(), kwok()].filter((s) => !ONLY || s.name === ONLY))
    results[sim.name] = await run(sim);
  type Up = { up?: { nodesPerSecond?: number } } | undefined;
  const p = (results.pacific as Up)?.up?.nodesPerSecond;
  const k = (results.kwok as Up)?.up?.nodesPerSecond;
  console.log(
    JSON.stringify({
      scenario: "hosts-5k",
      hosts: HOSTS,
      holdSeconds: HOLD_SECONDS,
      ...results,
      ratio: p && k ? round(p / k) : undefined,
      environment: await environment(benchClient(kubeConfig())),
    }),
  );
}
