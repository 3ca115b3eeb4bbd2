// The VSpherePod controller's wiring: its Pods, the ESXi Nodes whose readiness flips (vSphere HA),
// and any host change, which may make room for what is still waiting.
import type { V1Node, V1Pod } from "@kubernetes/client-node";
import { ESXiHostResource } from "../api/vsphere/esxihost.ts";
import { type VSpherePod, VSpherePodResource } from "../api/vsphere/vspherepod.ts";
import type { KubeObject } from "../runtime/client.ts";
import { anyChange, type Request } from "../runtime/controller.ts";
import type { Manager } from "../runtime/manager.ts";
import { controllerOf } from "../runtime/owner.ts";
import { Nodes, Pods } from "../runtime/resource.ts";
import { ESXI_NODES, type Inventory, NODE_INDEX, nodeReady } from "../shared/placement/inventory.ts";
import { VSpherePodReconciler } from "./reconciler.ts";

const readyChanged = (o: KubeObject, n: KubeObject): boolean =>
  nodeReady(o as V1Node) !== nodeReady(n as V1Node);

/** The VSpherePod that controls `p`, if one does. */
function ownerOf(p: V1Pod): Request[] {
  const ref = controllerOf(p.metadata);
  return ref?.kind === VSpherePodResource.kind ? [{ namespace: p.metadata?.namespace, name: ref.name }] : [];
}

export function setupVSpherePodController(mgr: Manager, inv: Inventory): void {
  const vpods = mgr.informer(VSpherePodResource);
  const unplaced = () =>
    vpods.store
      .list()
      .filter((v: VSpherePod) =>
        v.status?.conditions?.some((c) => c.type === "Placed" && c.status === "False"),
      )
      .map((v) => ({ namespace: v.metadata.namespace, name: v.metadata.name ?? "" }));
  mgr
    .controller("vspherepod")
    .for(VSpherePodResource)
    .owns(Pods, { predicate: anyChange })
    // A host that stops (or starts again) responding: every VSpherePod on it.
    .watches(Nodes, (n) => inv.pods.store.byIndex(NODE_INDEX, n.metadata?.name ?? "").flatMap(ownerOf), {
      informer: ESXI_NODES,
      predicate: readyChanged,
    })
    // Any change of a host may make room: the VSpherePods still waiting for one.
    .watches(ESXiHostResource, unplaced, { predicate: anyChange })
    .withOptions({ maxConcurrentReconciles: 8 })
    .complete(new VSpherePodReconciler(mgr.client, inv, vpods.store, mgr.events));
}
