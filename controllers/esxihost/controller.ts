// The ESXiHost controller: keeps each host's Node (labels, taint, cordon, capacity minus VM
// reservations, Ready), drives maintenance mode (cordon, then evict through the Eviction API so
// PodDisruptionBudgets hold), and reports the host's status. The Lease is the Heartbeat's.
import type { V1Node, V1Pod } from "@kubernetes/client-node";
import type { ESXiHost } from "../api/vsphere/esxihost.ts";
import { ESXiHostResource } from "../api/vsphere/esxihost.ts";
import { ESXI_NODES, hostCapacity, type Inventory, nodeChanged } from "../placement/inventory.ts";
import { addResources, subResources } from "../quantity.ts";
import type { KubeClient, KubeObject } from "../runtime/client.ts";
import { anyChange, type Reconciler, type Request, type Result } from "../runtime/controller.ts";
import { apiStatus, isAlreadyExists } from "../runtime/errors.ts";
import type { Logger } from "../runtime/log.ts";
import type { Manager } from "../runtime/manager.ts";
import { isControlledBy } from "../runtime/owner.ts";
import { deepEqual, overlayPatch } from "../runtime/patch.ts";
import { Nodes, objectPath, Pods } from "../runtime/resource.ts";
import type { SimulationSettings } from "../settings.ts";
import { type AddressConflict, addressConflict, type HostAddresses } from "./addresses.ts";
import type { Heartbeat } from "./heartbeat.ts";
import {
  defaultManagementIP,
  defaultPodCIDR,
  desiredNode,
  hostIndexOf,
  lowestFreeIndex,
  nodeStatusStale,
} from "./node.ts";
import { heartbeatsOn, hostStatus } from "./status.ts";

const EVACUATION_RETRY_MS = 3_000;
/** A host refused for an address conflict looks again this often (the other host may have gone). */
const ADDRESS_CONFLICT_RETRY_MS = 10_000;
/** Counts and allocations (podCount, free CPU, ...) are written at most this often per host. */
const COUNTS_INTERVAL_MS = 5_000;

export class ESXiHostReconciler implements Reconciler {
  /** Indexes given to Nodes being created but not yet in the cache. */
  private readonly pendingIndexes = new Map<string, number>();
  /** When each host's status was last written (throttles count-only updates; lost on restart, harmlessly). */
  private readonly lastStatusWrite = new Map<string, number>();

  constructor(
    private readonly client: KubeClient,
    private readonly inv: Inventory,
    private readonly heartbeat: Heartbeat,
    private readonly settings: SimulationSettings,
    private readonly events: Manager["events"],
  ) {}

  async reconcile(req: Request, log: Logger): Promise<Result | undefined> {
    const host = this.inv.hosts.store.get(req.name);
    if (!host || host.metadata.deletionTimestamp) return undefined; // the garbage collector removes Node and Lease
    const name = req.name;
    const now = new Date();
    let node = this.inv.nodes.store.get(name);
    const capacity = hostCapacity(host);
    const reserved = this.inv.reservedOn(name);

    let nodeConflict: string | undefined;
    let conflictReason: string | undefined;
    // A host registering with an older host's pod CIDR or management IP gets no Node: never shared.
    const taken = node ? undefined : this.addressConflict(host);
    if (taken) {
      nodeConflict = taken.message;
      conflictReason = taken.reason;
      if (host.status?.conditions?.find((c) => c.type === "Ready")?.reason !== taken.reason)
        this.events.event(host, "Warning", taken.reason, "Register", taken.message);
    } else if (!node) {
      // Registered with its status in one request, as a kubelet registers its Node. A Node of that
      // name that is not in our cache (no label of ours) makes this fail with AlreadyExists.
      const desired = desiredNode(
        host,
        this.allocateIndex(name),
        subResources(capacity, reserved.resources),
        undefined,
        now,
      );
      try {
        node = await this.client.create<V1Node>(Nodes, {
          ...desired.node,
          status: heartbeatsOn(host) ? desired.status : undefined,
        });
        log.info({ kind: "Node", name }, "registered node");
        this.heartbeat.renewSoon(name);
      } catch (e) {
        if (!isAlreadyExists(e)) throw e;
        node = await this.client.get<V1Node>(Nodes, name);
      }
    }
    if (taken) {
      // reported below; looked at again when the other host changes or goes
    } else if (node && !isControlledBy(node.metadata, host.metadata.uid)) {
      const owner = node.metadata?.ownerReferences?.find((o) => o.controller);
      nodeConflict = owner
        ? `Node ${name} belongs to ${owner.kind} ${owner.name} (uid ${owner.uid}); it will be replaced once that is gone`
        : `Node ${name} exists and was not made by Pacific; delete it or give the host another name`;
    } else if (node) {
      node = await this.syncNode(host, node, subResources(capacity, reserved.resources), now, log);
    }

    let toEvacuate = 0;
    let evacuationBlocked: string | undefined;
    if (host.spec.maintenanceMode && !nodeConflict) {
      const pods = this.inv.activePodsOn(name);
      toEvacuate = pods.length + reserved.objects;
      evacuationBlocked = await this.evict(host, pods, log);
    }

    const pods = this.inv.activePodsOn(name);
    const allocated = addResources(this.inv.podRequestsOn(name), reserved.resources);
    const facts = {
      node,
      capacity,
      allocated,
      pods: pods.length,
      vms: reserved.objects,
      toEvacuate,
      evacuationBlocked,
      nodeConflict,
      conflictReason,
      // A Spherelet just registered counts as having beaten now: one status write, not two.
      lastHeartbeat: this.heartbeat.lastRenew.get(name) ?? (heartbeatsOn(host) && node ? now : undefined),
    };
    const status = hostStatus(host, facts, now);
    const heartbeatStale =
      !!facts.lastHeartbeat &&
      now.getTime() - new Date(host.status?.lastHeartbeatTime ?? 0).getTime() >=
        this.settings.nodeStatusMaxIntervalMs;
    const { lastHeartbeatTime: _a, ...newer } = status;
    const { lastHeartbeatTime: _b, ...older } = host.status ?? {};
    // A pod starting changes podCount and free CPU; 10,000 pods must not mean 10,000 host writes.
    const countsOnly = deepEqual(withoutCounts(newer), withoutCounts(older));
    const sinceLast = Date.now() - (this.lastStatusWrite.get(name) ?? 0);
    let countsDueIn: number | undefined;
    if (!deepEqual(newer, older) && countsOnly && !heartbeatStale && sinceLast < COUNTS_INTERVAL_MS) {
      countsDueIn = COUNTS_INTERVAL_MS - sinceLast;
    } else if (!deepEqual(newer, older) || heartbeatStale) {
      if (status.connectionState !== host.status?.connectionState && host.status?.connectionState) {
        const bad = status.connectionState !== "connected";
        this.events.event(
          host,
          bad ? "Warning" : "Normal",
          bad ? "HostNotResponding" : "HostConnected",
          "Heartbeat",
          `host is ${status.connectionState}`,
        );
      }
      if (status.inMaintenanceMode && !host.status?.inMaintenanceMode) {
        this.events.event(
          host,
          "Normal",
          "EnteredMaintenanceMode",
          "Evacuate",
          "all workloads left the host",
        );
      }
      await this.client.patch(ESXiHostResource, name, undefined, { status }, { subresource: "status" });
      this.lastStatusWrite.set(name, Date.now());
    }

    if (taken) return { requeueAfter: ADDRESS_CONFLICT_RETRY_MS };
    if (countsDueIn !== undefined) return { requeueAfter: countsDueIn };
    if (host.spec.maintenanceMode && toEvacuate > 0) return { requeueAfter: EVACUATION_RETRY_MS };
    // Post node status at least every nodeStatusMaxInterval, as the kubelet does.
    return { requeueAfter: this.settings.nodeStatusMaxIntervalMs };
  }

  private async syncNode(
    host: ESXiHost,
    node: V1Node | undefined,
    allocatable: ReturnType<typeof subResources>,
    now: Date,
    log: Logger,
  ): Promise<V1Node> {
    const name = host.metadata.name!;
    const index = hostIndexOf(node) ?? this.allocateIndex(name);
    const desired = desiredNode(host, index, allocatable, node, now);
    if (!node) {
      node = await this.client.create<V1Node>(Nodes, desired.node);
      log.info({ kind: "Node", name }, "created node");
      this.heartbeat.renewSoon(name);
    } else {
      const spec = { ...desired.node.spec, unschedulable: host.spec.maintenanceMode ? true : null };
      const meta = desired.node.metadata!;
      const patch = overlayPatch(node, {
        metadata: {
          labels: meta.labels,
          annotations: meta.annotations,
          ownerReferences: meta.ownerReferences,
        },
        spec,
      });
      if (patch !== undefined) node = await this.client.patch<V1Node>(Nodes, name, undefined, patch);
    }
    // A failed host posts nothing; the node lifecycle controller decides what its Node shows.
    if (
      heartbeatsOn(host) &&
      nodeStatusStale(node, desired.status, now, this.settings.nodeStatusMaxIntervalMs)
    ) {
      node = await this.client.patch<V1Node>(
        Nodes,
        name,
        undefined,
        { status: desired.status },
        { subresource: "status" },
      );
      if (!this.heartbeat.lastRenew.has(name)) this.heartbeat.renewSoon(name);
    }
    return node;
  }

  /** An older host's use of the pod CIDR or management IP this host would register with. */
  private addressConflict(host: ESXiHost): AddressConflict | undefined {
    const name = host.metadata.name!;
    const created = (h: ESXiHost) => new Date(h.metadata.creationTimestamp ?? 0).toISOString();
    const index = host.spec.podCIDR && host.spec.managementIP ? 0 : this.allocateIndex(name);
    const others: HostAddresses[] = [];
    for (const o of this.inv.hosts.store.list()) {
      if (o.metadata.name === name) continue;
      const n = this.inv.nodes.store.get(o.metadata.name!);
      const own = n && isControlledBy(n.metadata, o.metadata.uid) ? n : undefined;
      others.push({
        name: o.metadata.name!,
        created: created(o),
        podCIDR: own?.spec?.podCIDR ?? o.spec.podCIDR,
        managementIP:
          own?.status?.addresses?.find((a) => a.type === "InternalIP")?.address ?? o.spec.managementIP,
      });
    }
    return addressConflict(
      {
        name,
        created: created(host),
        podCIDR: host.spec.podCIDR ?? defaultPodCIDR(index),
        managementIP: host.spec.managementIP ?? defaultManagementIP(index),
      },
      others,
    );
  }

  /** The lowest index no ESXi Node (in the cache or being created) has. */
  private allocateIndex(host: string): number {
    const pending = this.pendingIndexes.get(host);
    if (pending !== undefined) return pending;
    const used = new Set<number>();
    for (const n of this.inv.nodes.store.list()) {
      const i = hostIndexOf(n);
      if (i !== undefined) used.add(i);
    }
    for (const [h, i] of this.pendingIndexes) {
      if (this.inv.nodes.store.get(h)) this.pendingIndexes.delete(h);
      else used.add(i);
    }
    const index = lowestFreeIndex(used);
    this.pendingIndexes.set(host, index);
    return index;
  }

  /** Evicts the pods still on the host; returns why evacuation is blocked, if a PDB blocks it. */
  private async evict(host: ESXiHost, pods: V1Pod[], log: Logger): Promise<string | undefined> {
    let blocked: string | undefined;
    for (const p of pods) {
      if (p.metadata?.deletionTimestamp) continue;
      const ns = p.metadata!.namespace!;
      const name = p.metadata!.name!;
      try {
        await this.client.request("POST", objectPath(Pods, name, ns, "eviction"), {
          body: { apiVersion: "policy/v1", kind: "Eviction", metadata: { name, namespace: ns } },
        });
        log.info({ kind: "Pod", namespace: ns, name }, "evicted pod for maintenance mode");
      } catch (e) {
        const s = apiStatus(e);
        if (s.code === 404) continue;
        if (s.code === 429) {
          blocked = `eviction of pod ${ns}/${name} is blocked: ${s.message}`;
          this.events.event(host, "Warning", "EvacuationBlocked", "Evacuate", blocked);
          continue;
        }
        throw e;
      }
    }
    return blocked;
  }
}

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
      {
        predicate: anyChange,
      },
    );
  b.complete(new ESXiHostReconciler(mgr.client, inv, heartbeat, settings, mgr.events));
}

/** A host status without the fields that move with every pod. */
function withoutCounts(s: Record<string, unknown>): Record<string, unknown> {
  const { podCount: _p, vmCount: _v, allocated: _a, free: _f, ...rest } = s;
  return rest;
}
