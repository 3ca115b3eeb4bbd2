// vSphere HA for the pods of a failed host. When an ESXi host stops responding, its Node goes
// Unknown and kube-controller-manager's taint-based eviction deletes the pods that do not tolerate
// `unreachable` (the workloads policy gives Supervisor Namespace pods a short tolerationSeconds). A
// kubelet would finish those deletions; a dead host never will, so they would stay Terminating — and a
// StatefulSet would never replace its pod. vSphere HA knows the host's VMs are gone: Pacific removes
// the pods being deleted on a host that is not Ready (grace 0, as the pod garbage collector does for
// nodes tainted out-of-service). Their controllers have already made replacements; bare pods are gone.
// VSpherePods' own pods are restarted by the VSpherePod controller, before any eviction.
import type { V1Node, V1Pod } from "@kubernetes/client-node";
import type { Client } from "../runtime/client.ts";
import type { Reconciler, Request, Result } from "../runtime/controller.ts";
import { isConflict, isNotFound } from "../runtime/errors.ts";
import type { Logger } from "../runtime/log.ts";
import { Pods } from "../runtime/resource.ts";
import { type Inventory, NODE_INDEX, nodeReady } from "../shared/placement/inventory.ts";

/** Pods on `node` whose deletion only a running host could finish: the node is down, the pod deleting. */
export function podsToRemove(node: V1Node | undefined, pods: V1Pod[]): V1Pod[] {
  if (!node || nodeReady(node)) return [];
  return pods.filter((p) => !!p.metadata?.deletionTimestamp);
}

export class HostFailureReconciler implements Reconciler {
  constructor(
    private readonly client: Client,
    private readonly inv: Inventory,
  ) {}

  async reconcile(req: Request, log: Logger): Promise<Result | undefined> {
    if (!this.inv.hosts.store.get(req.name)) return undefined; // not an ESXi host
    const node = this.inv.nodes.store.get(req.name);
    const pods = podsToRemove(node, this.inv.pods.store.byIndex(NODE_INDEX, req.name));
    await Promise.all(
      pods.map(async (p) => {
        try {
          await this.client.delete(Pods, p.metadata?.name ?? "", p.metadata?.namespace, {
            gracePeriodSeconds: 0,
            uid: p.metadata?.uid,
          });
          log.info(
            { kind: "Pod", namespace: p.metadata?.namespace, name: p.metadata?.name },
            "host not responding: pod removed (vSphere HA)",
          );
        } catch (e) {
          if (!isNotFound(e) && !isConflict(e)) throw e;
        }
      }),
    );
    return undefined;
  }
}
