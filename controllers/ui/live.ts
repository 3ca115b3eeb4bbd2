// The live inventory: the UI's rows, kept current from the manager's shared informer caches. An
// informer event marks the rows it touches dirty (a pod also marks its host, whose bars it moves);
// every FLUSH_MS the dirty rows are recomputed, and those whose content changed go to subscribers as
// one batch. No list, no API request: the caches the controllers already keep are the only input.
import type { EventsV1Event, V1Pod } from "@kubernetes/client-node";
import type { Machine } from "../api/cluster/machine.ts";
import type { TanzuKubernetesCluster } from "../api/run/tanzukubernetescluster.ts";
import type { VirtualMachine } from "../api/vmoperator/virtualmachine.ts";
import type { VirtualMachineService } from "../api/vmoperator/virtualmachineservice.ts";
import type { ESXiHost } from "../api/vsphere/esxihost.ts";
import type { SupervisorNamespace } from "../api/vsphere/supervisornamespace.ts";
import type { VSpherePod } from "../api/vsphere/vspherepod.ts";
import type { KubeObject } from "../runtime/client.ts";
import type { Handler } from "../runtime/informer.ts";
import { must } from "../runtime/must.js";
import { byNodeName, type Store } from "../runtime/store.ts";
import { addResources, podRequests, type Resources, zeroResources } from "../shared/quantity.ts";
import type { Row } from "./model.ts";
import {
  eventRow,
  hostRow,
  machineRow,
  namespaceRow,
  podRow,
  tkcRow,
  vipRow,
  vmRow,
  vspherePodRow,
} from "./rows.ts";

/** What an informer offers the UI: its cache and its events (an Informer is one). */
export interface Source<T extends KubeObject> {
  readonly store: Store<T>;
  addHandler(h: Handler<T>): void;
}

export interface UiSources {
  hosts: Source<ESXiHost>;
  pods: Source<V1Pod>;
  vspherePods: Source<VSpherePod>;
  namespaces: Source<SupervisorNamespace>;
  events: Source<EventsV1Event>;
  vms?: Source<VirtualMachine>;
  vmServices?: Source<VirtualMachineService>;
  tkcs?: Source<TanzuKubernetesCluster>;
  machines?: Source<Machine>;
  /** What VMs (and other sources) reserve on a host: the placement inventory's answer. */
  reservedOn(host: string): { resources: Resources; objects: number };
}

/** A batch of changes; deleted rows are given whole so that a subscriber can tell who may see them. */
export interface RowChanges {
  upserts: Row[];
  deletes: Row[];
}

export const FLUSH_MS = 200;
const POD_INDEX = "nodeName"; // the placement inventory's index of pods by node, shared

export class LiveInventory {
  private readonly rows = new Map<string, { row: Row; json: string }>();
  private readonly dirty = new Set<string>();
  private readonly subscribers = new Set<(c: RowChanges) => void>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** Counts for the benchmark and tests. */
  readonly stats = { flushes: 0, rowsComputed: 0, rowsSent: 0 };

  constructor(
    private readonly s: UiSources,
    private readonly flushMs = FLUSH_MS,
  ) {
    if (!s.pods.store.hasIndex(POD_INDEX)) s.pods.store.addIndex(POD_INDEX, byNodeName);
    const id = (prefix: string) => (o: KubeObject) =>
      o.metadata?.namespace
        ? `${prefix}/${o.metadata.namespace}/${o.metadata.name}`
        : `${prefix}/${o.metadata?.name}`;
    this.watch(s.hosts, (h) => {
      this.mark(id("host")(h));
      // A host that appears shows the pods already bound to its Node.
      for (const p of s.pods.store.byIndex(POD_INDEX, must(h.metadata.name, "host name")))
        this.mark(id("pod")(p));
    });
    this.watch(s.pods, (p) => {
      this.mark(id("pod")(p));
      if (p.spec?.nodeName) this.mark(`host/${p.spec.nodeName}`);
    });
    this.watch(s.vspherePods, (v) => this.mark(id("vpod")(v)));
    this.watch(s.namespaces, (n) => this.mark(id("svns")(n)));
    this.watch(s.events, (e) => this.mark(id("event")(e)));
    if (s.vms)
      this.watch(s.vms, (vm) => {
        this.mark(id("vm")(vm));
        if (vm.status?.host) this.mark(`host/${vm.status.host}`);
      });
    if (s.vmServices) this.watch(s.vmServices, (v) => this.mark(id("vmsvc")(v)));
    if (s.tkcs) this.watch(s.tkcs, (t) => this.mark(id("tkc")(t)));
    if (s.machines) this.watch(s.machines, (m) => this.mark(id("machine")(m)));
  }

  /** Every row now (dirty ones recomputed first), for a new subscriber's snapshot. */
  snapshot(): Row[] {
    this.flush();
    return [...this.rows.values()].map((r) => r.row);
  }

  get size(): number {
    return this.rows.size;
  }

  subscribe(fn: (c: RowChanges) => void): () => void {
    this.subscribers.add(fn);
    return () => this.subscribers.delete(fn);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.subscribers.clear();
  }

  /** Recomputes the dirty rows now and tells subscribers what changed. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.dirty.size === 0) return;
    const ids = [...this.dirty];
    this.dirty.clear();
    const changes: RowChanges = { upserts: [], deletes: [] };
    for (const rowId of ids) {
      const row = this.compute(rowId);
      this.stats.rowsComputed++;
      const old = this.rows.get(rowId);
      if (!row) {
        if (old) {
          this.rows.delete(rowId);
          changes.deletes.push(old.row);
        }
        continue;
      }
      const json = JSON.stringify(row);
      if (old?.json === json) continue;
      this.rows.set(rowId, { row, json });
      changes.upserts.push(row);
    }
    this.stats.flushes++;
    if (changes.upserts.length === 0 && changes.deletes.length === 0) return;
    this.stats.rowsSent += changes.upserts.length + changes.deletes.length;
    for (const fn of this.subscribers) fn(changes);
  }

  private watch<T extends KubeObject>(src: Source<T>, mark: (o: T) => void): void {
    src.addHandler({
      add: mark,
      update: (o, n) => {
        mark(n);
        if (o !== n) mark(o); // a pod or VM that moved host changes the old host's bars too
      },
      delete: mark,
    });
  }

  private mark(rowId: string): void {
    if (this.stopped) return;
    this.dirty.add(rowId);
    if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), this.flushMs);
      this.timer.unref();
    }
  }

  /** The row with this id from the caches, or undefined when its object is gone (or not shown). */
  private compute(rowId: string): Row | undefined {
    const slash = rowId.indexOf("/");
    const kind = rowId.slice(0, slash);
    const key = rowId.slice(slash + 1);
    const s = this.s;
    switch (kind) {
      case "host": {
        const h = s.hosts.store.get(key);
        if (!h) return undefined;
        const pods = s.pods.store.byIndex(POD_INDEX, key).filter(holdsResources);
        const reserved = s.reservedOn(key);
        return hostRow(h, {
          pods: pods.reduce((acc, p) => addResources(acc, podRequests(p.spec)), zeroResources),
          podCount: pods.length,
          vms: reserved.resources,
          vmCount: reserved.objects,
        });
      }
      case "pod": {
        const p = s.pods.store.get(key);
        // Only pods on ESXi hosts: the Node of an ESXiHost has the host's name.
        return p?.spec?.nodeName && s.hosts.store.get(p.spec.nodeName) ? podRow(p) : undefined;
      }
      case "vpod": {
        const v = s.vspherePods.store.get(key);
        return v && vspherePodRow(v);
      }
      case "svns": {
        const n = s.namespaces.store.get(key);
        return n && namespaceRow(n);
      }
      case "event": {
        const e = s.events.store.get(key);
        return e && eventRow(e);
      }
      case "vm": {
        const vm = s.vms?.store.get(key);
        return vm && vmRow(vm);
      }
      case "vmsvc": {
        const v = s.vmServices?.store.get(key);
        return v && vipRow(v);
      }
      case "tkc": {
        const t = s.tkcs?.store.get(key);
        return t && tkcRow(t);
      }
      case "machine": {
        const m = s.machines?.store.get(key);
        return m && machineRow(m);
      }
      default:
        return undefined;
    }
  }
}

function holdsResources(p: V1Pod): boolean {
  return p.status?.phase !== "Succeeded" && p.status?.phase !== "Failed";
}
