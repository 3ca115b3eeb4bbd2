// vSphere HA for the pods of a failed host. When an ESXi host stops responding, its Node goes
// Unknown and kube-controller-manager's taint-based eviction deletes the pods that do not tolerate
// `unreachable` (the workloads policy gives Supervisor Namespace pods a short tolerationSeconds). A
// kubelet would finish those deletions; a dead host never will, so they would stay Terminating — and a
// StatefulSet would never replace its pod. vSphere HA knows the host's VMs are gone: Pacific removes
// the pods being deleted on a host that is not Ready (grace 0, as the pod garbage collector does for
// nodes tainted out-of-service). Their controllers have already made replacements; bare pods are gone.
// VSpherePods' own pods are restarted by the VSpherePod controller, before any eviction.
import type { V1Node, V1Pod } from "@kubernetes/client-node";
import { ESXI_NODES, type Inventory, NODE_INDEX, nodeReady } from "../placement/inventory.ts";
import type { KubeClient, KubeObject } from "../runtime/client.ts";
import { anyChange, type Reconciler, type Request, type Result } from "../runtime/controller.ts";
import { isConflict, isNotFound } from "../runtime/errors.ts";
import type { Logger } from "../runtime/log.ts";
import type { Manager } from "../runtime/manager.ts";
import { Nodes, Pods } from "../runtime/resource.ts";

/** Pods on `node` whose deletion only a running host could finish: the node is down, the pod deleting. */
export function podsToRemove(node: V1Node | undefined, pods: V1Pod[]): V1Pod[] {
  if (!node || nodeReady(node)) return [];
  return pods.filter((p) => !!p.metadata?.deletionTimestamp);
}

export class HostFailureReconciler implements Reconciler {
  constructor(
    private readonly client: KubeClient,
    private readonly inv: Inventory,
  ) {}

  async reconcile(req: Request, log: Logger): Promise<Result | undefined> {
    if (!this.inv.hosts.store.get(req.name)) return undefined; // not an ESXi host
    const node = this.inv.nodes.store.get(req.name);
    const pods = podsToRemove(node, this.inv.pods.store.byIndex(NODE_INDEX, req.name));
    await Promise.all(
      pods.map(async (p) => {
        try {
          await this.client.delete(Pods, p.metadata!.name!, p.metadata!.namespace, {
            gracePeriodSeconds: 0,
            uid: p.metadata!.uid,
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

const readyChanged = (o: KubeObject, n: KubeObject): boolean =>
  nodeReady(o as V1Node) !== nodeReady(n as V1Node);
const deleting = (p: KubeObject): boolean => !!p.metadata?.deletionTimestamp;

export function setupHostFailureController(mgr: Manager, inv: Inventory): void {
  mgr
    .controller("hostfailure")
    .for(Nodes, { informer: ESXI_NODES, predicate: readyChanged })
    .watches(Pods, (p) => ((p as V1Pod).spec?.nodeName ? [{ name: (p as V1Pod).spec!.nodeName! }] : []), {
      predicate: (o, n) => deleting(n) && anyChange(o, n),
    })
    .complete(new HostFailureReconciler(mgr.client, inv));
}
