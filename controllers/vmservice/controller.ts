// The VM Service: a VirtualMachine is placed on an ESXi host by the shared DRS engine, counts its
// class's reservation against the host (the Node's allocatable drops) and the Supervisor
// Namespace's limits, powers on after the boot delay, gets an address on the workload network,
// moves off a host entering maintenance mode (vMotion), is restarted elsewhere when its host fails
// (vSphere HA), and is resized when its className changes and the host has room.
import type { V1Namespace, V1ResourceQuota } from "@kubernetes/client-node";
import {
  type VirtualMachine,
  VirtualMachineResource,
  type VirtualMachineStatus,
} from "../api/vmoperator/virtualmachine.ts";
import {
  type VirtualMachineClass,
  VirtualMachineClassResource,
} from "../api/vmoperator/virtualmachineclass.ts";
import { ESXiHostResource } from "../api/vsphere/esxihost.ts";
import { type SupervisorNamespace, SupervisorNamespaceResource } from "../api/vsphere/supervisornamespace.ts";
import type { KubeClient } from "../runtime/client.ts";
import {
  type Condition,
  findCondition,
  type NewCondition,
  rfc3339,
  setConditions,
} from "../runtime/conditions.ts";
import { anyChange, type Reconciler, type Request, type Result } from "../runtime/controller.ts";
import type { EventRecorder } from "../runtime/events.ts";
import type { Informer } from "../runtime/informer.ts";
import type { Logger } from "../runtime/log.ts";
import type { Manager } from "../runtime/manager.ts";
import { deepEqual } from "../runtime/patch.ts";
import { Namespaces, Nodes } from "../runtime/resource.ts";
import { type SimulationSettings, stableFraction } from "../settings.ts";
import type { IpPool } from "../shared/ipam.ts";
import { place } from "../shared/placement/drs.ts";
import {
  ESXI_NODES,
  type Inventory,
  nodeChanged,
  nodeReady,
  type ReservationSource,
} from "../shared/placement/inventory.ts";
import {
  addResources,
  bytes,
  cpuMilli,
  type Resources,
  subResources,
  zeroResources,
} from "../shared/quantity.ts";
import { storageAllowed } from "../shared/storage.ts";
import {
  appliedClassName,
  bootDelayMs,
  Conditions,
  type HostHealth,
  holdsReservation,
  identities,
  moveFor,
  readyCondition,
  reservationOf,
} from "./vm.ts";

export const HOST_INDEX = "vmHost";
export const NS_INDEX = "vmNamespace";
const UNPLACED_RETRY_MS = 15_000;
const QUOTA_NAME = "pacific-limits";

export interface VMCaches {
  vms: Informer<VirtualMachine>;
  classes: Informer<VirtualMachineClass>;
  namespaces: Informer<V1Namespace>;
  svns: Informer<SupervisorNamespace>;
  quotas: Informer<V1ResourceQuota>;
}

export class VirtualMachineReconciler implements Reconciler {
  constructor(
    private readonly client: KubeClient,
    private readonly inv: Inventory,
    private readonly c: VMCaches,
    private readonly events: EventRecorder,
    private readonly settings: SimulationSettings,
    private readonly ips: IpPool,
  ) {}

  async reconcile(req: Request, log: Logger): Promise<Result | undefined> {
    const key = `${req.namespace}/${req.name}`;
    const vm = this.c.vms.store.get(key);
    if (!vm || vm.metadata.deletionTimestamp) {
      this.inv.forget(`vm/${key}`);
      this.ips.release(key);
      return undefined;
    }
    const now = new Date();
    const g = vm.metadata.generation;

    // `nextRestartTime: now` is stamped with the time, as VM Operator's webhook does; the stamp
    // then drives the restart below (a restart is due when it is newer than lastRestartTime).
    if (vm.spec.nextRestartTime?.toLowerCase() === "now") {
      await this.client.patch(VirtualMachineResource, req.name, req.namespace, {
        spec: { nextRestartTime: rfc3339(now) },
      });
      return undefined;
    }

    const cls = this.classOf(vm, vm.spec.className);
    const ns = this.c.namespaces.store.get(req.namespace!);
    const storageOk = storageAllowed(vm.spec.storageClass, ns?.metadata?.annotations);
    const conds: NewCondition[] = [
      cls
        ? { type: Conditions.classReady, status: "True", reason: "Ready", message: "", observedGeneration: g }
        : {
            type: Conditions.classReady,
            status: "False",
            reason: "NotFound",
            message: `VirtualMachineClass ${vm.spec.className} is not available in namespace ${req.namespace}`,
            observedGeneration: g,
          },
      { type: Conditions.imageReady, status: "True", reason: "Ready", message: "", observedGeneration: g },
      storageOk
        ? {
            type: Conditions.storageReady,
            status: "True",
            reason: "Ready",
            message: "",
            observedGeneration: g,
          }
        : {
            type: Conditions.storageReady,
            status: "False",
            reason: "NotFound",
            message: `storage class ${vm.spec.storageClass} is not bound to namespace ${req.namespace} (a StorageClassBinding grants it)`,
            observedGeneration: g,
          },
    ];
    const status: VirtualMachineStatus = { ...vm.status, ...identities(vm), observedGeneration: g };
    let requeue: number | undefined;

    // Where it runs.
    const move = moveFor(vm, this.hostHealth(vm.status?.host));
    if (move.kind !== "stay") {
      const blocked = conds.find((x) => x.status !== "True");
      const placed = blocked ? undefined : this.placeVM(vm, cls!, move.kind === "place" ? [] : [move.from]);
      if (placed?.ok) {
        status.host = placed.host;
        status.nodeName = placed.host;
        status.zone = this.inv.hosts.store.get(placed.host)?.spec.zone;
        status.class = {
          apiVersion: "vmoperator.vmware.com/v1alpha3",
          kind: "VirtualMachineClass",
          name: cls!.metadata.name,
        };
        if (move.kind === "migrate") {
          this.events.event(
            vm,
            "Normal",
            "Migrated",
            "vMotion",
            `migrated from ${move.from} (entering maintenance mode) to ${placed.host}`,
          );
        } else if (move.kind === "restart") {
          status.powerState = "PoweredOff"; // vSphere HA powers it on again on the new host
          this.events.event(
            vm,
            "Warning",
            "HostFailure",
            "Restart",
            `host ${move.from} is not responding; restarted on ${placed.host} (vSphere HA)`,
          );
        } else {
          this.events.event(vm, "Normal", "Placed", "Place", `placed on ESXi host ${placed.host}`);
        }
        log.info({ host: placed.host, move: move.kind }, "virtual machine placed");
      } else if (move.kind === "migrate") {
        // No other host can take it: it stays and the host's maintenance mode waits, as in vCenter.
        requeue = UNPLACED_RETRY_MS;
      } else {
        const reason = blocked?.reason ?? placed?.reason ?? "InsufficientCapacity";
        const message = blocked?.message ?? placed?.message ?? "";
        status.host = undefined;
        status.nodeName = undefined;
        status.powerState = "PoweredOff";
        conds.push({
          type: Conditions.created,
          status: "False",
          reason: blocked ? "NotReady" : reason,
          message,
          observedGeneration: g,
        });
        if (!blocked || move.kind === "restart") this.events.event(vm, "Warning", reason, "Place", message);
        return this.finish(vm, status, conds, now, blocked ? undefined : UNPLACED_RETRY_MS);
      }
    }
    conds.push({
      type: Conditions.created,
      status: "True",
      reason: "Created",
      message: `on ESXi host ${status.host}`,
      observedGeneration: g,
    });

    // Resize: a new className is applied when the host (and the namespace) have room for it.
    if (cls && appliedClassName(vm) !== vm.spec.className && status.class?.name === appliedClassName(vm)) {
      const why = this.resizeBlocked(vm, cls, status.host!);
      if (why) {
        conds[0] = {
          type: Conditions.classReady,
          status: "False",
          reason: "InsufficientCapacity",
          message: why,
          observedGeneration: g,
        };
        requeue = UNPLACED_RETRY_MS;
      } else {
        this.events.event(
          vm,
          "Normal",
          "Resized",
          "Resize",
          `resized from ${status.class?.name} to ${cls.metadata.name}`,
        );
        status.class = { ...status.class, name: cls.metadata.name };
      }
    }

    // An address on the workload network, kept for the VM's life (also across vMotion and HA).
    if (!status.network?.primaryIP4) {
      const ip = this.ips.allocate(`${req.namespace}/${req.name}`);
      if (ip) status.network = { ...status.network, primaryIP4: ip };
    }

    // Power.
    const restartDue =
      !!vm.spec.nextRestartTime &&
      (!vm.status?.lastRestartTime ||
        Date.parse(vm.spec.nextRestartTime) > Date.parse(vm.status.lastRestartTime));
    if (restartDue) {
      status.lastRestartTime = vm.spec.nextRestartTime;
      status.powerState = "PoweredOff";
      this.events.event(vm, "Normal", "Restarted", "Restart", "restarted (nextRestartTime)");
    }
    const prevPower = findCondition(vm.status?.conditions as Condition[] | undefined, Conditions.poweredOn);
    if (vm.spec.powerState !== "PoweredOn") {
      status.powerState = vm.spec.powerState;
      conds.push({
        type: Conditions.poweredOn,
        status: "False",
        reason: vm.spec.powerState,
        message: "",
        observedGeneration: g,
      });
    } else if (status.powerState === "PoweredOn") {
      conds.push({
        type: Conditions.poweredOn,
        status: "True",
        reason: "PoweredOn",
        message: "",
        observedGeneration: g,
      });
    } else {
      // Booting since the condition turned Unknown/PoweringOn: its transition time survives a
      // restart of the manager, so the boot is not started over.
      const since =
        prevPower?.status === "Unknown" && !restartDue
          ? Date.parse(prevPower.lastTransitionTime)
          : now.getTime();
      const due =
        since +
        bootDelayMs(
          vm,
          this.settings.vmBootDelayMs,
          this.settings.vmBootJitterMs,
          stableFraction(vm.metadata.uid ?? req.name),
        );
      if (now.getTime() >= due) {
        status.powerState = "PoweredOn";
        conds.push({
          type: Conditions.poweredOn,
          status: "True",
          reason: "PoweredOn",
          message: "",
          observedGeneration: g,
        });
      } else {
        status.powerState = "PoweredOff";
        conds.push({
          type: Conditions.poweredOn,
          status: "Unknown",
          reason: "PoweringOn",
          message: "booting",
          observedGeneration: g,
        });
        requeue = Math.min(requeue ?? Number.POSITIVE_INFINITY, due - now.getTime() + 5);
      }
    }
    return this.finish(vm, status, conds, now, requeue);
  }

  /** Writes the status (conditions with Ready) when it changed. */
  private async finish(
    vm: VirtualMachine,
    status: VirtualMachineStatus,
    conds: NewCondition[],
    now: Date,
    requeueAfter: number | undefined,
  ): Promise<Result | undefined> {
    const poweredOnWanted = vm.spec.powerState === "PoweredOn";
    const forReady = conds.filter((x) => x.type !== Conditions.poweredOn || poweredOnWanted);
    const all = [...conds, readyCondition(forReady, vm.metadata.generation)];
    status.conditions = setConditions(
      vm.status?.conditions as Condition[] | undefined,
      all,
      now,
    ) as VirtualMachineStatus["conditions"];
    const clean = JSON.parse(JSON.stringify(status)) as VirtualMachineStatus;
    if (!deepEqual(clean, vm.status)) {
      await this.client.patch(
        VirtualMachineResource,
        vm.metadata.name!,
        vm.metadata.namespace,
        { status: { ...nullMissing(vm.status, clean), ...clean } },
        { subresource: "status" },
      );
    }
    return requeueAfter === undefined ? undefined : { requeueAfter };
  }

  private classOf(vm: VirtualMachine, name: string): VirtualMachineClass | undefined {
    return this.c.classes.store.get(vm.metadata.namespace, name);
  }

  private hostHealth(host: string | undefined): HostHealth {
    if (!host) return "gone";
    const h = this.inv.hosts.store.get(host);
    if (!h || h.metadata.deletionTimestamp) return "gone";
    const node = this.inv.nodes.store.get(host);
    if (!node) return "gone";
    if (!nodeReady(node)) return "failed";
    return h.spec.maintenanceMode ? "maintenance" : "ok";
  }

  /** DRS placement within the namespace's limits; assumed until the cache shows it. */
  private placeVM(
    vm: VirtualMachine,
    cls: VirtualMachineClass,
    exclude: string[],
  ): { ok: true; host: string } | { ok: false; reason: string; message: string } {
    const key = `${vm.metadata.namespace}/${vm.metadata.name}`;
    const resources = reservationOf(cls.spec);
    if (exclude.length === 0) {
      const over = this.quotaExceeded(vm, resources);
      if (over) return { ok: false, reason: "QuotaExceeded", message: over };
    }
    this.inv.forget(`vm/${key}`);
    const p = place(this.inv.view(), { resources, exclude });
    if (!p.ok) return p;
    this.inv.assume(`vm/${key}`, p.host, resources);
    return p;
  }

  /** Why the namespace's CPU/memory limits refuse `add` more, or undefined. */
  private quotaExceeded(vm: VirtualMachine, add: Resources): string | undefined {
    const ns = vm.metadata.namespace!;
    const limits = this.c.svns.store.get(ns)?.spec.limits;
    if (!limits || (limits.cpu === undefined && limits.memory === undefined)) return undefined;
    let used = zeroResources;
    for (const other of this.c.vms.store.byIndex(NS_INDEX, ns)) {
      if (other.metadata.name === vm.metadata.name || !holdsReservation(other)) continue;
      used = addResources(used, reservationOf(this.classOf(other, appliedClassName(other))?.spec));
    }
    // VMs placed a moment ago whose status the cache does not show yet: without them, 16 workers
    // placing a TKC's VMs at once each saw room (e2e caught 5 VMs placed under a limit for 4).
    used = addResources(used, this.inv.assumedUnder(`vm/${ns}/`, `vm/${ns}/${vm.metadata.name}`));
    const podsUsed = this.c.quotas.store.get(ns, QUOTA_NAME)?.status?.used ?? {};
    used = addResources(used, {
      cpuMilli: cpuMilli(podsUsed["limits.cpu"] ?? 0),
      memory: bytes(podsUsed["limits.memory"] ?? 0),
      pods: 0,
    });
    const after = addResources(used, add);
    const short: string[] = [];
    if (limits.cpu !== undefined && after.cpuMilli > cpuMilli(limits.cpu))
      short.push(`cpu (limit ${limits.cpu})`);
    if (limits.memory !== undefined && after.memory > bytes(limits.memory))
      short.push(`memory (limit ${limits.memory})`);
    return short.length
      ? `the reservation of ${vm.spec.className} exceeds namespace ${ns}'s ${short.join(" and ")}`
      : undefined;
  }

  private resizeBlocked(vm: VirtualMachine, to: VirtualMachineClass, host: string): string | undefined {
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

/** null for status keys that are gone, so a merge patch removes them. */
function nullMissing(before: object | undefined, after: object): Record<string, null> {
  const out: Record<string, null> = {};
  for (const k of Object.keys(before ?? {})) if (!(k in after)) out[k] = null;
  return out;
}

/** VirtualMachines as a reservation source of the inventory (and a watch for the host controller). */
export function vmReservations(c: VMCaches): ReservationSource {
  return {
    resource: VirtualMachineResource,
    hostsOf: (o) => {
      const host = (o as VirtualMachine).status?.host;
      return host ? [host] : [];
    },
    reservedOn(host: string) {
      let resources = zeroResources;
      let objects = 0;
      for (const vm of c.vms.store.byIndex(HOST_INDEX, host)) {
        if (vm.metadata.deletionTimestamp) continue;
        objects++;
        if (holdsReservation(vm))
          resources = addResources(
            resources,
            reservationOf(c.classes.store.get(vm.metadata.namespace, appliedClassName(vm))?.spec),
          );
      }
      return { resources, objects };
    },
  };
}

export function setupVirtualMachineController(
  mgr: Manager,
  inv: Inventory,
  settings: SimulationSettings,
  ips: IpPool,
  c: VMCaches,
): void {
  const byNs = (ns: string | undefined) =>
    ns ? c.vms.store.byIndex(NS_INDEX, ns).map((v) => ({ namespace: ns, name: v.metadata.name! })) : [];
  const onHost = (host: string | undefined) =>
    host
      ? c.vms.store
          .byIndex(HOST_INDEX, host)
          .map((v) => ({ namespace: v.metadata.namespace, name: v.metadata.name! }))
      : [];
  mgr
    .controller("virtualmachine")
    .for(VirtualMachineResource)
    // Class or storage binding appearing, limits raised, a host failing or entering maintenance,
    // capacity freed: each can unblock or move VMs.
    .watches(VirtualMachineClassResource, (o) => byNs(o.metadata?.namespace), { predicate: anyChange })
    .watches(Namespaces, (o) => byNs(o.metadata?.name))
    .watches(SupervisorNamespaceResource, (o) => byNs(o.metadata?.name))
    .watches(ESXiHostResource, (o) => [...onHost(o.metadata?.name), ...unplaced(c)])
    .watches(Nodes, (o) => onHost(o.metadata?.name), { informer: ESXI_NODES, predicate: nodeChanged })
    .withOptions({ maxConcurrentReconciles: 16 })
    .complete(new VirtualMachineReconciler(mgr.client, inv, c, mgr.events, settings, ips));
}

/** VMs waiting for a host: a host change may make room. */
function unplaced(c: VMCaches) {
  return c.vms.store
    .list()
    .filter((v) => !v.status?.host)
    .map((v) => ({ namespace: v.metadata.namespace, name: v.metadata.name! }));
}
