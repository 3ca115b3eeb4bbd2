// The ESXiHost reconciler: keeps each host's Node (labels, taint, cordon, capacity minus VM
// reservations, Ready), drives maintenance mode (cordon, then evict through the Eviction API so
// PodDisruptionBudgets hold), and reports the host's status. The Lease is the Heartbeat's. No
// finalizer: the garbage collector removes the Node (and with it the Lease) after the host.
import type { V1Node, V1Pod } from "@kubernetes/client-node";
import { type ESXiHost, ESXiHostResource } from "../api/vsphere/esxihost.ts";
import { ensureChild } from "../runtime/children.ts";
import type { Client } from "../runtime/client.ts";
import type { Reconciler, Request, Result } from "../runtime/controller.ts";
import { apiStatus, isAlreadyExists } from "../runtime/errors.ts";
import type { EventRecorder } from "../runtime/events.ts";
import type { Logger } from "../runtime/log.ts";
import { controllerOf, isControlledBy } from "../runtime/owner.ts";
import { patchStatus } from "../runtime/patchhelper.ts";
import { Nodes } from "../runtime/resource.ts";
import type { SimulationSettings } from "../settings.ts";
import { heartbeatsOn, hostCapacity, type Inventory } from "../shared/placement/inventory.ts";
import { addResources, type Resources, subResources } from "../shared/quantity.ts";
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
import { type HostFacts, hostStatus, statusEvents, statusWrite } from "./status.ts";

const EVACUATION_RETRY_MS = 3_000;
/** A host refused for an address conflict looks again this often (the other host may have gone). */
const ADDRESS_CONFLICT_RETRY_MS = 10_000;

/** Evicts a pod through the Eviction API (policy/v1), so that PodDisruptionBudgets hold. */
export type Evict = (namespace: string, name: string) => Promise<void>;

/** What the reconciler needs of the Heartbeat runnable. */
export type HeartbeatClock = Pick<Heartbeat, "lastRenew" | "renewSoon">;

/** The host's Node, or why it cannot have one. */
interface NodeFacts {
  node: V1Node | undefined;
  conflict?: string;
  /** The Ready reason of the conflict, when it is not NodeConflict (PodCIDRConflict, ManagementIPConflict). */
  conflictReason?: string;
}

interface Evacuation {
  toEvacuate: number;
  blocked?: string;
}

export class ESXiHostReconciler implements Reconciler {
  /** Indexes given to Nodes being created but not yet in the cache. */
  private readonly pendingIndexes = new Map<string, number>();
  /** When each host's status was last written (throttles count-only updates; lost on restart, harmlessly). */
  private readonly lastStatusWrite = new Map<string, number>();

  constructor(
    private readonly client: Client,
    private readonly inv: Inventory,
    private readonly heartbeat: HeartbeatClock,
    private readonly settings: SimulationSettings,
    private readonly events: Pick<EventRecorder, "event">,
    private readonly evict: Evict,
  ) {}

  async reconcile(req: Request, log: Logger): Promise<Result | undefined> {
    const host = this.inv.hosts.store.get(req.name);
    if (!host || host.metadata.deletionTimestamp) return undefined; // the garbage collector removes Node and Lease
    return this.reconcileNormal(host, log);
  }

  private async reconcileNormal(host: ESXiHost, log: Logger): Promise<Result> {
    const name = host.metadata.name ?? "";
    const now = new Date();
    const reserved = this.inv.reservedOn(name);
    const allocatable = subResources(hostCapacity(host), reserved.resources);
    const node = await this.reconcileNode(host, allocatable, now, log);
    const evacuation = await this.reconcileEvacuation(host, node, reserved.objects, log);
    const facts: HostFacts = {
      node: node.node,
      capacity: hostCapacity(host),
      allocated: addResources(this.inv.podRequestsOn(name), reserved.resources),
      pods: this.inv.activePodsOn(name).length,
      vms: reserved.objects,
      toEvacuate: evacuation.toEvacuate,
      evacuationBlocked: evacuation.blocked,
      nodeConflict: node.conflict,
      conflictReason: node.conflictReason,
      // A Spherelet just registered counts as having beaten now: one status write, not two.
      lastHeartbeat:
        this.heartbeat.lastRenew.get(name) ?? (heartbeatsOn(host) && node.node ? now : undefined),
    };
    const countsDueIn = await this.reportStatus(host, facts, now);
    if (node.conflictReason) return { requeueAfter: ADDRESS_CONFLICT_RETRY_MS };
    if (countsDueIn !== undefined) return { requeueAfter: countsDueIn };
    if (host.spec.maintenanceMode && evacuation.toEvacuate > 0) return { requeueAfter: EVACUATION_RETRY_MS };
    // Post node status at least every nodeStatusMaxInterval, as the kubelet does.
    return { requeueAfter: this.settings.nodeStatusMaxIntervalMs };
  }

  /** Registers the Node, or finds whose it is, then keeps it as the host says. */
  private async reconcileNode(
    host: ESXiHost,
    allocatable: Resources,
    now: Date,
    log: Logger,
  ): Promise<NodeFacts> {
    const name = host.metadata.name ?? "";
    const cached = this.inv.nodes.store.get(name);
    // A host registering with an older host's pod CIDR or management IP gets no Node: never shared.
    const taken = cached ? undefined : this.addressConflict(host);
    if (taken) {
      if (host.status?.conditions?.find((c) => c.type === "Ready")?.reason !== taken.reason)
        this.events.event(host, "Warning", taken.reason, "Register", taken.message);
      return { node: undefined, conflict: taken.message, conflictReason: taken.reason };
    }
    const node = cached ?? (await this.registerNode(host, allocatable, now, log));
    if (!isControlledBy(node.metadata, host.metadata.uid)) {
      const owner = controllerOf(node.metadata);
      const conflict = owner
        ? `Node ${name} belongs to ${owner.kind} ${owner.name} (uid ${owner.uid}); it will be replaced once that is gone`
        : `Node ${name} exists and was not made by Pacific; delete it or give the host another name`;
      return { node, conflict };
    }
    return { node: await this.syncNode(host, node, allocatable, now) };
  }

  /**
   * Registered with its status in one request, as a kubelet registers its Node. A Node of that
   * name that is not in our cache (no label of ours) makes this fail with AlreadyExists: read it.
   */
  private async registerNode(
    host: ESXiHost,
    allocatable: Resources,
    now: Date,
    log: Logger,
  ): Promise<V1Node> {
    const name = host.metadata.name ?? "";
    const desired = desiredNode(host, this.allocateIndex(name), allocatable, undefined, now);
    try {
      const node = await this.client.create(Nodes, {
        ...desired.node,
        status: heartbeatsOn(host) ? desired.status : undefined,
      });
      log.info({ kind: "Node", name }, "registered node");
      this.heartbeat.renewSoon(name);
      return node;
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
      return this.client.get(Nodes, name);
    }
  }

  /** Patches labels, owner, taint and cordon; posts the node status when it is due. */
  private async syncNode(host: ESXiHost, node: V1Node, allocatable: Resources, now: Date): Promise<V1Node> {
    const name = host.metadata.name ?? "";
    const desired = desiredNode(host, hostIndexOf(node) ?? this.allocateIndex(name), allocatable, node, now);
    // Labels, annotations and owner overlaid (others' labels stay), the spec overlaid too (others'
    // taints are kept by desiredNode); a null uncordons.
    const uncordon = null as unknown as boolean;
    const spec = { ...desired.node.spec, unschedulable: host.spec.maintenanceMode ? true : uncordon };
    await ensureChild(this.client, Nodes, { ...desired.node, spec }, node);
    // A failed host posts nothing; the node lifecycle controller decides what its Node shows.
    if (
      !heartbeatsOn(host) ||
      !nodeStatusStale(node, desired.status, now, this.settings.nodeStatusMaxIntervalMs)
    )
      return node;
    const posted = await this.client.patch(
      Nodes,
      name,
      undefined,
      { status: desired.status },
      {
        subresource: "status",
      },
    );
    if (!this.heartbeat.lastRenew.has(name)) this.heartbeat.renewSoon(name);
    return posted;
  }

  /** Maintenance mode: evicts what is still on the host; answers what is left and what blocks it. */
  private async reconcileEvacuation(
    host: ESXiHost,
    node: NodeFacts,
    vms: number,
    log: Logger,
  ): Promise<Evacuation> {
    if (!host.spec.maintenanceMode || node.conflict) return { toEvacuate: 0 };
    const pods = this.inv.activePodsOn(host.metadata.name ?? "");
    let blocked: string | undefined;
    for (const p of pods) {
      const why = await this.evictPod(host, p, log);
      blocked = why ?? blocked;
    }
    return { toEvacuate: pods.length + vms, blocked };
  }

  /** Evicts one pod; returns why it is blocked, if a PodDisruptionBudget blocks it. */
  private async evictPod(host: ESXiHost, p: V1Pod, log: Logger): Promise<string | undefined> {
    const ns = p.metadata?.namespace ?? "";
    const name = p.metadata?.name ?? "";
    if (p.metadata?.deletionTimestamp) return undefined;
    try {
      await this.evict(ns, name);
      log.info({ kind: "Pod", namespace: ns, name }, "evicted pod for maintenance mode");
      return undefined;
    } catch (e) {
      const s = apiStatus(e);
      if (s.code === 404) return undefined;
      if (s.code !== 429) throw e;
      const blocked = `eviction of pod ${ns}/${name} is blocked: ${s.message}`;
      this.events.event(host, "Warning", "EvacuationBlocked", "Evacuate", blocked);
      return blocked;
    }
  }

  /** The one status write (throttled for counts-only changes); answers when counts are due. */
  private async reportStatus(host: ESXiHost, facts: HostFacts, now: Date): Promise<number | undefined> {
    const name = host.metadata.name ?? "";
    const status = hostStatus(host, facts, now);
    const heartbeatStale =
      !!facts.lastHeartbeat &&
      now.getTime() - new Date(host.status?.lastHeartbeatTime ?? 0).getTime() >=
        this.settings.nodeStatusMaxIntervalMs;
    const decision = statusWrite(
      host.status,
      status,
      heartbeatStale,
      Date.now() - (this.lastStatusWrite.get(name) ?? 0),
    );
    if (!decision.write) return decision.dueInMs;
    for (const e of statusEvents(host.status, status))
      this.events.event(host, e.type, e.reason, e.action, e.note);
    await patchStatus(this.client, ESXiHostResource, host, status);
    this.lastStatusWrite.set(name, Date.now());
    return undefined;
  }

  /** An older host's use of the pod CIDR or management IP this host would register with. */
  private addressConflict(host: ESXiHost): AddressConflict | undefined {
    const name = host.metadata.name ?? "";
    const created = (h: ESXiHost) => createdOf(h);
    const index = host.spec.podCIDR && host.spec.managementIP ? 0 : this.allocateIndex(name);
    const others: HostAddresses[] = [];
    for (const o of this.inv.hosts.store.list()) {
      const other = o.metadata.name ?? "";
      if (other === name) continue;
      const n = this.inv.nodes.store.get(other);
      const own = n && isControlledBy(n.metadata, o.metadata.uid) ? n : undefined;
      others.push({
        name: other,
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
}

/**
 * A host's creation time as RFC 3339, remembered per object (an informer replaces the object on
 * every change, so a remembered one is never stale): the address check reads it for every host.
 */
const createdTimes = new WeakMap<ESXiHost, string>();
function createdOf(h: ESXiHost): string {
  let t = createdTimes.get(h);
  if (t === undefined) {
    t = new Date(h.metadata.creationTimestamp ?? 0).toISOString();
    createdTimes.set(h, t);
  }
  return t;
}
