// The Spherelet's wiring: one request per ESXi host, woken by its Node and by the pods bound to it.
import type { V1Pod } from "@kubernetes/client-node";
import { ESXiHostResource } from "../api/vsphere/esxihost.ts";
import { anyChange } from "../runtime/controller.ts";
import type { Manager } from "../runtime/manager.ts";
import { Nodes, Pods } from "../runtime/resource.ts";
import type { SimulationSettings } from "../settings.ts";
import { ESXI_NODES, type Inventory, nodeChanged } from "../shared/placement/inventory.ts";
import { SpherletReconciler } from "./reconciler.ts";

export function setupSpherelet(mgr: Manager, inv: Inventory, settings: SimulationSettings): void {
  const toHost = (name: string | undefined) => (name && inv.hosts.store.get(name) ? [{ name }] : []);
  mgr
    .controller("spherelet")
    .for(ESXiHostResource)
    .watches(Nodes, (n) => toHost(n.metadata?.name), { informer: ESXI_NODES, predicate: nodeChanged })
    .watches(Pods, (p) => toHost((p as V1Pod).spec?.nodeName), { predicate: anyChange })
    .withOptions({ maxConcurrentReconciles: 32 })
    .complete(new SpherletReconciler(mgr.client, inv, settings));
}
