// The ESXiHost controller's wiring: the hosts, their Nodes, the pods bound to them, and whatever
// reserves capacity on a host (VMs).
import type { V1Pod } from "@kubernetes/client-node";
import { ESXiHostResource } from "../api/vsphere/esxihost.ts";
import type { KubeClient, KubeObject } from "../runtime/client.ts";
import { anyChange } from "../runtime/controller.ts";
import type { Manager } from "../runtime/manager.ts";
import { Nodes, objectPath, Pods } from "../runtime/resource.ts";
import type { SimulationSettings } from "../settings.ts";
import { ESXI_NODES, type Inventory, nodeChanged } from "../shared/placement/inventory.ts";
import type { Heartbeat } from "./heartbeat.ts";
import { ESXiHostReconciler, type Evict } from "./reconciler.ts";

/** An update that changes what a pod holds on its host: binding, phase, deletion. */
const podPlacementChanged = (o: KubeObject, n: KubeObject): boolean => {
  const a = o as V1Pod;
  const b = n as V1Pod;
  return (
    a.spec?.nodeName !== b.spec?.nodeName ||
    a.status?.phase !== b.status?.phase ||
    a.metadata?.deletionTimestamp !== b.metadata?.deletionTimestamp
  );
};

/** POST pods/<name>/eviction: the API server refuses (429) what a PodDisruptionBudget protects. */
export function evictionAPI(client: KubeClient): Evict {
  return async (namespace, name) => {
    await client.request("POST", objectPath(Pods, name, namespace, "eviction"), {
      body: { apiVersion: "policy/v1", kind: "Eviction", metadata: { name, namespace } },
    });
  };
}

export function setupESXiHostController(
  mgr: Manager,
  inv: Inventory,
  heartbeat: Heartbeat,
  settings: SimulationSettings,
): void {
  const b = mgr
    .controller("esxihost")
    .for(ESXiHostResource)
    .owns(Nodes, { informer: ESXI_NODES, predicate: nodeChanged })
    .watches(
      Pods,
      (p) => {
        const node = (p as V1Pod).spec?.nodeName;
        return node && inv.hosts.store.get(node) ? [{ name: node }] : [];
      },
      { predicate: podPlacementChanged },
    )
    // Reconciles wait on the API server, not the CPU (a profile at 1,000 hosts: 86% idle): many in flight.
    .withOptions({ maxConcurrentReconciles: 64 });
  // VMs and other reservations placed on, or moved off, a host change its allocatable and counts.
  for (const src of inv.reservationSources)
    b.watches(
      src.resource,
      (o) =>
        src
          .hostsOf(o)
          .filter((h) => inv.hosts.store.get(h))
          .map((name) => ({ name })),
      { predicate: anyChange },
    );
  b.complete(
    new ESXiHostReconciler(mgr.client, inv, heartbeat, settings, mgr.events, evictionAPI(mgr.client)),
  );
}
