// The `ceiling` step of the node benchmarks (issue 18): on the same control plane, with no simulator
// running, how many writes per second the API server sustains for each kind of write a scenario
// needs, at the concurrency the simulators use and without client-side limits. A scenario's
// ceiling is then the mix of its own writes (per object, by kind) at those rates, and a
// simulator's fraction of the ceiling is its throughput × writes per object ÷ that ceiling.
import type { V1Node, V1Pod } from "@kubernetes/client-node";
import { type ESXiHost, ESXiHostResource } from "../../controllers/api/vsphere/esxihost.ts";
import { desiredLease, desiredNode } from "../../controllers/esxihost/node.ts";
import { hostStatus } from "../../controllers/esxihost/status.ts";
import type { KubeClient } from "../../controllers/runtime/client.ts";
import { microTime } from "../../controllers/runtime/conditions.ts";
import { Events, Leases, Namespaces, Nodes, Pods } from "../../controllers/runtime/resource.ts";
import { runningStatus, terminatedStatus } from "../../controllers/spherelet/pod.ts";
import { pool, round } from "./common.ts";

/** The simulators' own concurrency: 64 ESXiHost reconciles and 64 pod writes in flight (kwok: unbounded). */
export const CEILING_CONCURRENCY = Number(process.env.BENCH_CEILING_CONCURRENCY ?? 64);
const NS = "bench-ceiling";

/** Writes per second, keyed as apiserverWritesBy keys them ("VERB resource[/subresource]"). */
export type Ceiling = Record<string, number>;

async function timed<T>(items: T[], fn: (item: T, i: number) => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await pool(items, CEILING_CONCURRENCY, fn);
  return items.length / ((performance.now() - t0) / 1000);
}

/**
 * Measures each kind of write over `hosts` hosts/Nodes/Leases and `pods` pods. The objects are the
 * simulator's own (desiredNode, hostStatus, desiredLease, runningStatus), so sizes and the
 * ESXiHost CRD's CEL rules are the real ones. Needs the chart's CRDs installed, no simulator running.
 */
export async function measureCeiling(client: KubeClient, hosts = 1000, pods = 2000): Promise<Ceiling> {
  const c: Ceiling = {};
  const names = Array.from({ length: hosts }, (_, i) => `ceil-${String(i).padStart(4, "0")}`);
  const created: ESXiHost[] = [];
  c["POST esxihosts"] = await timed(names, async (name) => {
    created.push(
      await client.create(ESXiHostResource, {
        apiVersion: "vsphere.pacific.dev/v1alpha1",
        kind: "ESXiHost",
        metadata: { name },
        spec: { capacity: { cpu: 32, memory: "256Gi", pods: 110 } },
      } as ESXiHost),
    );
  });
  const now = new Date();
  const alloc = { cpuMilli: 32_000, memory: 256 * 2 ** 30, pods: 110 };
  const nodes: V1Node[] = [];
  const nodeOf = new Map<string, V1Node>();
  c["POST nodes"] = await timed(created, async (host, i) => {
    const d = desiredNode(host, i, alloc, undefined, now);
    const n = await client.create(Nodes, { ...d.node, status: d.status });
    nodes.push(n);
    nodeOf.set(n.metadata?.name ?? "", n);
  });
  c["PATCH esxihosts/status"] = await timed(created, (host) => {
    const status = hostStatus(
      host,
      {
        node: nodeOf.get(host.metadata.name ?? ""),
        capacity: alloc,
        allocated: { cpuMilli: 0, memory: 0, pods: 0 },
        pods: 0,
        vms: 0,
        toEvacuate: 0,
        lastHeartbeat: now,
      },
      now,
    );
    return client.patch(
      ESXiHostResource,
      host.metadata.name ?? "",
      undefined,
      { status },
      { subresource: "status" },
    );
  });
  c["PATCH nodes/status"] = await timed(nodes, (n) =>
    client.patch(
      Nodes,
      n.metadata?.name ?? "",
      undefined,
      { status: { conditions: n.status?.conditions?.map((x) => ({ ...x, lastHeartbeatTime: new Date() })) } },
      { subresource: "status" },
    ),
  );
  c["PATCH nodes"] = await timed(nodes, (n) =>
    client.patch(Nodes, n.metadata?.name ?? "", undefined, {
      metadata: { annotations: { "node.alpha.kubernetes.io/ttl": "0" } },
    }),
  );
  c["POST leases"] = await timed(nodes, (n) => client.create(Leases, desiredLease(n, 40, new Date())));
  c["PATCH leases"] = await timed(nodes, (n) =>
    client.patch(Leases, n.metadata?.name ?? "", "kube-node-lease", {
      spec: { holderIdentity: n.metadata?.name, leaseDurationSeconds: 40, renewTime: microTime(new Date()) },
    }),
  );
  c["POST events"] = await timed(created, (h, i) =>
    client.create(Events, {
      apiVersion: "events.k8s.io/v1",
      kind: "Event",
      metadata: { name: `ceil.${i}`, namespace: "default" },
      eventTime: microTime(new Date()),
      reportingController: "pacific.dev/bench",
      reportingInstance: "bench",
      action: "Heartbeat",
      reason: "HostConnected",
      note: "host is connected",
      type: "Normal",
      regarding: { apiVersion: "vsphere.pacific.dev/v1alpha1", kind: "ESXiHost", name: h.metadata.name },
    }),
  );

  await client.create(Namespaces, { apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
  await new Promise((r) => setTimeout(r, 1000)); // the default ServiceAccount
  const podNames = Array.from({ length: pods }, (_, i) => `ceil-${String(i).padStart(5, "0")}`);
  const made: V1Pod[] = [];
  c["POST pods"] = await timed(podNames, async (name, i) => {
    made.push(
      await client.create(Pods, {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name, namespace: NS },
        spec: {
          nodeName: names[i % names.length],
          tolerations: [{ operator: "Exists" }],
          containers: [{ name: "c", image: "registry.k8s.io/pause:3.10" }],
        },
      }),
    );
  });
  const running: V1Pod[] = [];
  const writePodStatus = async (p: V1Pod, status: V1Pod["status"]) =>
    client.patch(
      Pods,
      p.metadata?.name ?? "",
      NS,
      { metadata: { uid: p.metadata?.uid }, status },
      { subresource: "status" },
    );
  const runRate = await timed(made, async (p, i) => {
    running.push(
      await writePodStatus(
        p,
        runningStatus(p, "172.16.0.2", `10.128.${i % 250}.${2 + (i % 250)}`, new Date()),
      ),
    );
  });
  // Graceful delete (the benchmark's own), containers terminated, final delete with grace 0.
  const graceful = await timed(running, (p) => client.delete(Pods, p.metadata?.name ?? "", NS));
  const termRate = await timed(running, (p) => writePodStatus(p, terminatedStatus(p, new Date())));
  const final = await timed(running, (p) =>
    client.delete(Pods, p.metadata?.name ?? "", NS, { gracePeriodSeconds: 0, uid: p.metadata?.uid }),
  );
  c["PATCH pods/status"] = 2 / (1 / runRate + 1 / termRate);
  c["DELETE pods"] = 2 / (1 / graceful + 1 / final);
  for (const k of Object.keys(c)) c[k] = round(c[k] ?? 0, 1);
  return c;
}

export interface CeilingFraction {
  /** The writes the scenario's mix sustains at the ceiling's rates, per second. */
  ceilingWritesPerSecond: number;
  /** What the simulator sustained: throughput × writes per object (every source counted). */
  writesPerSecond: number;
  fraction: number;
  /** Writes per object of kinds the ceiling did not measure (left out of the mix). */
  unmeasuredWritesPerObject: number;
}

/**
 * `writesPerObject` by kind (the simulator's, KCM's and the benchmark's own creates: everything the
 * API server served per object). The mix's ceiling is the harmonic mean of the measured rates
 * weighted by the mix: the time the API server needs for one object's writes, inverted.
 */
export function ceilingFraction(
  ceiling: Ceiling,
  writesPerObject: Record<string, number>,
  objectsPerSecond: number,
): CeilingFraction {
  let weight = 0;
  let seconds = 0;
  let unmeasured = 0;
  let total = 0;
  for (const [k, w] of Object.entries(writesPerObject)) {
    total += w;
    const rate = ceiling[k];
    if (!rate) {
      unmeasured += w;
      continue;
    }
    weight += w;
    seconds += w / rate;
  }
  const ceilingWritesPerSecond = seconds > 0 ? weight / seconds : Number.NaN;
  const writesPerSecond = objectsPerSecond * total;
  return {
    ceilingWritesPerSecond: round(ceilingWritesPerSecond, 1),
    writesPerSecond: round(writesPerSecond, 1),
    fraction: round(writesPerSecond / ceilingWritesPerSecond),
    unmeasuredWritesPerObject: round(unmeasured),
  };
}
