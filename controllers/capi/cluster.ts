// The Cluster controller: a Cluster's status from its control plane and its endpoint, as Cluster
// API reports it — phase Provisioning until the control-plane endpoint (the load balancer's VIP)
// is set, then Provisioned; ControlPlaneReady from the KubeadmControlPlane; Deleting while the
// garbage collector removes what it owns.
import { type Cluster, ClusterResource } from "../api/cluster/cluster.ts";
import {
  type KubeadmControlPlane,
  KubeadmControlPlaneResource,
} from "../api/controlplane/kubeadmcontrolplane.ts";
import type { KubeClient } from "../runtime/client.ts";
import { type Condition, type NewCondition, setConditions, summarizeReady } from "../runtime/conditions.ts";
import { anyChange, type Reconciler, type Request, type Result } from "../runtime/controller.ts";
import type { Informer } from "../runtime/informer.ts";
import type { Manager } from "../runtime/manager.ts";
import { deepEqual } from "../runtime/patch.ts";
import { clusterOf } from "./labels.ts";

export function clusterStatus(
  c: Cluster,
  kcp: KubeadmControlPlane | undefined,
): NonNullable<Cluster["status"]> {
  const infra = !!c.spec.controlPlaneEndpoint?.host;
  const cpReady = !!kcp?.status?.ready;
  const conds: NewCondition[] = [
    infra
      ? { type: "InfrastructureReady", status: "True", reason: "Ready", message: "" }
      : {
          type: "InfrastructureReady",
          status: "False",
          reason: "WaitingForLoadBalancer",
          message: "waiting for the control-plane VIP",
        },
    kcp?.status?.initialized
      ? { type: "ControlPlaneInitialized", status: "True", reason: "Initialized", message: "" }
      : {
          type: "ControlPlaneInitialized",
          status: "False",
          reason: "WaitingForControlPlaneInitialized",
          message: "",
        },
    cpReady
      ? { type: "ControlPlaneReady", status: "True", reason: "Ready", message: "" }
      : { type: "ControlPlaneReady", status: "False", reason: "WaitingForControlPlane", message: "" },
  ];
  let conditions = setConditions(c.status?.conditions as Condition[] | undefined, conds);
  conditions = setConditions(conditions, [
    summarizeReady(conditions, ["InfrastructureReady", "ControlPlaneReady"]),
  ]);
  return {
    ...c.status,
    observedGeneration: c.metadata.generation,
    infrastructureReady: infra,
    controlPlaneReady: cpReady,
    phase: c.metadata.deletionTimestamp ? "Deleting" : infra ? "Provisioned" : "Provisioning",
    conditions: conditions as NonNullable<Cluster["status"]>["conditions"],
  };
}

export class ClusterReconciler implements Reconciler {
  constructor(
    private readonly client: KubeClient,
    private readonly clusters: Informer<Cluster>,
    private readonly kcps: Informer<KubeadmControlPlane>,
  ) {}

  async reconcile(req: Request): Promise<Result | undefined> {
    const c = this.clusters.store.get(req.namespace, req.name);
    if (!c) return undefined;
    const kcp = c.spec.controlPlaneRef?.name
      ? this.kcps.store.get(req.namespace, c.spec.controlPlaneRef.name)
      : undefined;
    const status = JSON.parse(JSON.stringify(clusterStatus(c, kcp)));
    if (!deepEqual(status, c.status))
      await this.client.patch(
        ClusterResource,
        c.metadata.name!,
        c.metadata.namespace,
        { status },
        { subresource: "status" },
      );
    return undefined;
  }
}

export function setupClusterController(
  mgr: Manager,
  clusters: Informer<Cluster>,
  kcps: Informer<KubeadmControlPlane>,
): void {
  mgr
    .controller("cluster")
    .for(ClusterResource, { predicate: anyChange })
    .watches(KubeadmControlPlaneResource, clusterOf, { predicate: anyChange })
    .complete(new ClusterReconciler(mgr.client, clusters, kcps));
}
