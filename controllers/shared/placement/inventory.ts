// The inventory: what every host has on it, read from the shared informer caches — pods bound to
// the host's Node and reservations reported by other sources (the VM Service) — never from a
// private counter, so a restart recomputes the same answer. The only memory of its own is the
// short-lived "assumed" placements (kube-scheduler's assume cache): a pod or VM just placed but not
// yet seen in the cache, so that two placements in a row do not both take the last free slot.
import type { V1Node, V1Pod, V1Taint, V1Toleration } from "@kubernetes/client-node";
import { ESXI_HOST_LABEL, PROVIDER_TAINT_KEY, PROVIDER_TAINT_VALUE } from "../../api/contracts.ts";
import type { ESXiHost } from "../../api/vsphere/esxihost.ts";
import { ESXiHostResource } from "../../api/vsphere/esxihost.ts";
import type { KubeObject } from "../../runtime/client.ts";
import { specOrMetadataChanged } from "../../runtime/controller.ts";
import type { Informer } from "../../runtime/informer.ts";
import type { Manager } from "../../runtime/manager.ts";
import { deepEqual } from "../../runtime/patch.ts";
import { keyFor, Nodes, Pods, type ResourceType } from "../../runtime/resource.ts";
import { byNodeName } from "../../runtime/store.ts";
import { addResources, bytes, cpuMilli, podRequests, type Resources, zeroResources } from "../quantity.ts";
import type { HostView } from "./drs.ts";

export const NODE_INDEX = "nodeName";
const ASSUME_TTL_MS = 30_000;

/** What other kinds (VirtualMachines) reserve on a host. */
export interface ReservationSource {
  /** Reserved resources and object count on `host`. */
  reservedOn(host: string): { resources: Resources; objects: number };
  /** The kind whose changes move reservations, and the hosts an object is on (the host controller watches it). */
  resource: ResourceType;
  hostsOf(obj: KubeObject): string[];
}

/** Where the inventory's informers come from: the manager (or standalone informers in unit tests). */
export type InformerSource = Pick<Manager, "informer">;

/** The assumption key of a pod just placed (what `assume` and `forget` take). */
export function podAssumeKey(namespace: string | undefined, name: string): string {
  return `pod/${keyFor(namespace, name)}`;
}

interface Assumed {
  host: string;
  resources: Resources;
  at: number;
}

export class Inventory {
  readonly hosts: Informer<ESXiHost>;
  readonly nodes: Informer<V1Node>;
  readonly pods: Informer<V1Pod>;
  private readonly sources: ReservationSource[] = [];
  private readonly assumed = new Map<string, Assumed>();

  constructor(mgr: InformerSource) {
    this.hosts = mgr.informer<ESXiHost>(ESXiHostResource);
    this.nodes = mgr.informer<V1Node>(Nodes, ESXI_NODES);
    this.pods = mgr.informer<V1Pod>(Pods);
    this.pods.addIndex(NODE_INDEX, byNodeName);
    // A placement is no longer an assumption once the cache shows the pod bound.
    const observe = (p: V1Pod) => {
      if (p.spec?.nodeName) this.assumed.delete(podAssumeKey(p.metadata?.namespace, p.metadata?.name ?? ""));
    };
    this.pods.addHandler({ add: observe, update: (_o, n) => observe(n) });
  }

  addReservationSource(s: ReservationSource): void {
    this.sources.push(s);
  }

  get reservationSources(): readonly ReservationSource[] {
    return this.sources;
  }

  /** Records a placement made but not yet visible in the caches. */
  assume(key: string, host: string, resources: Resources): void {
    this.assumed.set(key, { host, resources, at: Date.now() });
  }

  forget(key: string): void {
    this.assumed.delete(key);
  }

  /** What the live assumptions whose key starts with `prefix` hold (but `except`'s). */
  assumedUnder(prefix: string, except?: string): Resources {
    let sum = zeroResources;
    const now = Date.now();
    for (const [key, a] of this.assumed)
      if (key.startsWith(prefix) && key !== except && now - a.at <= ASSUME_TTL_MS)
        sum = addResources(sum, a.resources);
    return sum;
  }

  /** Pods bound to `node` that still hold resources (not Succeeded/Failed). */
  activePodsOn(node: string): V1Pod[] {
    return this.pods.store.byIndex(NODE_INDEX, node).filter((p) => !isTerminal(p));
  }

  /** What VMs and other sources reserve on `host`. */
  reservedOn(host: string): { resources: Resources; objects: number } {
    let resources = zeroResources;
    let objects = 0;
    for (const s of this.sources) {
      const r = s.reservedOn(host);
      resources = addResources(resources, r.resources);
      objects += r.objects;
    }
    return { resources, objects };
  }

  /** Requests of the active pods on `host`. */
  podRequestsOn(host: string): Resources {
    return this.activePodsOn(host).reduce((acc, p) => addResources(acc, podRequests(p.spec)), zeroResources);
  }

  /** The DRS view of every host. */
  view(): HostView[] {
    const now = Date.now();
    const assumedOn = new Map<string, { resources: Resources; objects: number }>();
    for (const [key, a] of this.assumed) {
      if (now - a.at > ASSUME_TTL_MS) {
        this.assumed.delete(key);
        continue;
      }
      const cur = assumedOn.get(a.host) ?? { resources: zeroResources, objects: 0 };
      assumedOn.set(a.host, {
        resources: addResources(cur.resources, a.resources),
        objects: cur.objects + 1,
      });
    }
    return this.hosts.store.list().map((h) => {
      const name = h.metadata.name ?? "";
      const node = this.nodes.store.get(name);
      const pods = this.activePodsOn(name);
      const reserved = this.reservedOn(name);
      const assumed = assumedOn.get(name) ?? { resources: zeroResources, objects: 0 };
      const podsReq = pods.reduce((acc, p) => addResources(acc, podRequests(p.spec)), zeroResources);
      return {
        name,
        zone: h.spec.zone,
        connected: nodeReady(node),
        schedulable: !!node && !node.spec?.unschedulable,
        inMaintenance: h.spec.maintenanceMode,
        allocatable: hostCapacity(h),
        allocated: addResources(addResources(podsReq, reserved.resources), assumed.resources),
        objects: pods.length + reserved.objects + assumed.objects,
      };
    });
  }
}

/** The informer options of ESXi hosts' Nodes (only those carry the label). */
export const ESXI_NODES = { labelSelector: ESXI_HOST_LABEL };

/** The taint on every ESXi host's Node, and the toleration a pod needs to run there. */
export const PROVIDER_TAINT: V1Taint = {
  key: PROVIDER_TAINT_KEY,
  value: PROVIDER_TAINT_VALUE,
  effect: "NoSchedule",
};
export const PROVIDER_TOLERATION: V1Toleration = {
  key: PROVIDER_TAINT_KEY,
  operator: "Equal",
  value: PROVIDER_TAINT_VALUE,
  effect: "NoSchedule",
};

/** The host's Spherelet is alive (simulation: heartbeats not turned off). */
export function heartbeatsOn(host: ESXiHost): boolean {
  return host.spec.simulation?.heartbeats !== false;
}

export function hostCapacity(h: ESXiHost): Resources {
  return {
    cpuMilli: cpuMilli(h.spec.capacity.cpu),
    memory: bytes(h.spec.capacity.memory),
    pods: h.spec.capacity.pods,
  };
}

export function isTerminal(p: V1Pod): boolean {
  return p.status?.phase === "Succeeded" || p.status?.phase === "Failed";
}

/** The Node's Ready condition is True (posted by the Spherelet, not overridden by the node lifecycle controller). */
export function nodeReady(node: V1Node | undefined): boolean {
  return node?.status?.conditions?.find((c) => c.type === "Ready")?.status === "True";
}

/**
 * A Node update that matters to Pacific: readiness (the node lifecycle controller marking it
 * Unknown), its spec or metadata, or what it offers. Heartbeat-only status posts do not.
 */
export const nodeChanged = (o: KubeObject, n: KubeObject): boolean => {
  const a = o as V1Node;
  const b = n as V1Node;
  return (
    specOrMetadataChanged(o, n) ||
    nodeReady(a) !== nodeReady(b) ||
    !deepEqual(a.spec, b.spec) ||
    !deepEqual(a.status?.allocatable, b.status?.allocatable) ||
    !a.status?.addresses !== !b.status?.addresses
  );
};
