// A Cluster's status as Cluster API reports it, from its control plane, its pools and its endpoint:
// phase Provisioning until the control-plane endpoint (the load balancer's VIP) is set, then
// Provisioned; Deleting while the garbage collector removes what it owns. The v1beta1 conditions
// (runtime/capiconditions.ts: waiting is False with severity Info) are TopologyReconciled (a
// Cluster with a topology), InfrastructureReady, ControlPlaneInitialized, ControlPlaneReady (the
// KubeadmControlPlane's Ready mirrored when it is False) and Ready, the summary of
// InfrastructureReady and ControlPlaneReady as upstream's. The v1beta2 block (metav1 conditions)
// carries the same facts in upstream's v1beta2 names and reasons.
import type { Cluster, ClusterStatus } from "../../api/cluster/cluster.ts";
import type { MachineDeployment } from "../../api/cluster/machinedeployment.ts";
import type { KubeadmControlPlane } from "../../api/controlplane/kubeadmcontrolplane.ts";
import {
  type NewV1Beta1Condition,
  setV1Beta1Conditions,
  setV1Beta2Conditions,
  type V1Beta1Condition,
  v1beta1Summary,
} from "../../runtime/capiconditions.ts";
import { type Condition, type ConditionStatus, findCondition } from "../../runtime/conditions.ts";

const cond = (type: string, ok: boolean, waitingReason: string, message?: string): NewV1Beta1Condition =>
  ok ? { type, status: "True" } : { type, status: "False", severity: "Info", reason: waitingReason, message };

const readyOf = (o: { status?: { conditions?: unknown } } | undefined) =>
  findCondition(o?.status?.conditions as Condition[] | undefined, "Ready") as V1Beta1Condition | undefined;

/**
 * ControlPlaneReady: True with the control plane, else why not mirrored (util/conditions.SetMirror):
 * its Available when False (a guest API server that does not answer), else its Ready.
 */
function controlPlaneReady(kcp: KubeadmControlPlane | undefined): NewV1Beta1Condition {
  if (kcp?.status?.ready) return { type: "ControlPlaneReady", status: "True" };
  const available = findCondition(kcp?.status?.conditions as Condition[] | undefined, "Available") as
    | V1Beta1Condition
    | undefined;
  const r = available?.status === "False" ? available : readyOf(kcp);
  if (r?.status === "False")
    return {
      type: "ControlPlaneReady",
      status: "False",
      severity: r.severity ?? "Info",
      reason: r.reason || "WaitingForControlPlane",
      message: r.message,
    };
  return cond("ControlPlaneReady", false, "WaitingForControlPlane");
}

export interface ClusterParts {
  kcp: KubeadmControlPlane | undefined;
  /** The Cluster's MachineDeployments (for the v1beta2 WorkersAvailable). */
  mds: readonly MachineDeployment[];
  /** TopologyReconciled, for a Cluster with a topology. */
  topology?: NewV1Beta1Condition;
}

export function clusterStatus(c: Cluster, parts: ClusterParts): ClusterStatus {
  const { kcp, mds, topology } = parts;
  const infra = !!c.spec.controlPlaneEndpoint?.host;
  const cpReady = !!kcp?.status?.ready;
  const cpInit = !!kcp?.status?.initialized;
  let conditions = setV1Beta1Conditions(c.status?.conditions as V1Beta1Condition[] | undefined, [
    ...(topology ? [topology] : []),
    cond("InfrastructureReady", infra, "WaitingForLoadBalancer", "waiting for the control-plane VIP"),
    cond("ControlPlaneInitialized", cpInit, "WaitingForControlPlaneProviderInitialized"),
    controlPlaneReady(kcp),
  ]);
  conditions = setV1Beta1Conditions(conditions, [
    v1beta1Summary(conditions, ["InfrastructureReady", "ControlPlaneReady"]),
  ]);
  const workersReady = mds.every((m) => readyOf(m)?.status === "True");
  const v1beta2 = v1beta2Conditions(c, { infra, cpInit, cpReady, workersReady, topology });
  return {
    ...c.status,
    observedGeneration: c.metadata.generation,
    infrastructureReady: infra,
    controlPlaneReady: cpReady,
    phase: c.metadata.deletionTimestamp ? "Deleting" : infra ? "Provisioned" : "Provisioning",
    conditions: conditions as ClusterStatus["conditions"],
    v1beta2: { ...(c.status?.v1beta2 as object | undefined), conditions: v1beta2 },
  };
}

const st = (ok: boolean): ConditionStatus => (ok ? "True" : "False");

/** Upstream's v1beta2 Cluster conditions (api/v1beta1/v1beta2_condition_consts.go names and reasons). */
function v1beta2Conditions(
  c: Cluster,
  f: {
    infra: boolean;
    cpInit: boolean;
    cpReady: boolean;
    workersReady: boolean;
    topology?: NewV1Beta1Condition;
  },
): Condition[] {
  const old = (c.status?.v1beta2 as { conditions?: Condition[] } | undefined)?.conditions;
  const topo = f.topology;
  const available = f.infra && f.cpReady && f.workersReady && (!topo || topo.status === "True");
  return setV1Beta2Conditions(
    old,
    [
      ...(topo
        ? [
            {
              type: "TopologyReconciled",
              status: topo.status,
              reason: topo.status === "True" ? "ReconcileSucceeded" : (topo.reason ?? "ReconcileFailed"),
              message: topo.message,
            },
          ]
        : []),
      { type: "InfrastructureReady", status: st(f.infra), reason: f.infra ? "Ready" : "NotReady" },
      {
        type: "ControlPlaneInitialized",
        status: st(f.cpInit),
        reason: f.cpInit ? "Initialized" : "NotInitialized",
      },
      {
        type: "ControlPlaneAvailable",
        status: st(f.cpReady),
        reason: f.cpReady ? "Available" : "NotAvailable",
      },
      {
        type: "WorkersAvailable",
        status: st(f.workersReady),
        reason: f.workersReady ? "Available" : "NotAvailable",
      },
      { type: "Available", status: st(available), reason: available ? "Available" : "NotAvailable" },
    ],
    c.metadata.generation,
  );
}
