// The Cluster controller's reconciler: one status write from the Cluster and its control plane.
// Deletion needs no finalizer (the garbage collector removes what the Cluster owns); the status
// says Deleting meanwhile.
import type { Cluster } from "../../api/cluster/cluster.ts";
import { ClusterResource } from "../../api/cluster/cluster.ts";
import type { KubeadmControlPlane } from "../../api/controlplane/kubeadmcontrolplane.ts";
import type { Client } from "../../runtime/client.ts";
import type { Reconciler, Request, Result } from "../../runtime/controller.ts";
import { patchStatus } from "../../runtime/patchhelper.ts";
import type { Store } from "../../runtime/store.ts";
import { clusterStatus } from "./status.ts";

export class ClusterReconciler implements Reconciler {
  constructor(
    private readonly client: Client,
    private readonly clusters: Store<Cluster>,
    private readonly kcps: Store<KubeadmControlPlane>,
  ) {}

  async reconcile(req: Request): Promise<Result | undefined> {
    const c = this.clusters.get(req.namespace, req.name);
    if (!c) return undefined;
    const kcpName = c.spec.controlPlaneRef?.name;
    const kcp = kcpName ? this.kcps.get(req.namespace, kcpName) : undefined;
    await patchStatus(this.client, ClusterResource, c, clusterStatus(c, kcp));
    return undefined;
  }
}
