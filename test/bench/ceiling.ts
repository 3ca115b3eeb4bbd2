// The `ceiling` step of the node benchmarks (issue 18): on the same control plane, with no simulator
// running, how many writes per second the API server sustains for the writes a scenario needs,
// made by the benchmark itself at the concurrency the benchmark and the simulator have together,
// without client-side limits. A simulator's fraction of the ceiling is its throughput × its writes
// per object ÷ the ceiling's writes per second.
import type { V1Pod } from "@kubernetes/client-node";
import { type ESXiHost, ESXiHostResource } from "../../controllers/api/vsphere/esxihost.ts";
import { desiredLease, desiredNode } from "../../controllers/esxihost/node.ts";
import { hostStatus } from "../../controllers/esxihost/status.ts";
import type { KubeClient } from "../../controllers/runtime/client.ts";
import { microTime } from "../../controllers/runtime/conditions.ts";
import { Leases, Namespaces, Nodes, Pods } from "../../controllers/runtime/resource.ts";
import { runningStatus, terminatedStatus } from "../../controllers/shared/kubelet/pod.ts";
import { pool, round } from "./common.ts";
import { apiserverWritesBy, writesPer } from "./simulators.ts";

/**
 * In flight at once: the benchmark's 32 (hosts) or 64 (pods) creators plus the simulator's 64
 * reconciles or pod writes (Pacific's ESXiHost controller and Spherelet; kwok has no bound).
 */
export const CEILING_CONCURRENCY = Number(process.env.BENCH_CEILING_CONCURRENCY ?? 96);
const NS = "bench-ceiling";

/** One scenario's ceiling: what the API server served, per second, of that scenario's writes. */
export interface CeilingRun {
  objects: number;
  seconds: number;
  /** Every write the API server served during the run (KCM's reactions included), per second. */
  writesPerSecond: number;
  writesPerObjectByKind: Record<string, number>;
}

export type Ceiling = Record<"hosts" | "pods" | "delete", CeilingRun>;

/** Runs `pipeline` for every item, CEILING_CONCURRENCY at a time, counting writes at the API server. */
async function run<T>(client: KubeClient, items: T[], pipeline: (item: T, i: number) => Promise<unknown>) {
  const before = await apiserverWritesBy(client);
  const t0 = performance.now();
  await pool(items, CEILING_CONCURRENCY, pipeline);
  const seconds = (performance.now() - t0) / 1000;
  const after = await apiserverWritesBy(client);
  let writes = 0;
  for (const [k, v] of after) writes += v - (before.get(k) ?? 0);
  return {
    objects: items.length,
    seconds: round(seconds),
    writesPerSecond: round(writes / seconds, 1),
    writesPerObjectByKind: writesPer(before, after, items.length),
  };
}

/**
 * The writes each node scenario needs, each object's in sequence (as the simulator makes them) and
 * many objects at once, with the simulator's own objects (desiredNode, hostStatus, desiredLease,
 * runningStatus, terminatedStatus: the real sizes and the ESXiHost CRD's CEL rules):
 *   hosts   POST esxihost → POST node with status → PATCH esxihost status → POST lease → PATCH lease
 *   pods    POST pod → PATCH pod status (Running)
 *   delete  DELETE pod (graceful) → PATCH pod status (terminated) → DELETE pod (grace 0)
 * Needs the chart's CRDs installed and no simulator running.
 */
export async function measureCeiling(client: KubeClient, hosts = 1000, pods = 4000): Promise<Ceiling> {
  const names = Array.from({ length: hosts }, (_, i) => `ceil-${String(i).padStart(4, "0")}`);
  const alloc = { cpuMilli: 32_000, memory: 256 * 2 ** 30, pods: 110 };
  const hostRun = await run(client, names, async (name, i) => {
    const host = await client.create(ESXiHostResource, {
      apiVersion: "vsphere.pacific.dev/v1alpha1",
      kind: "ESXiHost",
      metadata: { name },
      spec: { capacity: { cpu: 32, memory: "256Gi", pods: 110 } },
    } as ESXiHost);
    const now = new Date();
    const d = desiredNode(host, i, alloc, undefined, now);
    const node = await client.create(Nodes, { ...d.node, status: d.status });
    const status = hostStatus(
      host,
      {
        node,
        capacity: alloc,
        allocated: { cpuMilli: 0, memory: 0, pods: 0 },
        pods: 0,
        vms: 0,
        toEvacuate: 0,
        lastHeartbeat: now,
      },
      now,
    );
    await client.patch(ESXiHostResource, name, undefined, { status }, { subresource: "status" });
    await client.create(Leases, desiredLease(node, 40, now));
    await client.patch(Leases, name, "kube-node-lease", {
      spec: { holderIdentity: name, leaseDurationSeconds: 40, renewTime: microTime(new Date()) },
    });
  });

  await client.create(Namespaces, { apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
  await new Promise((r) => setTimeout(r, 1000)); // the default ServiceAccount
  const podNames = Array.from({ length: pods }, (_, i) => `ceil-${String(i).padStart(5, "0")}`);
  const running: V1Pod[] = [];
  const writeStatus = (p: V1Pod, status: V1Pod["status"]) =>
    client.patch(
      Pods,
      p.metadata?.name ?? "",
      NS,
      { metadata: { uid: p.metadata?.uid }, status },
      { subresource: "status" },
    );
  const podRun = await run(client, podNames, async (name, i) => {
    const pod = await client.create(Pods, {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name, namespace: NS },
      spec: {
        nodeName: names[i % names.length],
        tolerations: [{ operator: "Exists" }],
        containers: [{ name: "c", image: "registry.k8s.io/pause:3.10" }],
      },
    });
    const ip = `10.${128 + Math.floor(i / 250 / 256)}.${Math.floor(i / 250) % 256}.${2 + (i % 250)}`;
    running.push(await writeStatus(pod, runningStatus(pod, "172.16.0.2", ip, new Date())));
  });
  const deleteRun = await run(client, running, async (p) => {
    const name = p.metadata?.name ?? "";
    const terminating = await client.delete(Pods, name, NS);
    await writeStatus(p, terminatedStatus((terminating as V1Pod | undefined) ?? p, new Date()));
    await client.delete(Pods, name, NS, { gracePeriodSeconds: 0, uid: p.metadata?.uid });
  });
  return { hosts: hostRun, pods: podRun, delete: deleteRun };
}

export interface CeilingFraction {
  /** What the simulator sustained: throughput × writes per object (every source counted). */
  writesPerSecond: number;
  /** What the API server sustained for the scenario's writes with nothing else running. */
  ceilingWritesPerSecond: number;
  fraction: number;
}

/**
 * `writesPerObject` by kind counts everything the API server served per object (the simulator's,
 * KCM's and the benchmark's own creates), as the ceiling run does.
 */
export function ceilingFraction(
  ceiling: CeilingRun,
  writesPerObject: Record<string, number>,
  objectsPerSecond: number,
): CeilingFraction {
  const total = Object.values(writesPerObject).reduce((a, b) => a + b, 0);
  const writesPerSecond = objectsPerSecond * total;
  return {
    writesPerSecond: round(writesPerSecond, 1),
    ceilingWritesPerSecond: ceiling.writesPerSecond,
    fraction: round(writesPerSecond / ceiling.writesPerSecond),
  };
}
