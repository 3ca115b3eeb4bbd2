// The host-failure controller's wiring: one request per ESXi Node, when its readiness flips and
// when a pod on it starts being deleted.
import type { V1Node, V1Pod } from "@kubernetes/client-node";
import type { KubeObject } from "../runtime/client.ts";
import { anyChange } from "../runtime/controller.ts";
import type { Manager } from "../runtime/manager.ts";
import { Nodes, Pods } from "../runtime/resource.ts";
import { ESXI_NODES, type Inventory, nodeReady } from "../shared/placement/inventory.ts";
import { HostFailureReconciler } from "./reconciler.ts";

const readyChanged = (o: KubeObject, n: KubeObject): boolean =>
  nodeReady(o as V1Node) !== nodeReady(n as V1Node);
const deleting = (p: KubeObject): boolean => !!p.metadata?.deletionTimestamp;

export function setupHostFailureController(mgr: Manager, inv: Inventory): void {
  const toNode = (p: KubeObject) => {
    const node = (p as V1Pod).spec?.nodeName;
    return node ? [{ name: node }] : [];
  };
  mgr
    .controller("hostfailure")
    .for(Nodes, { informer: ESXI_NODES, predicate: readyChanged })
    .watches(Pods, toNode, { predicate: (o, n) => deleting(n) && anyChange(o, n) })
    .complete(new HostFailureReconciler(mgr.client, inv));
}
