// Prometheus metrics with controller-runtime's names and labels, so its dashboards and alerts work
// unchanged (sigs.k8s.io/controller-runtime/pkg/internal/controller/metrics, pkg/metrics/workqueue.go,
// client-go's rest_client_requests_total, leader_election_master_status), plus process metrics.
// Controllers that run against another cluster (runtime/cluster.ts) report into the same series
// with a `cluster` label (absent for the manager's own cluster), and their series go when the
// cluster does (removeCluster).
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { QueueMetrics, WorkQueue } from "./workqueue.ts";

const reconcileBuckets = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.25,
  1.5, 1.75, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5, 6, 7, 8, 9, 10, 15, 20, 25, 30, 40, 50, 60,
];
// workqueue: prometheus.ExponentialBuckets(10e-9, 10, 12)
const queueBuckets = Array.from({ length: 12 }, (_, i) => 1e-8 * 10 ** i);

export const RECONCILE_RESULTS = ["success", "error", "requeue", "requeue_after"] as const;
export type ReconcileResult = (typeof RECONCILE_RESULTS)[number];

const CONTROLLER = ["cluster", "controller"] as const;
const QUEUE = ["cluster", "name", "controller"] as const;

/** The extra labels of a scope: `{}` for the manager's own cluster, `{ cluster }` for another. */
export type ScopeLabels = { cluster?: string };

/** What a controller reports (controller.ts); Metrics for the manager's cluster, forCluster for others. */
export interface ControllerMetrics {
  registerController(controller: string, maxConcurrent: number, queue: WorkQueue): void;
  queueMetrics(controller: string): QueueMetrics;
  observeReconcile(controller: string, result: ReconcileResult, seconds: number): void;
  reconcileError(controller: string, terminal: boolean): void;
  activeWorker(controller: string, delta: 1 | -1): void;
  restRequest(code: string, method: string, host: string): void;
}

export class Metrics implements ControllerMetrics {
  readonly registry = new Registry();
  /** Queues by their labels' JSON ({cluster?, name, controller}). */
  private readonly queues = new Map<string, { labels: Record<string, string>; queue: WorkQueue }>();

  readonly reconcileTotal = this.counter(
    "controller_runtime_reconcile_total",
    "Total number of reconciliations per controller",
    ["cluster", "controller", "result"],
  );
  readonly reconcileErrors = this.counter(
    "controller_runtime_reconcile_errors_total",
    "Total number of reconciliation errors per controller",
    CONTROLLER,
  );
  readonly terminalReconcileErrors = this.counter(
    "controller_runtime_terminal_reconcile_errors_total",
    "Total number of terminal reconciliation errors per controller",
    CONTROLLER,
  );
  readonly reconcileTime = this.histogram(
    "controller_runtime_reconcile_time_seconds",
    "Length of time per reconciliation per controller",
    CONTROLLER,
    reconcileBuckets,
  );
  readonly maxConcurrentReconciles = this.gauge(
    "controller_runtime_max_concurrent_reconciles",
    "Maximum number of concurrent reconciles per controller",
    CONTROLLER,
  );
  readonly activeWorkers = this.gauge(
    "controller_runtime_active_workers",
    "Number of currently used workers per controller",
    CONTROLLER,
  );
  readonly workqueueDepth = this.gauge("workqueue_depth", "Current depth of workqueue", QUEUE);
  readonly workqueueAdds = this.counter(
    "workqueue_adds_total",
    "Total number of adds handled by workqueue",
    QUEUE,
  );
  readonly workqueueRetries = this.counter(
    "workqueue_retries_total",
    "Total number of retries handled by workqueue",
    QUEUE,
  );
  readonly workqueueQueueDuration = this.histogram(
    "workqueue_queue_duration_seconds",
    "How long in seconds an item stays in workqueue before being requested",
    QUEUE,
    queueBuckets,
  );
  readonly workqueueWorkDuration = this.histogram(
    "workqueue_work_duration_seconds",
    "How long in seconds processing an item from workqueue takes",
    QUEUE,
    queueBuckets,
  );
  readonly workqueueUnfinishedWork = this.gauge(
    "workqueue_unfinished_work_seconds",
    "How many seconds of work has been done that is in progress and hasn't been observed by work_duration",
    QUEUE,
    () => this.collectUnfinished(),
  );
  readonly workqueueLongestRunning = this.gauge(
    "workqueue_longest_running_processor_seconds",
    "How many seconds has the longest running processor for workqueue been running",
    QUEUE,
  );
  readonly restClientRequests = this.counter(
    "rest_client_requests_total",
    "Number of HTTP requests, partitioned by status code, method, and host",
    ["cluster", "code", "method", "host"],
  );
  readonly leaderElectionMasterStatus = this.gauge(
    "leader_election_master_status",
    "Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master",
    ["name"],
  );

  constructor(processMetrics = true) {
    if (processMetrics) collectDefaultMetrics({ register: this.registry });
  }

  /** Pre-initialises a controller's series with 0, as controller-runtime does. */
  registerController(
    controller: string,
    maxConcurrent: number,
    queue: WorkQueue,
    scope: ScopeLabels = {},
  ): void {
    const c = { ...scope, controller };
    for (const result of RECONCILE_RESULTS) this.reconcileTotal.inc({ ...c, result }, 0);
    this.reconcileErrors.inc(c, 0);
    this.terminalReconcileErrors.inc(c, 0);
    this.maxConcurrentReconciles.set(c, maxConcurrent);
    this.activeWorkers.set(c, 0);
    const labels = { ...scope, name: controller, controller };
    this.workqueueDepth.set(labels, 0);
    this.workqueueAdds.inc(labels, 0);
    this.workqueueRetries.inc(labels, 0);
    this.queues.set(JSON.stringify(labels), { labels, queue });
  }

  /** The workqueue_* observer for one controller's queue. */
  queueMetrics(controller: string, scope: ScopeLabels = {}): QueueMetrics {
    const labels = { ...scope, name: controller, controller };
    return {
      add: () => this.workqueueAdds.inc(labels),
      retry: () => this.workqueueRetries.inc(labels),
      depth: (n) => this.workqueueDepth.set(labels, n),
      queued: (s) => this.workqueueQueueDuration.observe(labels, s),
      worked: (s) => this.workqueueWorkDuration.observe(labels, s),
    };
  }

  observeReconcile(
    controller: string,
    result: ReconcileResult,
    seconds: number,
    scope: ScopeLabels = {},
  ): void {
    this.reconcileTotal.inc({ ...scope, controller, result });
    this.reconcileTime.observe({ ...scope, controller }, seconds);
  }

  reconcileError(controller: string, terminal: boolean, scope: ScopeLabels = {}): void {
    this.reconcileErrors.inc({ ...scope, controller });
    if (terminal) this.terminalReconcileErrors.inc({ ...scope, controller });
  }

  activeWorker(controller: string, delta: 1 | -1, scope: ScopeLabels = {}): void {
    this.activeWorkers.inc({ ...scope, controller }, delta);
  }

  restRequest(code: string, method: string, host: string, scope: ScopeLabels = {}): void {
    this.restClientRequests.inc({ ...scope, code, method, host });
  }

  /** The same metrics, every series labelled cluster=`cluster`. */
  forCluster(cluster: string): ControllerMetrics {
    const scope = { cluster };
    return {
      registerController: (c, max, q) => this.registerController(c, max, q, scope),
      queueMetrics: (c) => this.queueMetrics(c, scope),
      observeReconcile: (c, r, s) => this.observeReconcile(c, r, s, scope),
      reconcileError: (c, t) => this.reconcileError(c, t, scope),
      activeWorker: (c, d) => this.activeWorker(c, d, scope),
      restRequest: (code, method, host) => this.restRequest(code, method, host, scope),
    };
  }

  /** Removes every series labelled cluster=`cluster` (the cluster has gone: no stale series stay). */
  async removeCluster(cluster: string): Promise<void> {
    for (const [k, q] of this.queues) if (q.labels.cluster === cluster) this.queues.delete(k);
    for (const m of this.registry.getMetricsAsArray()) {
      const metric = m as unknown as {
        get(): Promise<{ values: Array<{ labels: Record<string, string | number> }> }>;
        remove(labels: Record<string, string | number>): void;
      };
      const seen = new Set<string>();
      for (const v of (await metric.get()).values) {
        if (v.labels.cluster !== cluster) continue;
        const { le: _le, quantile: _q, ...labels } = v.labels;
        const key = JSON.stringify(labels);
        if (seen.has(key)) continue;
        seen.add(key);
        metric.remove(labels);
      }
    }
  }

  private collectUnfinished(): void {
    for (const { labels, queue } of this.queues.values()) {
      const { totalSeconds, longestSeconds } = queue.unfinishedWork();
      this.workqueueUnfinishedWork.set(labels, totalSeconds);
      this.workqueueLongestRunning.set(labels, longestSeconds);
    }
  }

  private counter<L extends string>(name: string, help: string, labelNames: readonly L[]): Counter<L> {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }

  private gauge<L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    collect?: () => void,
  ): Gauge<L> {
    return new Gauge({ name, help, labelNames, registers: [this.registry], ...(collect ? { collect } : {}) });
  }

  private histogram<L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    buckets: number[],
  ): Histogram<L> {
    return new Histogram({ name, help, labelNames, buckets, registers: [this.registry] });
  }
}
