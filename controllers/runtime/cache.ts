// The shared informers of one API server, keyed by resource and selectors (one list+watch however
// many controllers use it), and the routing of their events to controllers' queues. The manager
// has one for its own cluster, each runtime Cluster (cluster.ts) one for its remote API server.
import type { KubeClient, KubeObject } from "./client.ts";
import type { Request, WatchSource } from "./controller.ts";
import { Informer, type InformerOptions } from "./informer.ts";
import type { Logger } from "./log.ts";
import type { ResourceType } from "./resource.ts";

export class InformerCache {
  private readonly informers = new Map<string, Informer<KubeObject>>();
  private started = false;

  constructor(
    private readonly client: KubeClient,
    private readonly log: Logger,
    private readonly defaults: Pick<InformerOptions, "resyncMs" | "watchdogMs"> = {},
  ) {}

  informer<T extends KubeObject>(resource: ResourceType<T>, o: InformerOptions = {}): Informer<T> {
    const key = [
      resource.group,
      resource.version,
      resource.plural,
      o.namespace,
      o.labelSelector,
      o.fieldSelector,
    ].join("|");
    let inf = this.informers.get(key);
    if (!inf) {
      inf = new Informer<KubeObject>(resource, this.client, this.log, { ...this.defaults, ...o });
      this.informers.set(key, inf);
      if (this.started) inf.start();
    }
    return inf as unknown as Informer<T>;
  }

  /** Routes a source's events to a controller's queue. */
  watch(s: WatchSource, enqueue: (req: Request) => void): void {
    const inf = this.informer(s.resource, s.informer);
    const send = (o: KubeObject) => {
      for (const r of s.map(o)) enqueue(r);
    };
    inf.addHandler({
      add: send,
      update: (o, n) => {
        if (o === n || s.predicate(o, n)) {
          send(n);
          if (o !== n) send(o); // a child that changed owner tells the old owner too
        }
      },
      delete: send,
    });
  }

  /** Why the cache is not ready (an informer denied or not synced), or undefined. */
  notReadyReason(): string | undefined {
    for (const inf of this.informers.values()) {
      if (inf.authError) return `${inf.resource.plural}: ${inf.lastError?.message}`;
      if (!inf.hasSynced) return `informer for ${inf.resource.plural} has not synced`;
    }
    return undefined;
  }

  async waitForSync(): Promise<void> {
    await Promise.all([...this.informers.values()].map((i) => i.waitForSync()));
  }

  start(): void {
    this.started = true;
    for (const inf of this.informers.values()) inf.start();
  }

  stop(): void {
    this.started = false;
    for (const inf of this.informers.values()) inf.stop();
  }
}
