// The TanzuKubernetesCluster's status, as pure functions of what the cache holds: the phase
// (creating → running, updating during an upgrade), endpoints, the node and VM maps, and the
// conditions ControlPlaneReady, NodePoolsReady, NodesHealthy, UpdatesAvailable and the Ready summary.
// The mark* functions change the reconciler's working copy. The conditions are Cluster API v1beta1's,
// as upstream's TKC has them (runtime/capiconditions.ts: severity with False, no observedGeneration).
import type { Machine } from "../../api/cluster/machine.ts";
import type { MachineDeployment } from "../../api/cluster/machinedeployment.ts";
import { GuestAnnotations } from "../../api/contracts.ts";
import type { KubeadmControlPlane } from "../../api/controlplane/kubeadmcontrolplane.ts";
import type {
  TanzuKubernetesCluster,
  TanzuKubernetesClusterStatus,
} from "../../api/run/tanzukubernetescluster.ts";
import type { TanzuKubernetesRelease } from "../../api/run/tanzukubernetesrelease.ts";
import type { VirtualMachine } from "../../api/vmoperator/virtualmachine.ts";
import { markFalse, markTrue, type V1Beta1Condition } from "../../runtime/capiconditions.ts";
import { type Condition, findCondition } from "../../runtime/conditions.ts";
import { type GuestRuntimeKind, hasGuestControlPlane } from "../../shared/guestruntime.ts";
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

/**
 * ControlPlaneReady: the KCP's Ready — or its Available when that is False (a guest API server that
 * does not answer, runtimes local and pods: docs/guest-clusters.md), so that Ready says the cluster is usable.
 */
export function markControlPlaneReady(obj: TanzuKubernetesCluster, kcp: KubeadmControlPlane | undefined) {
  const available = findCondition(kcp?.status?.conditions as Condition[] | undefined, "Available") as
    | V1Beta1Condition
    | undefined;
  const cp = available?.status === "False" ? available : readyOf(kcp);
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
/** The version a guest API server reported, from the guest-cluster controller's annotation on the KCP. */
export const guestVersionOf = (kcp: KubeadmControlPlane | undefined) =>
  kcp?.metadata.annotations?.[GuestAnnotations.apiServerVersion] || undefined;

/** The Kubernetes part of a release version: v1.23.8+vmware.3 → v1.23.8. */
const upstreamOf = (v: string) => v.split("+")[0] ?? v;

/**
 * GuestControlPlaneReady (Pacific's): whether an API server answers at the cluster's endpoint.
 * With runtime none nothing does, and the condition says so; with `local` or `pods` it follows the guest's
 * /readyz (the KCP's annotation), and says honestly which version the guest reports when it is not
 * the release's (Pacific runs the Kubernetes it builds).
 */
export function markGuestControlPlaneReady(
  obj: TanzuKubernetesCluster,
  runtime: GuestRuntimeKind,
  kcp: KubeadmControlPlane | undefined,
  release: TanzuKubernetesRelease,
) {
  const type = "GuestControlPlaneReady";
  if (!hasGuestControlPlane(runtime)) {
    markFalse(
      obj,
      type,
      "NoGuestControlPlane",
      "Info",
      "guest-cluster runtime none: no API server answers at the control-plane endpoint, and the kubeconfig Secret holds no credentials",
    );
    return;
  }
  const answering = kcp?.metadata.annotations?.[GuestAnnotations.apiServerReady] === "True";
  if (!answering) {
    const was = !!kcp?.status?.initialized;
    markFalse(
      obj,
      type,
      "GuestControlPlaneNotRunning",
      was ? "Warning" : "Info",
      was
        ? "the guest API server does not answer /readyz (its processes are restarted)"
        : "waiting for the guest API server to answer /readyz",
    );
    return;
  }
  const reported = guestVersionOf(kcp);
  const wanted = release.spec.kubernetes.version;
  const differs = reported && upstreamOf(reported) !== upstreamOf(wanted);
  markTrue(
    obj,
    type,
    differs ? "VersionDiffers" : "Ready",
    differs
      ? `the guest API server reports ${reported}, not the release's ${wanted}: Pacific runs the Kubernetes it builds`
      : undefined,
  );
}

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
  runtime: GuestRuntimeKind = "none",
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
    guestControlPlane: guestControlPlaneOf(runtime, kcp),
  };
}

function guestControlPlaneOf(
  runtime: GuestRuntimeKind,
  kcp: KubeadmControlPlane | undefined,
): TanzuKubernetesClusterStatus["guestControlPlane"] {
  const version = hasGuestControlPlane(runtime) ? guestVersionOf(kcp) : undefined;
  return version ? { runtime, version } : { runtime };
}
