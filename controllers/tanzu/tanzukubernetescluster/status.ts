// The TanzuKubernetesCluster's status, as pure functions of what the cache holds: the phase
// (creating → running, updating during an upgrade), endpoints, the node and VM maps, and the
// conditions ControlPlaneReady, NodePoolsReady, NodesHealthy, UpdatesAvailable and the Ready summary.
// The mark* functions change the reconciler's working copy. The conditions are Cluster API v1beta1's,
// as upstream's TKC has them (runtime/capiconditions.ts: severity with False, no observedGeneration).
import type { Machine } from "../../api/cluster/machine.ts";
import type { MachineDeployment } from "../../api/cluster/machinedeployment.ts";
import type { KubeadmControlPlane } from "../../api/controlplane/kubeadmcontrolplane.ts";
import type {
  TanzuKubernetesCluster,
  TanzuKubernetesClusterStatus,
} from "../../api/run/tanzukubernetescluster.ts";
import type { TanzuKubernetesRelease } from "../../api/run/tanzukubernetesrelease.ts";
import type { VirtualMachine } from "../../api/vmoperator/virtualmachine.ts";
import { markFalse, markTrue, type V1Beta1Condition } from "../../runtime/capiconditions.ts";
import { type Condition, findCondition } from "../../runtime/conditions.ts";
import { nameOf, upgradesFrom } from "./desired.ts";
import { releaseNotFound } from "./validate.ts";

export type Pool = NonNullable<TanzuKubernetesCluster["spec"]["topology"]["nodePools"]>[number];
type NodeState = NonNullable<TanzuKubernetesClusterStatus["nodeStatus"]>[string];
type VMState = NonNullable<TanzuKubernetesClusterStatus["vmStatus"]>[string];

/** What Ready summarises. */
export const READY_PARTS = ["ControlPlaneReady", "NodePoolsReady"];

const readyOf = (o: { status?: { conditions?: unknown } } | undefined) =>
  findCondition(o?.status?.conditions as Condition[] | undefined, "Ready") as V1Beta1Condition | undefined;

export function markReleaseCompatible(
  obj: TanzuKubernetesCluster,
  release: TanzuKubernetesRelease | undefined,
) {
  if (release) markTrue(obj, "TanzuKubernetesReleaseCompatible", "Compatible");
  else {
    const p = releaseNotFound(obj);
    markFalse(obj, "TanzuKubernetesReleaseCompatible", p.reason, "Warning", p.message);
  }
}

export function markControlPlaneReady(obj: TanzuKubernetesCluster, kcp: KubeadmControlPlane | undefined) {
  const cp = readyOf(kcp);
  if (cp?.status === "True") markTrue(obj, "ControlPlaneReady", "Ready");
  else
    markFalse(
      obj,
      "ControlPlaneReady",
      cp?.reason || "WaitingForControlPlaneInitialized",
      cp?.severity ?? "Info",
      cp?.message,
    );
}

/** `pools`: each node pool with its MachineDeployment (if made yet). */
export function markNodePoolsReady(
  obj: TanzuKubernetesCluster,
  pools: Array<{ pool: Pool; md: MachineDeployment | undefined }>,
) {
  const notReady = pools
    .map(({ pool, md }) => ({ pool, c: readyOf(md) }))
    .find((x) => x.c?.status !== "True");
  if (!notReady) markTrue(obj, "NodePoolsReady", "Ready");
  else
    markFalse(
      obj,
      "NodePoolsReady",
      notReady.c?.reason || "NodePoolsUpdating",
      notReady.c?.severity ?? "Info",
      `node pool ${notReady.pool.name}: ${notReady.c?.message ?? "waiting"}`,
    );
}

export function markNodesHealthy(obj: TanzuKubernetesCluster, machines: Machine[]) {
  const live = machines.filter((m) => !m.metadata.deletionTimestamp);
  const unhealthy = live.filter((m) => m.status?.phase !== "Running");
  if (unhealthy.length === 0) markTrue(obj, "NodesHealthy", "Ready");
  else
    markFalse(
      obj,
      "NodesHealthy",
      "NodesNotReady",
      "Warning",
      `${unhealthy.length} of ${live.length} nodes not running`,
    );
}

export function markUpdatesAvailable(
  obj: TanzuKubernetesCluster,
  kcp: KubeadmControlPlane | undefined,
  releases: TanzuKubernetesRelease[],
) {
  const upgrades = upgradesFrom(kcp?.status?.version, releases);
  if (upgrades.length) markTrue(obj, "UpdatesAvailable", "UpdatesAvailable", `[${upgrades.join(" ")}]`);
  else markFalse(obj, "UpdatesAvailable", "AlreadyUpToDate", "Info");
}

export function nodeStateOf(m: Machine): NodeState {
  return m.status?.phase === "Running"
    ? "ready"
    : m.status?.phase === "Provisioning"
      ? "pending"
      : "notready";
}

export function vmStateOf(vm: VirtualMachine | undefined): VMState {
  if (!vm) return "pending";
  if (vm.metadata.deletionTimestamp) return "deleting";
  const created = findCondition(vm.status?.conditions as Condition[] | undefined, "VirtualMachineCreated");
  if (created?.status === "False" && created.reason !== "NotReady") return "error";
  if (vm.status?.powerState === "PoweredOn") return "ready";
  return created?.status === "True" ? "created" : "pending";
}

export function phaseOf(
  tkc: TanzuKubernetesCluster,
  settled: boolean,
  upToDate: boolean,
  target: string,
): TanzuKubernetesClusterStatus["phase"] {
  if (settled) return "running";
  const wasRunning = tkc.status?.phase === "running" || tkc.status?.phase === "updating";
  if (!wasRunning) return "creating";
  const versionChanged = !!tkc.status?.version && tkc.status.version !== target;
  return versionChanged || !upToDate ? "updating" : "running";
}

/** The status fields besides the conditions (kept as they are). */
export function tkcStatus(
  tkc: TanzuKubernetesCluster,
  kcp: KubeadmControlPlane | undefined,
  release: TanzuKubernetesRelease,
  vip: string | undefined,
  machines: Machine[],
  vmOf: (m: Machine) => VirtualMachine | undefined,
): TanzuKubernetesClusterStatus {
  const pools = tkc.spec.topology.nodePools ?? [];
  const nodeStatus: Record<string, NodeState> = {};
  const vmStatus: Record<string, VMState> = {};
  for (const m of machines) {
    nodeStatus[nameOf(m)] = nodeStateOf(m);
    vmStatus[nameOf(m)] = vmStateOf(vmOf(m));
  }
  const target = release.spec.kubernetes.version;
  const allRunning =
    machines.length > 0 &&
    machines.every((m) => m.status?.phase === "Running" && !m.metadata.deletionTimestamp);
  const workers = pools.reduce((n, p) => n + p.replicas, 0);
  const upToDate = machines.every((m) => m.spec.version === target);
  const settled = allRunning && machines.length === (kcp?.spec.replicas ?? 0) + workers && upToDate;
  return {
    ...tkc.status,
    observedGeneration: tkc.metadata.generation,
    phase: phaseOf(tkc, settled, upToDate, target),
    apiEndpoints: vip ? [{ host: vip, port: 6443 }] : [],
    version: settled ? target : tkc.status?.version,
    totalWorkerReplicas: workers,
    nodeStatus,
    vmStatus,
  };
}
