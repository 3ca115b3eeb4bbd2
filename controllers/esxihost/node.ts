// The Node (virtual-kubelet style) and Lease an ESXi host should have. Pure functions.
import type { V1Node, V1NodeCondition, V1Taint } from "@kubernetes/client-node";
import { ESXI_HOST_LABEL, HOST_INDEX_ANNOTATION, VSPHERE_CLUSTER_LABEL } from "../api/contracts.ts";
import { type ESXiHost, ESXiHostResource } from "../api/vsphere/esxihost.ts";
import { rfc3339 } from "../runtime/conditions.ts";
import { controllerRef } from "../runtime/owner.ts";
import { deepEqual } from "../runtime/patch.ts";
import { apiVersionOf } from "../runtime/resource.ts";
import { uuidFrom } from "../shared/ids.ts";

export { desiredLease, LEASE_NAMESPACE } from "../shared/kubelet/lease.ts";

import { readyConditions } from "../shared/kubelet/nodeconditions.ts";
import { hostCapacity, PROVIDER_TAINT } from "../shared/placement/inventory.ts";
import { formatBytes, formatCpu, type Resources } from "../shared/quantity.ts";

export const SPHERELET_VERSION = "v1.37.2-spherelet";
export const ESXI_VERSION = "8.0.3";
const MAX_HOSTS = 64_000;

/** The index a Node was given (it numbers the default pod CIDR and management IP). */
export function hostIndexOf(node: V1Node | undefined): number | undefined {
  const v = node?.metadata?.annotations?.[HOST_INDEX_ANNOTATION];
  return v === undefined ? undefined : Number(v);
}

/** The lowest index not in `used`. */
export function lowestFreeIndex(used: Set<number>): number {
  for (let i = 0; i < MAX_HOSTS; i++) if (!used.has(i)) return i;
  throw new Error(`more than ${MAX_HOSTS} ESXi hosts`);
}

/** Default pod CIDR: 10.<128 + i/256>.<i%256>.0/24 — unique for 32,768 hosts. */
export function defaultPodCIDR(index: number): string {
  return `10.${128 + Math.floor(index / 256)}.${index % 256}.0/24`;
}

/** Default management address: 172.16.0.0/12, skipping .0, .1 and .255 of each /24. */
export function defaultManagementIP(index: number): string {
  const perBlock = 253;
  const block = Math.floor(index / perBlock);
  return `172.${16 + Math.floor(block / 256)}.${block % 256}.${(index % perBlock) + 2}`;
}

export interface DesiredNode {
  /** metadata and spec, for a merge patch or a create. */
  node: V1Node;
  /** status, for the /status subresource. */
  status: NonNullable<V1Node["status"]>;
}

/**
 * The Node for `host`. `current` keeps what others own: taints added by the node lifecycle
 * controller, condition transition times, the pod CIDR once set (immutable).
 */
export function desiredNode(
  host: ESXiHost,
  index: number,
  allocatable: Resources,
  current: V1Node | undefined,
  now: Date,
): DesiredNode {
  return {
    node: nodeObject(host, index, current),
    status: nodeStatus(host, index, allocatable, current, now),
  };
}

/** metadata and spec. */
function nodeObject(host: ESXiHost, index: number, current: V1Node | undefined): V1Node {
  const name = host.metadata.name ?? "";
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name,
      labels: {
        type: "virtual-kubelet",
        "kubernetes.io/role": "agent",
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        // A kubelet registers with the deprecated beta labels too; without them the node lifecycle
        // controller adds them, one more write per node.
        "beta.kubernetes.io/os": "linux",
        "beta.kubernetes.io/arch": "amd64",
        "node.kubernetes.io/instance-type": "esxi",
        "topology.kubernetes.io/zone": host.spec.zone,
        [VSPHERE_CLUSTER_LABEL]: host.spec.clusterName,
        [ESXI_HOST_LABEL]: name,
      },
      // node.alpha.kubernetes.io/ttl is the TTL controller's (it changes with cluster size): not ours to set.
      annotations: { [HOST_INDEX_ANNOTATION]: String(index) },
      ownerReferences: [
        controllerRef({
          apiVersion: apiVersionOf(ESXiHostResource),
          kind: ESXiHostResource.kind,
          metadata: host.metadata,
        }),
      ],
    },
    spec: {
      podCIDR: current?.spec?.podCIDR ?? host.spec.podCIDR ?? defaultPodCIDR(index),
      podCIDRs: current?.spec?.podCIDRs ?? [host.spec.podCIDR ?? defaultPodCIDR(index)],
      providerID: `vsphere://${name}`,
      taints: withProviderTaint(current?.spec?.taints),
      unschedulable: host.spec.maintenanceMode || undefined,
    },
  };
}

/**
 * The Node's taints with ours in place: others' taints (node.kubernetes.io/not-ready, which the
 * API server's admission adds to every new Node, say) stay where they are, and ours keeps its
 * position, so a taint list already right is not rewritten in another order (a write per Node).
 */
export function withProviderTaint(current: V1Taint[] | undefined): V1Taint[] {
  const taints = current ?? [];
  const at = taints.findIndex((t) => t.key === PROVIDER_TAINT.key);
  if (at < 0) return [...taints, PROVIDER_TAINT];
  return taints
    .map((t, i) => (i === at ? PROVIDER_TAINT : t))
    .filter((t, i) => i <= at || t.key !== PROVIDER_TAINT.key);
}

/** What the Spherelet posts to /status, as a kubelet does. */
function nodeStatus(
  host: ESXiHost,
  index: number,
  allocatable: Resources,
  current: V1Node | undefined,
  now: Date,
): DesiredNode["status"] {
  const name = host.metadata.name ?? "";
  const cap = hostCapacity(host);
  const uuid = uuidFrom(name);
  const conditions = readyConditions(rfc3339(now)).map((c) => {
    const old = current?.status?.conditions?.find((o) => o.type === c.type);
    return old && old.status === c.status ? { ...c, lastTransitionTime: old.lastTransitionTime } : c;
  });
  return {
    capacity: { cpu: formatCpu(cap.cpuMilli), memory: formatBytes(cap.memory), pods: String(cap.pods) },
    allocatable: {
      cpu: formatCpu(Math.max(0, allocatable.cpuMilli)),
      memory: formatBytes(Math.max(0, allocatable.memory)),
      pods: String(Math.max(0, allocatable.pods)),
    },
    conditions,
    addresses: [
      { type: "InternalIP", address: host.spec.managementIP ?? defaultManagementIP(index) },
      { type: "Hostname", address: name },
    ],
    daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
    nodeInfo: {
      machineID: uuid.replaceAll("-", ""),
      systemUUID: uuid,
      bootID: uuidFrom(`${name}/boot`),
      kernelVersion: ESXI_VERSION,
      osImage: `VMware ESXi ${ESXI_VERSION}`,
      containerRuntimeVersion: "spherelet://1.0.0",
      kubeletVersion: SPHERELET_VERSION,
      kubeProxyVersion: "",
      operatingSystem: "linux",
      architecture: "amd64",
    },
  };
}

/**
 * True when the Node's status must be posted: something other than heartbeat times differs, or
 * the last post is older than `maxIntervalMs` (the kubelet's nodeStatusReportFrequency).
 */
export function nodeStatusStale(
  current: V1Node | undefined,
  desired: DesiredNode["status"],
  now: Date,
  maxIntervalMs: number,
): boolean {
  const cur = current?.status;
  if (!cur) return true;
  const strip = (cs: V1NodeCondition[] | undefined) =>
    (cs ?? [])
      .map((c) => ({ type: c.type, status: c.status, reason: c.reason, message: c.message }))
      .sort((a, b) => a.type.localeCompare(b.type));
  if (!deepEqual(strip(cur.conditions), strip(desired.conditions))) return true;
  for (const k of ["capacity", "allocatable", "addresses", "nodeInfo", "daemonEndpoints"] as const) {
    if (!deepEqual(cur[k], desired[k])) return true;
  }
  const ready = cur.conditions?.find((c) => c.type === "Ready");
  const last = ready?.lastHeartbeatTime
    ? new Date(ready.lastHeartbeatTime as unknown as string).getTime()
    : 0;
  return now.getTime() - last >= maxIntervalMs;
}
