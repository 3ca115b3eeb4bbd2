// A controller: watches its primary kind, the kinds it owns (mapped to the owner through the
// controller ownerReference) and any mapped kinds, queues keys, and runs the reconciler on them
// with bounded concurrency. p-queue is the worker pool; the WorkQueue is the queue.
import PQueue from "p-queue";
import type { KubeObject } from "./client.ts";
import { apiStatus, isConflict } from "./errors.ts";
import type { InformerOptions } from "./informer.ts";
import type { Logger } from "./log.ts";
import type { ControllerMetrics, ReconcileResult } from "./metrics.ts";
import { deepEqual } from "./patch.ts";
import { keyOf, type ResourceType, splitKey } from "./resource.ts";
import { WorkQueue } from "./workqueue.ts";

export interface Request {
  namespace?: string;
  name: string;
}

export interface Result {
  /** Reconcile again after this many milliseconds (resets the failure backoff). */
  requeueAfter?: number;
  /** Reconcile again with rate-limited backoff. */
  requeue?: boolean;
}

/** An error retrying cannot fix: counted, logged, not requeued. */
export class TerminalError extends Error {
  override name = "TerminalError";
}

export interface Reconciler {
  reconcile(req: Request, log: Logger): Promise<Result | undefined>;
}

/** Decides whether an update is worth a reconcile. Resyncs (old === new) always pass. */
export type Predicate = (oldObj: KubeObject, newObj: KubeObject) => boolean;

/**
 * Generation (spec), labels, annotations, finalizers, ownerReferences or deletion changed: the
 * default, so a controller's own status writes do not wake it again.
 */
export const specOrMetadataChanged: Predicate = (o, n) => {
  const a = o.metadata ?? {};
  const b = n.metadata ?? {};
  return (
    a.generation !== b.generation ||
    a.deletionTimestamp !== b.deletionTimestamp ||
    !deepEqual(a.labels, b.labels) ||
    !deepEqual(a.annotations, b.annotations) ||
    !deepEqual(a.finalizers, b.finalizers) ||
    !deepEqual(a.ownerReferences, b.ownerReferences)
  );
};

/** Every update (status included). */
export const anyChange: Predicate = (o, n) => o.metadata?.resourceVersion !== n.metadata?.resourceVersion;

/**
 * specOrMetadataChanged, or a change in what `read` picks out of the object (the status fields the
 * watcher's reconciler reads): a child's other status moves do not wake its owner, whose queue
 * then holds the work that can change something.
 */
export const changedIn =
  (read: (o: KubeObject) => unknown): Predicate =>
  (o, n) =>
    specOrMetadataChanged(o, n) || !deepEqual(read(o), read(n));

export type MapFunc = (obj: KubeObject) => Request[];

export interface WatchSource {
  resource: ResourceType;
  map: MapFunc;
  predicate: Predicate;
  informer?: InformerOptions;
  /**
   * Enqueue this source's events after `delayMs` (the earliest pending deadline wins): a burst of
   * child changes folds into one reconcile and one status write, and the cache has caught up with
   * the previous write by then.
   */
  delayMs?: number;
}

/** What a controller needs from its manager: shared informers, metrics and a logger. */
export interface ControllerHost {
  readonly metrics: ControllerMetrics;
  readonly log: Logger;
  watch(source: WatchSource, enqueue: (req: Request) => void): void;
}

export interface ControllerOptions {
  maxConcurrentReconciles?: number;
}

export class Controller {
  readonly queue: WorkQueue;
  private readonly pool: PQueue;
  private running = false;
  private pump: Promise<void> | undefined;
  private readonly log: Logger;

  constructor(
    readonly name: string,
    private readonly host: ControllerHost,
    private readonly sources: WatchSource[],
    private readonly reconciler: Reconciler,
    opts: ControllerOptions = {},
  ) {
    const concurrency = opts.maxConcurrentReconciles ?? 4;
    this.queue = new WorkQueue({ metrics: host.metrics.queueMetrics(name) });
    this.pool = new PQueue({ concurrency });
    this.log = host.log.child({ controller: name });
    host.metrics.registerController(name, concurrency, this.queue);
  }

  /** Registers the event handlers (before the informers start, so no event is missed). */
  setUp(): void {
    for (const s of this.sources) this.host.watch(s, (req) => this.enqueue(req, s.delayMs));
  }

  enqueue(req: Request, delayMs = 0): void {
    const key = req.namespace ? `${req.namespace}/${req.name}` : req.name;
    if (delayMs > 0) this.queue.addAfter(key, delayMs);
    else this.queue.add(key);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.log.info({ workers: this.pool.concurrency }, "starting workers");
    this.pump = this.run();
  }

  /** Stops taking work and waits (up to `graceMs`) for reconciles in flight. */
  async stop(graceMs: number): Promise<boolean> {
    this.running = false;
    this.queue.shutDown();
    await this.pump;
    return this.queue.drain(graceMs);
  }

  private async run(): Promise<void> {
    for (;;) {
      // Hold at most one key waiting for a worker: the others wait in the WorkQueue, where they
      // de-duplicate. (A held key is already "processing", so a new add of it runs after done.)
      await this.pool.onSizeLessThan(1);
      const key = await this.queue.get();
      if (key === undefined) return;
      void this.pool.add(() => this.process(key));
    }
  }

  private async process(key: string): Promise<void> {
    const metrics = this.host.metrics;
    metrics.activeWorker(this.name, 1);
    const started = performance.now();
    const req = splitKey(key);
    const log = this.log.child(
      req.namespace ? { namespace: req.namespace, name: req.name } : { name: req.name },
    );
    let result: ReconcileResult = "success";
    try {
      const res = await this.reconciler.reconcile(req, log);
      if (res?.requeueAfter !== undefined && res.requeueAfter > 0) {
        this.queue.forget(key);
        this.queue.addAfter(key, res.requeueAfter);
        result = "requeue_after";
      } else if (res?.requeue) {
        this.queue.addRateLimited(key);
        result = "requeue";
      } else {
        this.queue.forget(key);
      }
    } catch (e) {
      result = "error";
      metrics.reconcileError(this.name, e instanceof TerminalError);
      const s = apiStatus(e);
      if (e instanceof TerminalError) {
        this.queue.forget(key);
        log.error({ err: s.message }, "reconcile failed for good (terminal error)");
      } else {
        this.queue.addRateLimited(key);
        const fields = {
          err: s.message,
          code: s.code,
          reason: s.reason,
          retries: this.queue.numRequeues(key),
        };
        // Conflicts are the normal price of optimistic concurrency: retried, not alarming.
        if (isConflict(e)) log.debug(fields, "conflict; retrying");
        else log.error(fields, "reconcile failed; retrying with backoff");
      }
    } finally {
      metrics.observeReconcile(this.name, result, (performance.now() - started) / 1000);
      metrics.activeWorker(this.name, -1);
      this.queue.done(key);
    }
  }
}

/** The group of an apiVersion: "apps/v1" → "apps", "v1" → "". */
function groupOf(apiVersion: string): string {
  const i = apiVersion.indexOf("/");
  return i < 0 ? "" : apiVersion.slice(0, i);
}

/** Builds a controller the way controller-runtime's builder does: For, Owns, Watches, Complete. */
export class ControllerBuilder {
  private primary: ResourceType | undefined;
  private readonly sources: WatchSource[] = [];
  private opts: ControllerOptions = {};

  constructor(
    private readonly host: ControllerHost & { add(c: Controller): void },
    private readonly name: string,
  ) {}

  for(resource: ResourceType, o: { predicate?: Predicate; informer?: InformerOptions } = {}): this {
    this.primary = resource;
    this.sources.push({
      resource,
      map: (obj) => [splitKey(keyOf(obj.metadata))],
      predicate: o.predicate ?? specOrMetadataChanged,
      informer: o.informer,
    });
    return this;
  }

  /** Children whose controller ownerReference points at the primary kind. */
  owns(
    resource: ResourceType,
    o: { predicate?: Predicate; informer?: InformerOptions; delayMs?: number } = {},
  ): this {
    const primary = this.primary;
    if (!primary) throw new Error(`${this.name}: call for() before owns()`);
    this.sources.push({
      resource,
      map: (obj) => {
        const ref = obj.metadata?.ownerReferences?.find((r) => r.controller);
        if (!ref || ref.kind !== primary.kind || groupOf(ref.apiVersion) !== primary.group) return [];
        return [
          primary.namespaced ? { namespace: obj.metadata?.namespace, name: ref.name } : { name: ref.name },
        ];
      },
      predicate: o.predicate ?? specOrMetadataChanged,
      informer: o.informer,
      delayMs: o.delayMs,
    });
    return this;
  }

  watches(
    resource: ResourceType,
    map: MapFunc,
    o: { predicate?: Predicate; informer?: InformerOptions; delayMs?: number } = {},
  ): this {
    this.sources.push({
      resource,
      map,
      predicate: o.predicate ?? specOrMetadataChanged,
      informer: o.informer,
      delayMs: o.delayMs,
    });
    return this;
  }

  withOptions(o: ControllerOptions): this {
    this.opts = { ...this.opts, ...o };
    return this;
  }

  complete(reconciler: Reconciler): Controller {
    if (!this.primary) throw new Error(`${this.name}: for() is required`);
    const c = new Controller(this.name, this.host, this.sources, reconciler, this.opts);
    this.host.add(c);
    return c;
  }
}
