// One pass of a host's pod loop, decided without I/O: for every pod bound to the host, what the
// Spherelet does next (admit or reject, start, mark Ready again, finish a deletion) and when to look
// again. The reconciler carries the actions out.
import type { V1Node, V1Pod, V1PodStatus } from "@kubernetes/client-node";
import { addResources, bytes, cpuMilli, podRequests, type Resources, zeroResources } from "../quantity.ts";
import type { NodeAdmission } from "./admission.ts";
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
} from "./pod.ts";

export type PodAction =
  | { kind: "status"; pod: V1Pod; status: V1PodStatus; rejected?: { reason: string; message: string } }
  | { kind: "finishDeletion"; pod: V1Pod };

export interface HostPass {
  actions: PodAction[];
  /** When a pending pod is due to start, or a Job's pod to complete (epoch ms), if one is. */
  wakeAt?: number;
}

export interface HostNode {
  hostIP: string;
  podCIDR: string;
  allocatable: Resources;
}

/** What the Spherelet needs of its Node, or undefined until the ESXiHost controller posted it. */
export function hostNode(node: V1Node): HostNode | undefined {
  const hostIP = node.status?.addresses?.find((a) => a.type === "InternalIP")?.address;
  const podCIDR = node.spec?.podCIDR;
  if (!hostIP || !podCIDR) return undefined;
  return { hostIP, podCIDR, allocatable: nodeAllocatable(node) };
}

export function nodeAllocatable(node: V1Node): Resources {
  const a = node.status?.allocatable ?? {};
  return { cpuMilli: cpuMilli(a.cpu), memory: bytes(a.memory), pods: Number(a.pods ?? 0) };
}

function time(t: Date | string | undefined): number {
  return t ? new Date(t as string).getTime() : 0;
}

/** Oldest first, as pods arrive at a kubelet. */
function byArrival(a: V1Pod, b: V1Pod): number {
  const an = a.metadata?.name ?? "";
  const bn = b.metadata?.name ?? "";
  return time(a.metadata?.creationTimestamp) - time(b.metadata?.creationTimestamp) || (an < bn ? -1 : 1);
}

/** What admitted, live pods hold: resources and pod IPs. */
function inUse(pods: V1Pod[]): { used: Resources; ips: Set<string> } {
  let used = zeroResources;
  const ips = new Set<string>();
  for (const p of pods) {
    if (!isAdmitted(p) || isTerminalPod(p)) continue;
    used = addResources(used, podRequests(p.spec));
    if (p.status?.podIP) ips.add(p.status.podIP);
  }
  return { used, ips };
}

/**
 * The pass over `pods` (as the Spherelet last wrote them). `startDelay` is a pod's delay from
 * admitted to Running (0: straight to Running, one write per pod).
 */
export function planHost(
  host: HostNode,
  pods: V1Pod[],
  now: Date,
  startDelay: (pod: V1Pod) => number,
  hostCheck: NodeAdmission = { admits: true },
): HostPass {
  const held = inUse(pods);
  let used = held.used;
  const ips = held.ips;
  let wakeAt = Number.POSITIVE_INFINITY;
  const actions: PodAction[] = [];
  const status = (pod: V1Pod, s: V1PodStatus) => actions.push({ kind: "status", pod, status: s });
  for (const pod of [...pods].sort(byArrival)) {
    if (pod.metadata?.deletionTimestamp) {
      actions.push({ kind: "finishDeletion", pod });
      continue;
    }
    if (isTerminalPod(pod)) continue;
    const podIP = pod.status?.podIP ?? "";
    if (!isAdmitted(pod)) {
      // Maintenance mode, cordoned or not responding: nothing new is admitted, whatever it requests.
      if (!hostCheck.admits) {
        if (hostCheck.action === "reject") {
          const rejected = { reason: hostCheck.reason, message: hostCheck.message };
          actions.push({
            kind: "status",
            pod,
            status: rejectedStatus(pod, hostCheck.reason, hostCheck.message, now),
            rejected,
          });
        }
        continue;
      }
      const a = admit(host.allocatable, used, pod);
      if (!a.ok) {
        const rejected = { reason: a.reason, message: a.message };
        actions.push({
          kind: "status",
          pod,
          status: rejectedStatus(pod, a.reason, a.message, now),
          rejected,
        });
        continue;
      }
      used = addResources(used, podRequests(pod.spec));
      const ip = allocatePodIP(host.podCIDR, ips);
      if (!ip) continue; // the CIDR is full: stays Pending until an address frees up
      ips.add(ip);
      const delay = startDelay(pod);
      const s = (delay === 0 ? runningStatus : pendingStatus)(pod, host.hostIP, ip, now);
      status(pod, s);
      if (delay > 0) wakeAt = Math.min(wakeAt, now.getTime() + delay);
      else if (runsToCompletion(pod)) wakeAt = Math.min(wakeAt, completionTime({ ...pod, status: s }, 0));
    } else if (pod.status?.phase === "Pending") {
      const startAt = time(pod.status.startTime) + startDelay(pod);
      if (startAt <= now.getTime()) {
        status(pod, runningStatus(pod, host.hostIP, podIP, now));
        if (runsToCompletion(pod)) wakeAt = Math.min(wakeAt, completionTime(pod, startDelay(pod)));
      } else wakeAt = Math.min(wakeAt, startAt);
    } else if (runsToCompletion(pod) && completionTime(pod, startDelay(pod)) <= now.getTime()) {
      // A Job's pod: its containers exit 0 once they have run their time.
      status(pod, succeededStatus(pod, now));
    } else {
      if (runsToCompletion(pod)) wakeAt = Math.min(wakeAt, completionTime(pod, startDelay(pod)));
      if (needsReadyAgain(pod)) status(pod, runningStatus(pod, host.hostIP, podIP, now));
    }
  }
  return { actions, wakeAt: Number.isFinite(wakeAt) ? wakeAt : undefined };
}
