// Room for a VirtualMachine, read from the caches: the health of its host, DRS placement within the
// Supervisor Namespace's limits, and whether a resize fits. Reservations of VMs placed a moment ago
// but not yet in the cache are counted through the inventory's assumptions.
import type { V1Namespace, V1ResourceQuota } from "@kubernetes/client-node";
import { LIMITS_QUOTA_NAME } from "../../api/contracts.ts";
import type { VirtualMachine } from "../../api/vmoperator/virtualmachine.ts";
import type { VirtualMachineClass } from "../../api/vmoperator/virtualmachineclass.ts";
import type { SupervisorNamespace } from "../../api/vsphere/supervisornamespace.ts";
import { keyFor } from "../../runtime/resource.ts";
import type { Store } from "../../runtime/store.ts";
import { place } from "../../shared/placement/drs.ts";
import { type Inventory, nodeReady } from "../../shared/placement/inventory.ts";
import {
  addResources,
  bytes,
  cpuMilli,
  type Resources,
  subResources,
  zeroResources,
} from "../../shared/quantity.ts";
import {
  appliedClassName,
  type HostHealth,
  holdsReservation,
  limitsExceeded,
  reservationOf,
} from "./decisions.ts";

export const HOST_INDEX = "vmHost";
export const NS_INDEX = "vmNamespace";

/** The caches the VirtualMachine controller reads. */
export interface VMCaches {
  vms: Store<VirtualMachine>;
  classes: Store<VirtualMachineClass>;
  namespaces: Store<V1Namespace>;
  svns: Store<SupervisorNamespace>;
  quotas: Store<V1ResourceQuota>;
}

/** The inventory's assumption key of a VM just placed. */
export const vmAssumeKey = (namespace: string | undefined, name: string): string =>
  `vm/${keyFor(namespace, name)}`;

export type Placed = { ok: true; host: string } | { ok: false; reason: string; message: string };

export class Capacity {
  constructor(
    private readonly inv: Inventory,
    private readonly c: VMCaches,
  ) {}

  classOf(vm: VirtualMachine, name: string): VirtualMachineClass | undefined {
    return this.c.classes.get(vm.metadata.namespace, name);
  }

  hostHealth(host: string | undefined): HostHealth {
    if (!host) return "gone";
    const h = this.inv.hosts.store.get(host);
    if (!h || h.metadata.deletionTimestamp) return "gone";
    const node = this.inv.nodes.store.get(host);
    if (!node) return "gone";
    if (!nodeReady(node)) return "failed";
    return h.spec.maintenanceMode ? "maintenance" : "ok";
  }

  zoneOf(host: string): string | undefined {
    return this.inv.hosts.store.get(host)?.spec.zone;
  }

  /** DRS placement within the namespace's limits; assumed until the cache shows it. */
  place(vm: VirtualMachine, cls: VirtualMachineClass, exclude: string[]): Placed {
    const key = vmAssumeKey(vm.metadata.namespace, vm.metadata.name ?? "");
    const resources = reservationOf(cls.spec);
    if (exclude.length === 0) {
      const over = this.quotaExceeded(vm, resources);
      if (over) return { ok: false, reason: "QuotaExceeded", message: over };
    }
    this.inv.forget(key);
    const p = place(this.inv.view(), { resources, exclude });
    if (!p.ok) return p;
    this.inv.assume(key, p.host, resources);
    return p;
  }

  /** Why the namespace's CPU/memory limits refuse `add` more, or undefined. */
  quotaExceeded(vm: VirtualMachine, add: Resources): string | undefined {
    const ns = vm.metadata.namespace ?? "";
    const limits = this.c.svns.get(ns)?.spec.limits;
    if (!limits || (limits.cpu === undefined && limits.memory === undefined)) return undefined;
    const short = limitsExceeded(limits, addResources(this.usedIn(vm), add));
    return short.length
      ? `the reservation of ${vm.spec.className} exceeds namespace ${ns}'s ${short.join(" and ")}`
      : undefined;
  }

  /** What the namespace's other VMs reserve and its pods' limits use. */
  private usedIn(vm: VirtualMachine): Resources {
    const ns = vm.metadata.namespace ?? "";
    let used = zeroResources;
    for (const other of this.c.vms.byIndex(NS_INDEX, ns)) {
      if (other.metadata.name === vm.metadata.name || !holdsReservation(other)) continue;
      used = addResources(used, reservationOf(this.classOf(other, appliedClassName(other))?.spec));
    }
    // VMs placed a moment ago whose status the cache does not show yet: without them, 16 workers
    // placing a TKC's VMs at once each saw room (e2e caught 5 VMs placed under a limit for 4).
    used = addResources(
      used,
      this.inv.assumedUnder(vmAssumeKey(ns, ""), vmAssumeKey(ns, vm.metadata.name ?? "")),
    );
    const podsUsed = this.c.quotas.get(ns, LIMITS_QUOTA_NAME)?.status?.used ?? {};
    return addResources(used, {
      cpuMilli: cpuMilli(podsUsed["limits.cpu"] ?? 0),
      memory: bytes(podsUsed["limits.memory"] ?? 0),
      pods: 0,
    });
  }

  /** Why `vm` cannot be resized to `to` on `host` now, or undefined. */
  resizeBlocked(vm: VirtualMachine, to: VirtualMachineClass, host: string): string | undefined {
    const from = reservationOf(this.classOf(vm, appliedClassName(vm))?.spec);
    const delta = subResources(reservationOf(to.spec), from);
    const view = this.inv.view().find((h) => h.name === host);
    if (view && holdsReservation(vm)) {
      const after = addResources(view.allocated, delta);
      if (after.cpuMilli > view.allocatable.cpuMilli || after.memory > view.allocatable.memory)
        return `cannot resize to ${to.metadata.name}: not enough free capacity on ESXi host ${host}`;
    }
    const over =
      delta.cpuMilli > 0 || delta.memory > 0 ? this.quotaExceeded(vm, reservationOf(to.spec)) : undefined;
    return over ? `cannot resize to ${to.metadata.name}: ${over}` : undefined;
  }
}
