// The Spherelet's pod loop: one key per ESXi host (like a kubelet's sync loop), so admission on a
// host is decided one pod at a time. For every pod bound to the host: admit or reject
// (OutOfcpu/OutOfmemory/OutOfpods), Pending → Running after the start delay, Ready again after an
// outage, and graceful deletion ending in terminated containers and the object removed.
// A failed host (heartbeats off) does nothing at all, as a dead kubelet would.
import type { V1Node, V1Pod, V1PodStatus } from "@kubernetes/client-node";
import PQueue from "p-queue";
import { ESXiHostResource } from "../api/vsphere/esxihost.ts";
import { heartbeatsOn } from "../esxihost/status.ts";
import { ESXI_NODES, type Inventory, NODE_INDEX, nodeChanged } from "../placement/inventory.ts";
import { addResources, bytes, cpuMilli, podRequests, type Resources, zeroResources } from "../quantity.ts";
import type { KubeClient } from "../runtime/client.ts";
import { anyChange, type Reconciler, type Request, type Result } from "../runtime/controller.ts";
import { isConflict, isNotFound } from "../runtime/errors.ts";
import type { Logger } from "../runtime/log.ts";
import type { Manager } from "../runtime/manager.ts";
import { Nodes, Pods } from "../runtime/resource.ts";
import { Annotations, delayWithJitter, durationOr, type SimulationSettings } from "../settings.ts";
import { completionTime, runsToCompletion, succeededStatus } from "./completion.ts";
import {
  admit,
  allocatePodIP,
  isAdmitted,
  isTerminalPod,
  needsReadyAgain,
  pendingStatus,
  rejectedStatus,
  runningStatus,
  terminatedStatus,
} from "./pod.ts";

// A written status only bridges the gap between our write and its watch event (milliseconds).
const WRITTEN_TTL_MS = 5_000;

export class SpherletReconciler implements Reconciler {
  /** Statuses written but not yet seen in the cache, by pod uid (so a quick re-run sees them). */
  private readonly written = new Map<string, { resourceVersion: string; status: V1PodStatus; at: number }>();
  private readonly writes = new PQueue({ concurrency: 64 });

  constructor(
    private readonly client: KubeClient,
    private readonly inv: Inventory,
    private readonly settings: SimulationSettings,
  ) {
    const observe = (p: V1Pod) => {
      const w = this.written.get(p.metadata?.uid ?? "");
      if (w && (w.resourceVersion === p.metadata?.resourceVersion || Date.now() - w.at > WRITTEN_TTL_MS)) {
        this.written.delete(p.metadata!.uid!);
      }
    };
    inv.pods.addHandler({
      add: observe,
      update: (_o, n) => observe(n),
      delete: (p) => this.written.delete(p.metadata?.uid ?? ""),
    });
  }

  async reconcile(req: Request, log: Logger): Promise<Result | undefined> {
    const host = this.inv.hosts.store.get(req.name);
    const node = this.inv.nodes.store.get(req.name);
    if (!host || !node || !heartbeatsOn(host)) return undefined;
    const hostIP = node.status?.addresses?.find((a) => a.type === "InternalIP")?.address;
    const cidr = node.spec?.podCIDR;
    if (!hostIP || !cidr) return undefined; // the ESXiHost controller has not posted the node yet

    const now = new Date();
    const pods = this.inv.pods.store.byIndex(NODE_INDEX, req.name).map((p) => this.effective(p));
    const allocatable = nodeAllocatable(node);
    let used = zeroResources;
    const usedIPs = new Set<string>();
    for (const p of pods) {
      if (!isAdmitted(p) || isTerminalPod(p)) continue;
      used = addResources(used, podRequests(p.spec));
      if (p.status?.podIP) usedIPs.add(p.status.podIP);
    }

    let wakeAt = Number.POSITIVE_INFINITY;
    const work: Array<() => Promise<void>> = [];
    // Oldest first, as pods arrive at a kubelet.
    const ordered = [...pods].sort(
      (a, b) =>
        time(a.metadata?.creationTimestamp) - time(b.metadata?.creationTimestamp) ||
        (a.metadata!.name! < b.metadata!.name! ? -1 : 1),
    );
    for (const pod of ordered) {
      if (pod.metadata?.deletionTimestamp) {
        work.push(() => this.finishDeletion(pod, now, log));
        continue;
      }
      if (isTerminalPod(pod)) continue;
      if (!isAdmitted(pod)) {
        const a = admit(allocatable, used, pod);
        if (!a.ok) {
          log.info(
            { kind: "Pod", namespace: pod.metadata?.namespace, name: pod.metadata?.name, reason: a.reason },
            a.message,
          );
          work.push(() => this.writeStatus(pod, rejectedStatus(pod, a.reason, a.message, now)));
          continue;
        }
        used = addResources(used, podRequests(pod.spec));
        const ip = allocatePodIP(cidr, usedIPs);
        if (!ip) continue; // the CIDR is full: stays Pending until an address frees up
        usedIPs.add(ip);
        const delay = this.startDelay(pod);
        // Without a delay the pod goes straight to Running: one write per pod.
        const status =
          delay === 0 ? runningStatus(pod, hostIP, ip, now) : pendingStatus(pod, hostIP, ip, now);
        work.push(() => this.writeStatus(pod, status));
        if (delay > 0) wakeAt = Math.min(wakeAt, now.getTime() + delay);
        else if (runsToCompletion(pod)) wakeAt = Math.min(wakeAt, completionTime({ ...pod, status }, 0));
        continue;
      }
      if (pod.status?.phase === "Pending") {
        const startAt = time(pod.status.startTime) + this.startDelay(pod);
        if (startAt <= now.getTime()) {
          work.push(() => this.writeStatus(pod, runningStatus(pod, hostIP, pod.status!.podIP!, now)));
          if (runsToCompletion(pod)) wakeAt = Math.min(wakeAt, completionTime(pod, this.startDelay(pod)));
        } else wakeAt = Math.min(wakeAt, startAt);
        continue;
      }
      if (runsToCompletion(pod) && pod.status?.phase === "Running") {
        // A Job's pod: its containers exit 0 once they have run their time.
        const doneAt = completionTime(pod, this.startDelay(pod));
        if (doneAt <= now.getTime()) {
          work.push(() => this.writeStatus(pod, succeededStatus(pod, now)));
          continue;
        }
        wakeAt = Math.min(wakeAt, doneAt);
      }
      if (needsReadyAgain(pod))
        work.push(() => this.writeStatus(pod, runningStatus(pod, hostIP, pod.status!.podIP!, now)));
    }
    await Promise.all(work.map((w) => this.writes.add(w)));
    return Number.isFinite(wakeAt) ? { requeueAfter: Math.max(10, wakeAt - Date.now()) } : undefined;
  }

  /** The pod as cached, with a status we wrote but the cache has not shown yet. */
  private effective(p: V1Pod): V1Pod {
    const uid = p.metadata?.uid ?? "";
    const w = this.written.get(uid);
    if (!w) return p;
    if (Date.now() - w.at > WRITTEN_TTL_MS) {
      this.written.delete(uid);
      return p;
    }
    return { ...p, status: w.status };
  }

  private startDelay(pod: V1Pod): number {
    const a = pod.metadata?.annotations ?? {};
    const delay = durationOr(a[Annotations.podStartDelay], this.settings.podStartDelayMs);
    const jitter = durationOr(a[Annotations.podStartJitter], this.settings.podStartJitterMs);
    return delayWithJitter(delay, jitter, pod.metadata?.uid ?? "");
  }

  private async writeStatus(pod: V1Pod, status: V1PodStatus): Promise<void> {
    try {
      const updated = await this.client.patch<V1Pod>(
        Pods,
        pod.metadata!.name!,
        pod.metadata!.namespace,
        { metadata: { uid: pod.metadata!.uid }, status } as object,
        { subresource: "status" },
      );
      this.written.set(pod.metadata!.uid!, {
        resourceVersion: updated.metadata!.resourceVersion!,
        status: updated.status!,
        at: Date.now(),
      });
    } catch (e) {
      if (isNotFound(e) || isConflict(e)) return; // gone, or replaced by a pod of the same name
      throw e;
    }
  }

  /** Stops the containers, then removes the object (the kubelet's final delete with grace 0). */
  private async finishDeletion(pod: V1Pod, now: Date, log: Logger): Promise<void> {
    const ns = pod.metadata!.namespace!;
    const name = pod.metadata!.name!;
    try {
      if (
        !isTerminalPod(pod) &&
        isAdmitted(pod) &&
        pod.status?.containerStatuses?.some((c) => !c.state?.terminated)
      ) {
        await this.writeStatus(pod, terminatedStatus(pod, now));
      }
      await this.client.delete(Pods, name, ns, { gracePeriodSeconds: 0, uid: pod.metadata!.uid });
      log.debug({ kind: "Pod", namespace: ns, name }, "pod terminated and removed");
    } catch (e) {
      if (isNotFound(e) || isConflict(e)) return;
      throw e;
    }
  }
}

function time(t: Date | string | undefined): number {
  return t ? new Date(t as string).getTime() : 0;
}

export function nodeAllocatable(node: V1Node): Resources {
  const a = node.status?.allocatable ?? {};
  return { cpuMilli: cpuMilli(a.cpu), memory: bytes(a.memory), pods: Number(a.pods ?? 0) };
}

export function setupSpherelet(mgr: Manager, inv: Inventory, settings: SimulationSettings): void {
  const toHost = (name: string | undefined) => (name && inv.hosts.store.get(name) ? [{ name }] : []);
  mgr
    .controller("spherelet")
    .for(ESXiHostResource)
    .watches(Nodes, (n) => toHost(n.metadata?.name), { informer: ESXI_NODES, predicate: nodeChanged })
    .watches(Pods, (p) => toHost((p as V1Pod).spec?.nodeName), { predicate: anyChange })
    .withOptions({ maxConcurrentReconciles: 32 })
    .complete(new SpherletReconciler(mgr.client, inv, settings));
}
