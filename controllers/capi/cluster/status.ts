// A Cluster's status as Cluster API reports it, from its control plane and its endpoint: phase
// Provisioning until the control-plane endpoint (the load balancer's VIP) is set, then Provisioned;
// ControlPlaneReady from the KubeadmControlPlane; Deleting while the garbage collector removes what
// it owns. Its conditions are Cluster API v1beta1's (runtime/capiconditions.ts): waiting is False
// with severity Info, Ready the summary of InfrastructureReady and ControlPlaneReady.
import type { Cluster, ClusterStatus } from "../../api/cluster/cluster.ts";
import type { KubeadmControlPlane } from "../../api/controlplane/kubeadmcontrolplane.ts";
import {
  type NewV1Beta1Condition,
  setV1Beta1Conditions,
  type V1Beta1Condition,
  v1beta1Summary,
} from "../../runtime/capiconditions.ts";

const cond = (type: string, ok: boolean, waitingReason: string, message?: string): NewV1Beta1Condition =>
  ok ? { type, status: "True" } : { type, status: "False", severity: "Info", reason: waitingReason, message };

export function clusterStatus(c: Cluster, kcp: KubeadmControlPlane | undefined): ClusterStatus {
  const infra = !!c.spec.controlPlaneEndpoint?.host;
  const cpReady = !!kcp?.status?.ready;
  let conditions = setV1Beta1Conditions(c.status?.conditions as V1Beta1Condition[] | undefined, [
    cond("InfrastructureReady", infra, "WaitingForLoadBalancer", "waiting for the control-plane VIP"),
    cond("ControlPlaneInitialized", !!kcp?.status?.initialized, "WaitingForControlPlaneProviderInitialized"),
    cond("ControlPlaneReady", cpReady, "WaitingForControlPlane"),
  ]);
  conditions = setV1Beta1Conditions(conditions, [
    v1beta1Summary(conditions, ["InfrastructureReady", "ControlPlaneReady"]),
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
