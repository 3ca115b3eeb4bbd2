// Prometheus metrics with controller-runtime's names and labels, so its dashboards and alerts work
// unchanged (sigs.k8s.io/controller-runtime/pkg/internal/controller/metrics, pkg/metrics/workqueue.go,
// client-go's rest_client_requests_total, leader_election_master_status), plus process metrics.
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

const CONTROLLER = ["controller"] as const;
const QUEUE = ["name", "controller"] as const;

export class Metrics {
  readonly registry = new Registry();
  private readonly queues = new Map<string, WorkQueue>();

  readonly reconcileTotal = this.counter(
    "controller_runtime_reconcile_total",
    "Total number of reconciliations per controller",
    ["controller", "result"],
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
    ["code", "method", "host"],
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
  registerController(controller: string, maxConcurrent: number, queue: WorkQueue): void {
    for (const result of RECONCILE_RESULTS) this.reconcileTotal.inc({ controller, result }, 0);
    this.reconcileErrors.inc({ controller }, 0);
    this.terminalReconcileErrors.inc({ controller }, 0);
    this.maxConcurrentReconciles.set({ controller }, maxConcurrent);
    this.activeWorkers.set({ controller }, 0);
    const labels = { name: controller, controller };
    this.workqueueDepth.set(labels, 0);
    this.workqueueAdds.inc(labels, 0);
    this.workqueueRetries.inc(labels, 0);
    this.queues.set(controller, queue);
  }

  /** The workqueue_* observer for one controller's queue. */
  queueMetrics(controller: string): QueueMetrics {
    const labels = { name: controller, controller };
    return {
      add: () => this.workqueueAdds.inc(labels),
      retry: () => this.workqueueRetries.inc(labels),
      depth: (n) => this.workqueueDepth.set(labels, n),
      queued: (s) => this.workqueueQueueDuration.observe(labels, s),
      worked: (s) => this.workqueueWorkDuration.observe(labels, s),
    };
  }

  observeReconcile(controller: string, result: ReconcileResult, seconds: number): void {
    this.reconcileTotal.inc({ controller, result });
    this.reconcileTime.observe({ controller }, seconds);
  }

  private collectUnfinished(): void {
    for (const [controller, q] of this.queues) {
      const { totalSeconds, longestSeconds } = q.unfinishedWork();
      this.workqueueUnfinishedWork.set({ name: controller, controller }, totalSeconds);
      this.workqueueLongestRunning.set({ name: controller, controller }, longestSeconds);
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
