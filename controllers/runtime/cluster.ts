// Clusters other than the manager's own, as controller-runtime's cluster.Cluster and
// kubernetes-sigs/multicluster-runtime have them: a Cluster is one remote API server with its own
// client, shared informers, controllers (workqueues, workers) and leader-free runnables, reporting
// into the manager's metrics with a `cluster` label. A ClusterSet holds them by name as they come
// and go: stopping a cluster stops its controllers, runnables and informers and removes its
// metric series. Nothing here knows what the clusters are for.
import type { KubeConfig } from "@kubernetes/client-node";
import { InformerCache } from "./cache.ts";
import { KubeClient, type KubeObject } from "./client.ts";
import {
  type Controller,
  ControllerBuilder,
  type ControllerHost,
  type Request,
  type WatchSource,
} from "./controller.ts";
import type { Informer, InformerOptions } from "./informer.ts";
import type { Logger } from "./log.ts";
import type { Runnable } from "./manager.ts";
import type { ControllerMetrics, Metrics } from "./metrics.ts";
import type { ResourceType } from "./resource.ts";

export interface ClusterOptions {
  qps?: number;
  burst?: number;
  resyncMs?: number;
  watchdogMs?: number;
  /** How long stop() waits for reconciles in flight. */
  gracefulShutdownMs?: number;
  userAgent?: string;
}

export class Cluster implements ControllerHost {
  readonly client: KubeClient;
  readonly metrics: ControllerMetrics;
  readonly log: Logger;
  private readonly cache: InformerCache;
  private readonly controllers: Controller[] = [];
  private readonly runnables: Runnable[] = [];
  private state: "new" | "started" | "running" | "stopped" = "new";
  private stopping: Promise<void> | undefined;

  constructor(
    readonly name: string,
    kubeConfig: KubeConfig,
    private readonly parentMetrics: Metrics,
    log: Logger,
    private readonly opts: ClusterOptions = {},
  ) {
    this.metrics = parentMetrics.forCluster(name);
    this.log = log.child({ cluster: name });
    this.client = new KubeClient(kubeConfig, {
      qps: opts.qps,
      burst: opts.burst,
      userAgent: opts.userAgent ?? "pacific/cluster",
      onRequest: (code, method, host) => this.metrics.restRequest(code, method, host),
    });
    this.cache = new InformerCache(this.client, this.log, {
      resyncMs: opts.resyncMs,
      watchdogMs: opts.watchdogMs,
    });
  }

  get running(): boolean {
    return this.state === "running";
  }

  informer<T extends KubeObject>(resource: ResourceType<T>, o: InformerOptions = {}): Informer<T> {
    return this.cache.informer(resource, o);
  }

  watch(s: WatchSource, enqueue: (req: Request) => void): void {
    this.cache.watch(s, enqueue);
  }

  controller(name: string): ControllerBuilder {
    return new ControllerBuilder(this, name);
  }

  add(c: Controller): void {
    this.controllers.push(c);
    c.setUp();
    if (this.state === "running") c.start();
  }

  addRunnable(r: Runnable): void {
    this.runnables.push(r);
    if (this.state === "running") r.start();
  }

  /** Why the cluster's caches are not ready, or undefined. */
  notReadyReason(): string | undefined {
    return this.state === "stopped" ? "stopped" : this.cache.notReadyReason();
  }

  /** Starts the informers; controllers and runnables once they have synced. */
  start(): void {
    if (this.state !== "new") return;
    this.state = "started";
    this.cache.start();
    void this.cache.waitForSync().then(() => {
      if (this.state !== "started") return;
      this.state = "running";
      for (const c of this.controllers) c.start();
      for (const r of this.runnables) r.start();
    });
  }

  /** Stops controllers (draining reconciles in flight), runnables and informers; removes its series. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      const wasRunning = this.state === "running";
      this.state = "stopped";
      const grace = this.opts.gracefulShutdownMs ?? 10_000;
      if (wasRunning) await Promise.all(this.controllers.map((c) => c.stop(grace)));
      else for (const c of this.controllers) void c.stop(0);
      if (wasRunning) await Promise.all(this.runnables.map((r) => r.stop()));
      this.cache.stop();
      await this.parentMetrics.removeCluster(this.name);
    })();
    return this.stopping;
  }
}

/** Clusters by name. `setup` wires a new Cluster's informers, controllers and runnables. */
export class ClusterSet {
  private readonly clusters = new Map<string, { cluster: Cluster; fingerprint: string }>();

  constructor(
    private readonly metrics: Metrics,
    private readonly log: Logger,
    private readonly setup: (c: Cluster) => void,
    private readonly opts: ClusterOptions = {},
  ) {}

  get(name: string): Cluster | undefined {
    return this.clusters.get(name)?.cluster;
  }

  names(): string[] {
    return [...this.clusters.keys()];
  }

  /**
   * The running cluster `name`, made and started if new. A different `fingerprint` (new
   * credentials, a new server) replaces it: the old one is stopped first.
   */
  async engage(name: string, kubeConfig: KubeConfig, fingerprint = ""): Promise<Cluster> {
    const cur = this.clusters.get(name);
    if (cur && cur.fingerprint === fingerprint) return cur.cluster;
    if (cur) await this.disengage(name);
    const cluster = new Cluster(name, kubeConfig, this.metrics, this.log, this.opts);
    this.setup(cluster);
    this.clusters.set(name, { cluster, fingerprint });
    cluster.start();
    this.log.info({ cluster: name }, "cluster engaged");
    return cluster;
  }

  /** Stops and forgets `name` (nothing when unknown). */
  async disengage(name: string): Promise<void> {
    const cur = this.clusters.get(name);
    if (!cur) return;
    this.clusters.delete(name);
    await cur.cluster.stop();
    this.log.info({ cluster: name }, "cluster disengaged");
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.names().map((n) => this.disengage(n)));
  }
}
