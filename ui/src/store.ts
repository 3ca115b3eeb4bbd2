// The browser's copy of the rows the server streams (server-sent events): a snapshot, then changes.
// Renders are batched to one per animation frame, so a stream of updates never queues work faster
// than the screen shows it.
import type {
  Abilities,
  Changes,
  EventRow,
  HostRow,
  MachineRow,
  NamespaceRow,
  PodRow,
  Row,
  Snapshot,
  TkcRow,
  VipRow,
  VMRow,
  VSpherePodRow,
} from "../../controllers/ui/model.ts";

export type Connection = "connecting" | "live" | "reconnecting" | "unauthorized";

/** Rows grouped the ways the views read them; rebuilt once per change batch, not per render. */
export interface Indexes {
  hosts: HostRow[];
  podsByHost: Map<string, PodRow[]>;
  vmsByHost: Map<string, VMRow[]>;
  namespaces: NamespaceRow[];
  byNs: Map<
    string,
    { vpods: VSpherePodRow[]; vms: VMRow[]; tkcs: TkcRow[]; vips: VipRow[]; machines: MachineRow[] }
  >;
  events: EventRow[];
  rows: Map<string, Row>;
}

export class RowStore {
  readonly rows = new Map<string, Row>();
  abilities: Abilities = { maintenance: false, vmPower: [], scale: [] };
  seesHosts = false;
  connection: Connection = "connecting";
  /** Milliseconds from navigation start to the first snapshot rendered (the benchmark reads it). */
  firstRenderMs: number | undefined;
  private version = 0;
  private indexed: { version: number; ix: Indexes } | undefined;
  private listeners = new Set<() => void>();
  private frame = 0;
  private source: EventSource | undefined;

  connect(url = "api/stream"): void {
    const es = new EventSource(url);
    this.source = es;
    es.addEventListener("open", () => this.set("live"));
    es.addEventListener("error", () => {
      if (this.connection !== "unauthorized") this.set("reconnecting");
    });
    es.addEventListener("snapshot", (e) => {
      if (!document.body.dataset.snapshotMs)
        document.body.dataset.snapshotMs = String(Math.round(performance.now()));
      const s = JSON.parse((e as MessageEvent<string>).data) as Snapshot;
      this.rows.clear();
      for (const r of s.rows) this.rows.set(r.id, r);
      this.abilities = s.abilities;
      this.seesHosts = s.seesHosts;
      this.connection = "live";
      this.changed();
    });
    es.addEventListener("changes", (e) => {
      const c = JSON.parse((e as MessageEvent<string>).data) as Changes;
      for (const id of c.deletes) this.rows.delete(id);
      for (const r of c.upserts) this.rows.set(r.id, r);
      this.changed();
    });
    es.addEventListener("unauthorized", () => {
      es.close();
      this.set("unauthorized");
    });
  }

  close(): void {
    this.source?.close();
  }

  subscribe(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  get ix(): Indexes {
    if (this.indexed?.version !== this.version) this.indexed = { version: this.version, ix: this.build() };
    return this.indexed.ix;
  }

  private set(c: Connection): void {
    this.connection = c;
    this.changed();
  }

  private changed(): void {
    this.version++;
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      for (const fn of this.listeners) fn();
    });
  }

  private build(): Indexes {
    const ix: Indexes = {
      hosts: [],
      podsByHost: new Map(),
      vmsByHost: new Map(),
      namespaces: [],
      byNs: new Map(),
      events: [],
      rows: this.rows,
    };
    const ns = (name: string) => {
      let n = ix.byNs.get(name);
      if (!n) {
        n = { vpods: [], vms: [], tkcs: [], vips: [], machines: [] };
        ix.byNs.set(name, n);
      }
      return n;
    };
    const push = <T>(m: Map<string, T[]>, k: string, v: T) => {
      const l = m.get(k);
      if (l) l.push(v);
      else m.set(k, [v]);
    };
    for (const r of this.rows.values()) {
      switch (r.res) {
        case "esxihosts":
          ix.hosts.push(r);
          break;
        case "pods":
          push(ix.podsByHost, r.host, r);
          break;
        case "virtualmachines":
          if (r.host) push(ix.vmsByHost, r.host, r);
          ns(r.ns).vms.push(r);
          break;
        case "supervisornamespaces":
          ix.namespaces.push(r);
          break;
        case "vspherepods":
          ns(r.ns).vpods.push(r);
          break;
        case "tanzukubernetesclusters":
          ns(r.ns).tkcs.push(r);
          break;
        case "virtualmachineservices":
          ns(r.ns).vips.push(r);
          break;
        case "machines":
          ns(r.ns).machines.push(r);
          break;
        case "events":
          ix.events.push(r);
          break;
      }
    }
    const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name);
    ix.hosts.sort(byName);
    ix.namespaces.sort(byName);
    ix.events.sort((a, b) => b.time - a.time);
    for (const l of ix.podsByHost.values()) l.sort(byName);
    for (const l of ix.vmsByHost.values()) l.sort(byName);
    for (const n of ix.byNs.values()) for (const l of Object.values(n)) l.sort(byName);
    return ix;
  }
}

/** May the viewer act in `ns` (the list holds "*" for every namespace)? */
export function mayIn(list: string[], ns: string): boolean {
  return list.includes("*") || list.includes(ns);
}
