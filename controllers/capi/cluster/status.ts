// A Cluster's status as Cluster API reports it, from its control plane and its endpoint: phase
// Provisioning until the control-plane endpoint (the load balancer's VIP) is set, then Provisioned;
// ControlPlaneReady from the KubeadmControlPlane; Deleting while the garbage collector removes what
// it owns. Cluster API v1beta1 conditions carry no observedGeneration (the CRD prunes it), so they
// are built as a list with setConditions.
import type { Cluster, ClusterStatus } from "../../api/cluster/cluster.ts";
import type { KubeadmControlPlane } from "../../api/controlplane/kubeadmcontrolplane.ts";
import {
  type Condition,
  type NewCondition,
  setConditions,
  summarizeReady,
} from "../../runtime/conditions.ts";

const cond = (
  type: string,
  ok: boolean,
  reason: string,
  waitingReason: string,
  message = "",
): NewCondition =>
  ok
    ? { type, status: "True", reason, message: "" }
    : { type, status: "False", reason: waitingReason, message };

export function clusterStatus(c: Cluster, kcp: KubeadmControlPlane | undefined): ClusterStatus {
  const infra = !!c.spec.controlPlaneEndpoint?.host;
  const cpReady = !!kcp?.status?.ready;
  let conditions = setConditions(c.status?.conditions as Condition[] | undefined, [
    cond(
      "InfrastructureReady",
      infra,
      "Ready",
      "WaitingForLoadBalancer",
      "waiting for the control-plane VIP",
    ),
    cond(
      "ControlPlaneInitialized",
      !!kcp?.status?.initialized,
      "Initialized",
      "WaitingForControlPlaneInitialized",
    ),
    cond("ControlPlaneReady", cpReady, "Ready", "WaitingForControlPlane"),
  ]);
  conditions = setConditions(conditions, [
    summarizeReady(conditions, ["InfrastructureReady", "ControlPlaneReady"]),
  ]);
  return {
    ...c.status,
    observedGeneration: c.metadata.generation,
    infrastructureReady: infra,
    controlPlaneReady: cpReady,
    phase: c.metadata.deletionTimestamp ? "Deleting" : infra ? "Provisioned" : "Provisioning",
    conditions: conditions as ClusterStatus["conditions"],
  };
}
