// The guest node agent's decisions, as pure functions: what each Machine of a TKC is to its guest
// cluster (a Node that runs, one that has stopped heartbeating, one being drained away, or none
// yet), and the Node a Machine registers — as a kubelet joining with kubeadm would: named after the
// Machine's nodeRef, providerID vsphere://<biosUUID>, capacity from the VM class, kubelet version
// from the Machine's (the TKR's) version, the control-plane role label, and the labels and taints
// of the Machine's node registration (kubeadm's NoSchedule taint on control-plane nodes, the node
// pool's labels and taints on workers: shared/noderegistration.ts).
import type { V1Node, V1Pod, V1Taint } from "@kubernetes/client-node";
import type { Machine } from "../api/cluster/machine.ts";
import { CapiLabels } from "../api/contracts.ts";
import type { VirtualMachine } from "../api/vmoperator/virtualmachine.ts";
import type { VirtualMachineClass } from "../api/vmoperator/virtualmachineclass.ts";
import { rfc3339 } from "../runtime/conditions.ts";
import { uuidFrom } from "../shared/ids.ts";
import { readyConditions } from "../shared/kubelet/nodeconditions.ts";
import {
  CONTROL_PLANE_ROLE,
  controlPlaneRegistration,
  type NodeRegistration,
  nodeRegistrationOf,
} from "../shared/noderegistration.ts";
import { bytes, formatBytes } from "../shared/quantity.ts";

/** On the VM: its Node is drained and deleted in the guest before the VM may go. */
export const DRAIN_FINALIZER = "guestnode.pacific.dev/drain";
/** Cluster API's nodeDrainTimeout when the Machine names none (theirs is unbounded; ours is not). */
export const DEFAULT_DRAIN_TIMEOUT_MS = 120_000;
export { CONTROL_PLANE_ROLE };
/** Marks the Nodes this agent registered (a Node without it is not ours to drain or delete). */
export const GUEST_NODE_LABEL = "guestnode.pacific.dev/machine";
const PODS_PER_NODE = 110;

/** A Machine with what the agent reads about it. */
export interface MachineView {
  machine: Machine;
  vm?: VirtualMachine;
  vmClass?: VirtualMachineClass;
  /** The ESXi host the VM runs on answers (a failed host runs nothing). */
  hostUp: boolean;
}

export type NodePlan =
  /** No Node yet (the VM has not come up) and none to remove. */
  | { kind: "none" }
  /** VM powered on: the Node exists, heartbeats and runs its pods. */
  | { kind: "run"; node: string }
  /** VM powered off or its host failed: no heartbeat (the guest's KCM marks it NotReady/Unknown). */
  | { kind: "stopped"; node: string }
  /** Machine or VM being deleted: cordon, evict, delete the Node, then let the VM go. */
  | { kind: "drain"; node: string; deadline: number };

export function nodeNameOf(m: Machine): string {
  return m.status?.nodeRef?.name ?? m.metadata.name ?? "";
}

export function isControlPlane(m: Machine): boolean {
  return m.metadata.labels?.[CapiLabels.controlPlane] !== undefined;
}

function time(t: string | Date | undefined): number {
  return t ? new Date(t as string).getTime() : Number.NaN;
}

/** "2m", "90s", "1h30m" (a metav1.Duration) in ms; undefined when absent or malformed. */
export function durationMs(d: string | undefined): number | undefined {
  if (!d) return undefined;
  const parts = [...d.matchAll(/(\d+(?:\.\d+)?)(h|ms|m|s)/g)];
  if (!parts.length || parts.map((p) => p[0]).join("") !== d) return undefined;
  const unit: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };
  return parts.reduce((sum, p) => sum + Number(p[1]) * (unit[p[2] ?? "s"] ?? 0), 0);
}

/** What `v`'s Machine is to the guest now; `registered` says whether the guest has its Node. */
export function planMachine(v: MachineView, registered: boolean): NodePlan {
  const node = nodeNameOf(v.machine);
  const deleting = [v.machine.metadata.deletionTimestamp, v.vm?.metadata.deletionTimestamp]
    .map((t) => time(t as string | undefined))
    .filter((t) => !Number.isNaN(t));
  if (deleting.length) {
    if (!registered) return { kind: "none" };
    const timeout = durationMs(v.machine.spec.nodeDrainTimeout) ?? DEFAULT_DRAIN_TIMEOUT_MS;
    return { kind: "drain", node, deadline: Math.min(...deleting) + timeout };
  }
  const poweredOn = v.vm?.status?.powerState === "PoweredOn" && v.hostUp;
  if (poweredOn && v.machine.status?.nodeRef?.name && v.machine.spec.providerID) return { kind: "run", node };
  return registered ? { kind: "stopped", node } : { kind: "none" };
}

function quantityOfMemory(m: number | string | undefined): string {
  return formatBytes(typeof m === "number" ? m : bytes(m ?? "0"));
}

const NO_REGISTRATION: NodeRegistration = { labels: {}, taints: [] };

/** What the Machine's kubelet registers with; a Machine made before the annotation, kubeadm's defaults. */
export function registrationOf(m: Machine): NodeRegistration {
  return nodeRegistrationOf(
    m.metadata.annotations,
    isControlPlane(m) ? controlPlaneRegistration : NO_REGISTRATION,
  );
}

/** The Node `v`'s Machine registers (metadata, spec and status: one create). */
export function desiredGuestNode(v: MachineView, now: Date): V1Node {
  const m = v.machine;
  const name = nodeNameOf(m);
  const cp = isControlPlane(m);
  const hw = v.vmClass?.spec.hardware ?? {};
  const capacity = {
    cpu: String(hw.cpus ?? 2),
    memory: quantityOfMemory(hw.memory ?? "4Gi"),
    pods: String(PODS_PER_NODE),
    "ephemeral-storage": "16Gi",
  };
  const ip =
    m.status?.addresses?.find((a) => a.type === "InternalIP")?.address ?? v.vm?.status?.network?.primaryIP4;
  const reg = registrationOf(m);
  const uuid = (m.spec.providerID ?? "").replace(/^vsphere:\/\//, "") || uuidFrom(name);
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name,
      labels: {
        ...reg.labels,
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/os": "linux",
        "beta.kubernetes.io/arch": "amd64",
        "node.kubernetes.io/instance-type": v.vm?.spec.className ?? "",
        ...(v.vm?.status?.zone ? { "topology.kubernetes.io/zone": v.vm.status.zone } : {}),
        ...(cp ? { [CONTROL_PLANE_ROLE]: "" } : {}),
        [GUEST_NODE_LABEL]: m.metadata.name ?? "",
      },
    },
    spec: {
      providerID: m.spec.providerID,
      taints: reg.taints satisfies V1Taint[],
    },
    status: {
      capacity,
      allocatable: capacity,
      conditions: readyConditions(rfc3339(now)),
      addresses: [...(ip ? [{ type: "InternalIP", address: ip }] : []), { type: "Hostname", address: name }],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: {
        machineID: uuid.replaceAll("-", ""),
        systemUUID: uuid,
        bootID: uuidFrom(`${name}/boot/${m.metadata.uid ?? ""}`),
        kernelVersion: "4.19.256-4.ph3",
        osImage: "VMware Photon OS/Linux",
        containerRuntimeVersion: "containerd://1.6.18+pacific",
        kubeletVersion: m.spec.version ?? "",
        kubeProxyVersion: "",
        operatingSystem: "linux",
        architecture: "amd64",
      },
    },
  };
}

/** True when the Node's Ready condition is not True (the guest's KCM marked it while it was away). */
export function needsReadyStatus(node: V1Node): boolean {
  return node.status?.conditions?.find((c) => c.type === "Ready")?.status !== "True";
}

/** Pods a drain evicts: not already going, not a DaemonSet's, not a static (mirror) pod, not done. */
export function evictable(p: {
  metadata?: {
    deletionTimestamp?: unknown;
    ownerReferences?: Array<{ kind: string; controller?: boolean }>;
    annotations?: Record<string, string>;
  };
  status?: { phase?: string };
}): boolean {
  if (p.metadata?.deletionTimestamp) return false;
  if (p.metadata?.annotations?.["kubernetes.io/config.mirror"]) return false;
  if (p.metadata?.ownerReferences?.some((r) => r.controller && r.kind === "DaemonSet")) return false;
  return p.status?.phase !== "Succeeded" && p.status?.phase !== "Failed";
}

/** What a drain does next on a Node: cordon it, evict these pods, or nothing more (done). */
export interface DrainStep {
  cordon: boolean;
  /** Pods to evict now (through the Eviction API: a PodDisruptionBudget may refuse, then retry). */
  evict: V1Pod[];
  /** Nothing but DaemonSet pods is left, or the drain timed out with `left` pods: delete the Node. */
  done: boolean;
  timedOut: boolean;
  left: number;
}

/**
 * The next step of draining `node` with `pods` bound to it, as `kubectl drain` (Cluster API's
 * machine controller) goes: cordon; evict every pod but DaemonSet and mirror pods; wait for them to
 * go; past `deadline` (the Machine's nodeDrainTimeout) give up and delete the Node anyway.
 */
export function drainStep(node: V1Node, pods: V1Pod[], deadline: number, now: number): DrainStep {
  const running = pods.filter((p) => p.status?.phase !== "Succeeded" && p.status?.phase !== "Failed");
  const left = running.filter(
    (p) => !p.metadata?.ownerReferences?.some((r) => r.controller && r.kind === "DaemonSet"),
  );
  const cordon = !node.spec?.unschedulable;
  if (!left.length) return { cordon, evict: [], done: true, timedOut: false, left: 0 };
  if (now > deadline) return { cordon, evict: [], done: true, timedOut: true, left: left.length };
  return { cordon, evict: left.filter(evictable), done: false, timedOut: false, left: left.length };
}

/**
 * Nodes this agent registered whose Machine and VM are both gone (`machines` names every Machine
 * and every VM still known, deleting ones included) — as the vSphere cloud provider's node
 * lifecycle controller deletes a Node whose VM no longer exists. The normal path drains and deletes
 * a Node before its VM may go; this catches what that path could not (the guest was down while the
 * VM went, or the Node was made again by hand with our label). Nodes without the label are not ours.
 */
export function strayNodes(nodes: V1Node[], machines: ReadonlySet<string>): string[] {
  return nodes
    .filter((n) => {
      const owner = n.metadata?.labels?.[GUEST_NODE_LABEL];
      return owner !== undefined && !machines.has(owner) && !n.metadata?.deletionTimestamp;
    })
    .map((n) => n.metadata?.name ?? "")
    .filter((name) => name !== "");
}
