// An events.k8s.io/v1 recorder: best-effort, never used as state, rate-limited per object
// (client-go's spam filter: a burst of 25, then one per 5 minutes) and with repeats of the same
// reason and note within a minute dropped.
import type { KubeClient, KubeObject } from "./client.ts";
import { microTime } from "./conditions.ts";
import type { Logger } from "./log.ts";
import { Events } from "./resource.ts";

export type EventType = "Normal" | "Warning";

interface Bucket {
  tokens: number;
  last: number;
  recent: Map<string, number>;
}

export class EventRecorder {
  private readonly buckets = new Map<string, Bucket>();
  private sequence = 0;

  constructor(
    private readonly client: KubeClient,
    private readonly reportingController: string,
    private readonly reportingInstance: string,
    private readonly log: Logger,
    private readonly burst = 25,
    private readonly refillMs = 300_000,
  ) {}

  /** Records an event about `regarding`; returns without waiting and never throws. */
  event(regarding: KubeObject, type: EventType, reason: string, action: string, note: string): void {
    const m = regarding.metadata;
    if (!m?.name || !regarding.kind) return;
    if (!this.allow(m.uid ?? `${m.namespace}/${m.name}`, `${reason}\u0000${note}`)) return;
    const now = new Date();
    const body = {
      apiVersion: "events.k8s.io/v1",
      kind: "Event",
      metadata: {
        // Unique like client-go's <name>.<unix nanos in hex>.
        name: `${m.name}.${(BigInt(now.getTime()) * 1_000_000n + BigInt(this.sequence++ % 1_000_000)).toString(16)}`,
        namespace: m.namespace || "default",
      },
      eventTime: microTime(now),
      reportingController: this.reportingController,
      reportingInstance: this.reportingInstance,
      action,
      reason,
      type,
      note: note.length > 1024 ? `${note.slice(0, 1021)}...` : note,
      regarding: {
        apiVersion: regarding.apiVersion,
        kind: regarding.kind,
        name: m.name,
        namespace: m.namespace,
        uid: m.uid,
        resourceVersion: m.resourceVersion,
      },
    };
    this.client.create(Events, body).catch((e: unknown) => {
      this.log.debug({ err: String(e), reason }, "event not recorded");
    });
  }

  private allow(object: string, what: string): boolean {
    const now = Date.now();
    let b = this.buckets.get(object);
    if (!b) {
      b = { tokens: this.burst, last: now, recent: new Map() };
      this.buckets.set(object, b);
      if (this.buckets.size > 10_000) dropOldest(this.buckets);
    }
    const seen = b.recent.get(what);
    if (seen !== undefined && now - seen < 60_000) return false;
    b.tokens = Math.min(this.burst, b.tokens + (now - b.last) / this.refillMs);
    b.last = now;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    b.recent.set(what, now);
    if (b.recent.size > 50) dropOldest(b.recent);
    return true;
  }
}

/** Maps and sets iterate in insertion order, so the first key is the oldest. */
function dropOldest<K>(c: { keys(): IterableIterator<K>; delete(k: K): boolean }): void {
  const first = c.keys().next();
  if (!first.done) c.delete(first.value);
}
