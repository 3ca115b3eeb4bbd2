// Pure functions from cached objects to the UI's rows (model.ts). Nothing here reads a cache or the
// network; live.ts feeds them.
import type { EventsV1Event, V1Pod } from "@kubernetes/client-node";
import type { Machine } from "../api/cluster/machine.ts";
import { CapiLabels as Labels, NODE_POOL_LABEL } from "../api/contracts.ts";
import type { TanzuKubernetesCluster } from "../api/run/tanzukubernetescluster.ts";
import type { VirtualMachine } from "../api/vmoperator/virtualmachine.ts";
import type { VirtualMachineService } from "../api/vmoperator/virtualmachineservice.ts";
import type { ESXiHost } from "../api/vsphere/esxihost.ts";
import type { SupervisorNamespace } from "../api/vsphere/supervisornamespace.ts";
import type { VSpherePod } from "../api/vsphere/vspherepod.ts";
import { must } from "../runtime/must.js";
import { bytes, cpuMilli, type Resources } from "../shared/quantity.ts";
import type {
  EventRow,
  HostRow,
  HostState,
  MachineRow,
  NamespaceRow,
  PodRow,
  TkcRow,
  VipRow,
  VMRow,
  VSpherePodRow,
} from "./model.ts";

/** What the inventory knows of a host besides the ESXiHost object. */
export interface HostFacts {
  pods: Resources;
  podCount: number;
  vms: Resources;
  vmCount: number;
}

export function hostState(h: ESXiHost): HostState {
  const conn = h.status?.connectionState ?? "connected";
  if (conn !== "connected") return conn;
  if (h.spec.maintenanceMode) return h.status?.inMaintenanceMode ? "maintenance" : "enteringMaintenance";
  return "connected";
}

export function hostRow(h: ESXiHost, f: HostFacts): HostRow {
  const name = must(h.metadata.name, "name");
  return {
    id: `host/${name}`,
    res: "esxihosts",
    name,
    cluster: h.spec.clusterName,
    zone: h.spec.zone,
    state: hostState(h),
    maintenanceMode: h.spec.maintenanceMode,
    cpu: { capacity: safe(cpuMilli, h.spec.capacity.cpu), vms: f.vms.cpuMilli, pods: f.pods.cpuMilli },
    memory: { capacity: safe(bytes, h.spec.capacity.memory), vms: f.vms.memory, pods: f.pods.memory },
    podCapacity: h.spec.capacity.pods,
    podCount: f.podCount,
    vmCount: f.vmCount,
  };
}

/** Pods on an ESXi host's Node (the VSpherePod's pod, or any pod the kube-scheduler bound there). */
export function podRow(p: V1Pod): PodRow | undefined {
  const host = p.spec?.nodeName;
  if (!host || !p.metadata?.namespace || !p.metadata.name) return undefined;
  const owner = p.metadata.ownerReferences?.find((r) => r.kind === "VSpherePod");
  return {
    id: `pod/${p.metadata.namespace}/${p.metadata.name}`,
    res: "pods",
    ns: p.metadata.namespace,
    name: p.metadata.name,
    host,
    phase: p.metadata.deletionTimestamp ? "Terminating" : (p.status?.phase ?? "Pending"),
    ...(owner ? { vspherePod: owner.name } : {}),
  };
}

export function vspherePodRow(v: VSpherePod): VSpherePodRow {
  const ns = must(v.metadata.namespace, "namespace");
  return {
    id: `vpod/${ns}/${v.metadata.name}`,
    res: "vspherepods",
    ns,
    name: must(v.metadata.name, "name"),
    host: v.status?.hostName,
    phase: v.status?.phase ?? "Pending",
    ip: v.status?.podIP,
    ready: v.status?.conditions?.find((c) => c.type === "Ready")?.status === "True",
  };
}

export function vmRow(vm: VirtualMachine): VMRow {
  const ns = must(vm.metadata.namespace, "namespace");
  return {
    id: `vm/${ns}/${vm.metadata.name}`,
    res: "virtualmachines",
    ns,
    name: must(vm.metadata.name, "name"),
    className: vm.spec.className,
    powerState: vm.spec.powerState,
    observedPower: vm.status?.powerState,
    host: vm.status?.host,
    ip: vm.status?.network?.primaryIP4,
    cluster: vm.metadata.labels?.[Labels.capvClusterName] ?? vm.metadata.labels?.[Labels.clusterName],
  };
}

export function namespaceRow(s: SupervisorNamespace): NamespaceRow {
  const name = must(s.metadata.name, "name");
  const u = s.status?.usage ?? {};
  return {
    id: `svns/${name}`,
    res: "supervisornamespaces",
    ns: name,
    name,
    configStatus: s.status?.configStatus ?? "Configuring",
    limits: {
      cpu: safe(cpuMilli, s.spec.limits?.cpu),
      memory: safe(bytes, s.spec.limits?.memory),
      storage: safe(bytes, s.spec.limits?.storage),
    },
    usage: {
      cpu: safe(cpuMilli, u.cpu),
      memory: safe(bytes, u.memory),
      storage: safe(bytes, u.storage),
      pods: Number(u.pods ?? 0) || 0,
    },
    access: (s.spec.access ?? []).map((a) => ({
      subject: a.subject,
      subjectType: a.subjectType,
      role: a.role,
    })),
    storagePolicies: (s.status?.storageClasses ?? []).map((c) => ({
      name: c.name ?? "",
      limit: safe(bytes, c.limit),
      used: safe(bytes, c.used),
    })),
    vmClasses: s.status?.vmClasses ?? s.spec.vmClasses ?? [],
  };
}

export function tkcRow(t: TanzuKubernetesCluster): TkcRow {
  const ns = must(t.metadata.namespace, "namespace");
  const nodes = Object.values(t.status?.nodeStatus ?? {});
  const cp = t.spec.topology.controlPlane;
  const ep = t.status?.apiEndpoints?.[0];
  return {
    id: `tkc/${ns}/${t.metadata.name}`,
    res: "tanzukubernetesclusters",
    ns,
    name: must(t.metadata.name, "name"),
    phase: t.status?.phase ?? "creating",
    version: t.status?.version ?? cp.tkr?.reference?.name ?? "",
    controlPlane: { replicas: cp.replicas, vmClass: cp.vmClass },
    pools: (t.spec.topology.nodePools ?? []).map((p) => ({
      name: p.name,
      replicas: p.replicas,
      vmClass: p.vmClass,
    })),
    nodesReady: nodes.filter((s) => s === "ready").length,
    nodesTotal: nodes.length,
    ...(ep ? { endpoint: `${ep.host}:${ep.port}` } : {}),
  };
}

export function machineRow(m: Machine): MachineRow {
  const ns = must(m.metadata.namespace, "namespace");
  const labels = m.metadata.labels ?? {};
  const cluster = labels[Labels.clusterName] ?? m.spec.clusterName;
  const pool = labels[NODE_POOL_LABEL] ?? labels[Labels.deploymentName]?.replace(`${cluster}-`, "");
  return {
    id: `machine/${ns}/${m.metadata.name}`,
    res: "machines",
    ns,
    name: must(m.metadata.name, "name"),
    cluster,
    role: Labels.controlPlane in labels ? "control-plane" : (pool ?? "worker"),
    phase: m.metadata.deletionTimestamp ? "Deleting" : (m.status?.phase ?? "Pending"),
    version: m.spec.version,
    vm: m.spec.infrastructureRef.name,
  };
}

export function vipRow(s: VirtualMachineService): VipRow {
  const ns = must(s.metadata.namespace, "namespace");
  return {
    id: `vmsvc/${ns}/${s.metadata.name}`,
    res: "virtualmachineservices",
    ns,
    name: must(s.metadata.name, "name"),
    type: s.spec.type,
    vip: s.status?.loadBalancer?.ingress?.[0]?.ip,
    ports: (s.spec.ports ?? []).map((p) => `${p.port}/${p.protocol}`).join(", "),
  };
}

/** The API groups of the kinds Pacific runs: only their Warning events are shown. */
export const PACIFIC_GROUPS = new Set([
  "vsphere.pacific.dev",
  "run.tanzu.vmware.com",
  "cluster.x-k8s.io",
  "controlplane.cluster.x-k8s.io",
  "vmoperator.vmware.com",
]);

/** A Warning event about one of Pacific's objects; undefined for any other event. */
export function eventRow(e: EventsV1Event): EventRow | undefined {
  if (e.type !== "Warning" || !e.metadata?.namespace || !e.metadata.name) return undefined;
  const group = (e.regarding?.apiVersion ?? "").split("/");
  if (group.length < 2 || !PACIFIC_GROUPS.has(group[0] ?? "")) return undefined;
  const time = Date.parse(
    String(
      e.series?.lastObservedTime ??
        e.eventTime ??
        e.deprecatedLastTimestamp ??
        e.metadata.creationTimestamp ??
        "",
    ),
  );
  return {
    id: `event/${e.metadata.namespace}/${e.metadata.name}`,
    res: "events",
    ns: e.metadata.namespace,
    name: e.metadata.name,
    reason: e.reason ?? "",
    note: e.note ?? "",
    regarding: {
      kind: e.regarding?.kind ?? "",
      name: e.regarding?.name ?? "",
      ...(e.regarding?.namespace ? { namespace: e.regarding.namespace } : {}),
    },
    time: Number.isNaN(time) ? 0 : time,
    count: e.series?.count ?? e.deprecatedCount ?? 1,
  };
}

/** A malformed quantity (the API server validates them, but a row must never throw) counts as 0. */
function safe(f: (q: string | number | undefined) => number, q: string | number | undefined): number {
  try {
    return f(q);
  } catch {
    return 0;
  }
}
