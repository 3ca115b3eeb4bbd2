// The manager: shared informers, controllers, leader election, and one HTTP port serving
// /healthz, /readyz and /metrics. Informers start at once on every replica (so a standby is warm
// and ready); controllers run only on the leader. SIGTERM stops taking work, drains reconciles in
// flight (≤ 30 s), releases the lease and exits 0.
import http from "node:http";
import https from "node:https";
import os from "node:os";
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
import { EventRecorder } from "./events.ts";
import type { Informer, InformerOptions } from "./informer.ts";
import { LeaderElector } from "./leaderelection.ts";
import { type Logger, newLogger } from "./log.ts";
import { Metrics } from "./metrics.ts";
import { MetricsAuthorizer } from "./metricsauth.ts";
import type { ResourceType } from "./resource.ts";

export interface ManagerOptions {
  kubeConfig: KubeConfig;
  /** Names the lease, the event source and the logger. */
  name?: string;
  /** Namespace of the leader-election Lease. */
  namespace?: string;
  leaderElection?: boolean;
  leaseName?: string;
  identity?: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  /** host:port for /healthz, /readyz and /metrics; port 0 picks a free one. */
  bindAddress?: string;
  /**
   * Serve HTTPS with this certificate, and /metrics only to bearer tokens allowed `get` on it
   * (TokenReview + SubjectAccessReview). Unset: plain HTTP for everyone (a local manager on loopback).
   */
  secureServing?: { cert: string | Buffer; key: string | Buffer };
  qps?: number;
  burst?: number;
  resyncMs?: number;
  watchdogMs?: number;
  gracefulShutdownMs?: number;
  logger?: Logger;
  /** Called when the leader lease is lost; defaults to exiting the process (restart clean). */
  onLeaseLost?: () => void;
}

/**
 * A handler mounted on the manager's HTTP port under a path prefix (the web UI under /ui/). It runs
 * on every replica, leader or not, and answers the request itself.
 */
export type HttpHandler = (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void> | void;

/** Work other than a controller that runs only on the leader (the Spherelet's heartbeats, say). */
export interface Runnable {
  start(): void;
  stop(): Promise<void> | void;
}

export class Manager implements ControllerHost {
  readonly client: KubeClient;
  readonly metrics = new Metrics();
  readonly log: Logger;
  readonly events: EventRecorder;
  readonly identity: string;
  private readonly cache: InformerCache;
  private readonly controllers: Controller[] = [];
  private readonly runnables: Runnable[] = [];
  private readonly readyChecks = new Map<string, () => string | undefined>();
  private readonly mounts: Array<{ prefix: string; handler: HttpHandler }> = [];
  private elector: LeaderElector | undefined;
  private server: http.Server | https.Server | undefined;
  private metricsAuth: MetricsAuthorizer | undefined;
  private started = false;
  private leading = false;
  private stopping: Promise<void> | undefined;

  constructor(readonly opts: ManagerOptions) {
    this.log = opts.logger ?? newLogger(opts.name ?? "pacific");
    this.identity =
      opts.identity ?? `${os.hostname()}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
    this.client = new KubeClient(opts.kubeConfig, {
      qps: opts.qps,
      burst: opts.burst,
      userAgent: `pacific/${opts.name ?? "manager"}`,
      onRequest: (code, method, host) => this.metrics.restRequest(code, method, host),
    });
    this.cache = new InformerCache(this.client, this.log, {
      resyncMs: opts.resyncMs,
      watchdogMs: opts.watchdogMs,
    });
    this.events = new EventRecorder(
      this.client,
      `pacific.dev/${opts.name ?? "pacific"}`,
      this.identity,
      this.log,
    );
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** The shared informer for a resource and selector set (one list+watch however many use it). */
  informer<T extends KubeObject>(resource: ResourceType<T>, o: InformerOptions = {}): Informer<T> {
    return this.cache.informer(resource, o);
  }

  controller(name: string): ControllerBuilder {
    return new ControllerBuilder(this, name);
  }

  add(c: Controller): void {
    this.controllers.push(c);
    c.setUp();
    if (this.running) c.start();
  }

  /** Adds leader-only work, started with the controllers once the caches have synced. */
  addRunnable(r: Runnable): void {
    this.runnables.push(r);
    if (this.running) r.start();
  }

  private running = false;

  private startWork(): void {
    if (this.running || !this.leading) return;
    this.running = true;
    for (const c of this.controllers) c.start();
    for (const r of this.runnables) r.start();
  }

  /** ControllerHost: route a source's events to a controller's queue. */
  watch(s: WatchSource, enqueue: (req: Request) => void): void {
    this.cache.watch(s, enqueue);
  }

  /** Serves `prefix` (e.g. "/ui/") with `handler`; a request for the prefix without its slash redirects. */
  mount(prefix: string, handler: HttpHandler): void {
    if (!prefix.startsWith("/") || !prefix.endsWith("/")) throw new Error(`mount ${prefix}: want "/name/"`);
    this.mounts.push({ prefix, handler });
  }

  /** Adds a readiness check: it returns undefined when ready, or the reason it is not. */
  addReadyCheck(name: string, check: () => string | undefined): void {
    this.readyChecks.set(name, check);
  }

  /** Why the manager is not ready, or undefined. */
  notReadyReason(): string | undefined {
    const cacheWhy = this.cache.notReadyReason();
    if (cacheWhy) return cacheWhy;
    for (const [name, check] of this.readyChecks) {
      const why = check();
      if (why) return `${name}: ${why}`;
    }
    return undefined;
  }

  async waitForCacheSync(): Promise<void> {
    await this.cache.waitForSync();
  }

  /** The address /metrics, /healthz and /readyz are served on (after start). */
  get address(): { host: string; port: number } | undefined {
    const a = this.server?.address();
    return a && typeof a === "object" ? { host: a.address, port: a.port } : undefined;
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.serve();
    this.cache.start();
    if (!this.opts.leaderElection) {
      this.leading = true;
      // Controllers start once the caches have synced; start() itself does not wait for that
      // (a CRD installed after the manager must not block it).
      void this.waitForCacheSync().then(() => this.startWork());
      return;
    }
    const name = this.opts.leaseName ?? `${this.opts.name ?? "pacific"}-leader`;
    this.metrics.leaderElectionMasterStatus.set({ name }, 0);
    this.elector = new LeaderElector(
      this.client,
      {
        namespace: this.opts.namespace ?? "pacific-system",
        name,
        identity: this.identity,
        leaseDurationMs: this.opts.leaseDurationMs,
        renewDeadlineMs: this.opts.renewDeadlineMs,
        retryPeriodMs: this.opts.retryPeriodMs,
      },
      this.log,
      (leading) => this.metrics.leaderElectionMasterStatus.set({ name }, leading ? 1 : 0),
    );
    void this.elector.run(
      () => {
        this.leading = true;
        void this.waitForCacheSync().then(() => this.startWork());
      },
      () => {
        this.leading = false;
        (this.opts.onLeaseLost ?? (() => process.exit(1)))();
      },
    );
  }

  /** Graceful stop: no new work, drain reconciles in flight, release the lease, stop watching. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      const grace = this.opts.gracefulShutdownMs ?? 30_000;
      this.log.info({ graceMs: grace }, "shutting down");
      const drained = await Promise.all(this.controllers.map((c) => c.stop(grace)));
      if (drained.includes(false)) this.log.warn("some reconciles did not finish within the grace period");
      await Promise.all(this.runnables.map((r) => r.stop()));
      await this.elector?.stop();
      this.leading = false;
      this.cache.stop();
      // Close every connection at once: a long-lived response (the UI's event stream) would otherwise
      // hold close() open for good.
      const closed = new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
      this.server?.closeAllConnections();
      await closed;
    })();
    return this.stopping;
  }

  /** SIGTERM/SIGINT: graceful stop, then exit 0; a second signal exits at once. */
  installSignalHandlers(): void {
    let signalled = false;
    const onSignal = (sig: string) => {
      if (signalled) process.exit(1);
      signalled = true;
      this.log.info({ signal: sig }, "signal received");
      void this.stop().then(() => process.exit(0));
    };
    process.on("SIGTERM", () => onSignal("SIGTERM"));
    process.on("SIGINT", () => onSignal("SIGINT"));
  }

  private serve(): Promise<void> {
    const [host, port] = splitHostPort(this.opts.bindAddress ?? "0.0.0.0:8080");
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) => void this.handle(req, res);
    const tls = this.opts.secureServing;
    this.metricsAuth = tls ? new MetricsAuthorizer(this.client) : undefined;
    const server = tls
      ? https.createServer({ cert: tls.cert, key: tls.key }, handler)
      : http.createServer(handler);
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => {
        this.log.info({ address: this.address }, "serving /healthz, /readyz and /metrics");
        resolve();
      });
    });
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    if (path === "/healthz" || path === "/livez") {
      res.writeHead(200, { "Content-Type": "text/plain" }).end("ok");
    } else if (path === "/readyz") {
      const why = this.notReadyReason();
      res.writeHead(why ? 503 : 200, { "Content-Type": "text/plain" }).end(why ? `not ready: ${why}` : "ok");
    } else if (path === "/metrics") {
      if (this.metricsAuth) {
        const v = await this.metricsAuth
          .authorize(req.headers.authorization)
          .catch((e: unknown) => ({ code: 500 as const, message: `cannot review the token: ${String(e)}` }));
        if (v.code !== 200) {
          res.writeHead(v.code, { "Content-Type": "text/plain" }).end(v.message);
          return;
        }
      }
      const body = await this.metrics.registry.metrics();
      res.writeHead(200, { "Content-Type": this.metrics.registry.contentType }).end(body);
    } else {
      const mount = this.mounts.find((m) => path.startsWith(m.prefix) || path === m.prefix.slice(0, -1));
      if (!mount) {
        res.writeHead(404).end("not found");
      } else if (path === mount.prefix.slice(0, -1)) {
        res.writeHead(308, { Location: mount.prefix }).end();
      } else {
        try {
          await mount.handler(req, res);
        } catch (e) {
          this.log.error({ err: String(e), path }, "HTTP handler failed");
          if (!res.headersSent) res.writeHead(500, { "Content-Type": "text/plain" });
          res.end("internal error");
        }
      }
    }
  }
}

function splitHostPort(addr: string): [string, number] {
  const i = addr.lastIndexOf(":");
  return i < 0 ? ["0.0.0.0", Number(addr)] : [addr.slice(0, i) || "0.0.0.0", Number(addr.slice(i + 1))];
}
