// A node agent's heartbeat: every live node renews its Lease each interval, each at its own phase
// (stableFraction of its name) so 1,000 nodes make a steady stream of writes rather than bursts. A
// missing Lease is created (owned by its Node, as the kubelet does). Which nodes are live is the
// agent's to say (`live`): a node left out stops heartbeating, and its cluster's node lifecycle
// controller marks it NotReady/Unknown after its grace period.
import type { V1Node } from "@kubernetes/client-node";
import PQueue from "p-queue";
import type { Client } from "../../runtime/client.ts";
import { microTime } from "../../runtime/conditions.ts";
import { isAlreadyExists, isNotFound } from "../../runtime/errors.ts";
import type { Logger } from "../../runtime/log.ts";
import type { Runnable } from "../../runtime/manager.ts";
import { Leases } from "../../runtime/resource.ts";
import { stableFraction } from "../../settings.ts";
import { desiredLease, LEASE_NAMESPACE } from "./lease.ts";

export interface HeartbeatTiming {
  heartbeatIntervalMs: number;
  leaseDurationSeconds: number;
}

export class LeaseHeartbeat implements Runnable {
  /** When each node's Lease was last renewed by this process. */
  readonly lastRenew = new Map<string, Date>();
  private readonly nextDue = new Map<string, number>();
  private readonly inFlight = new Set<string>();
  /** Nodes whose Lease this process has created or renewed: renewed by PATCH, others created first. */
  private readonly leaseKnown = new Set<string>();
  private readonly pool = new PQueue({ concurrency: 32 });
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly client: Client,
    /** The Nodes (with their uid) that heartbeat now. */
    private readonly live: () => Iterable<V1Node>,
    private readonly timing: HeartbeatTiming,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => this.tick(), 100);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.pool.onIdle();
  }

  /** Renews now (a node whose heartbeats just came back, say). */
  renewSoon(node: string): void {
    this.nextDue.set(node, 0);
  }

  private tick(): void {
    const now = Date.now();
    const interval = this.timing.heartbeatIntervalMs;
    const live = new Set<string>();
    for (const node of this.live()) {
      const name = node.metadata?.name ?? "";
      if (!node.metadata?.uid) continue;
      live.add(name);
      let due = this.nextDue.get(name);
      if (due === undefined) {
        due = now + Math.floor(stableFraction(name) * interval);
        this.nextDue.set(name, due);
      }
      if (now < due || this.inFlight.has(name)) continue;
      // Keep the phase: the next beat is one interval after this one was due, unless far behind.
      this.nextDue.set(name, due + interval > now ? due + interval : now + interval);
      this.inFlight.add(name);
      void this.pool.add(() => this.renew(node).finally(() => this.inFlight.delete(name)));
    }
    for (const name of this.nextDue.keys()) {
      if (!live.has(name)) {
        this.nextDue.delete(name);
        this.lastRenew.delete(name);
        this.leaseKnown.delete(name);
      }
    }
  }

  private async renew(node: V1Node): Promise<void> {
    const name = node.metadata?.name ?? "";
    const now = new Date();
    const duration = this.timing.leaseDurationSeconds;
    try {
      if (!this.leaseKnown.has(name)) {
        try {
          await this.client.create(Leases, desiredLease(node, duration, now));
          this.leaseKnown.add(name);
          this.lastRenew.set(name, now);
          return;
        } catch (e) {
          if (!isAlreadyExists(e)) throw e;
        }
      }
      await this.client.patch(Leases, name, LEASE_NAMESPACE, {
        spec: { holderIdentity: name, leaseDurationSeconds: duration, renewTime: microTime(now) },
      });
      this.leaseKnown.add(name);
      this.lastRenew.set(name, now);
    } catch (e) {
      if (isNotFound(e)) this.leaseKnown.delete(name); // deleted behind our back: created again next beat
      this.log.warn({ kind: "Lease", namespace: LEASE_NAMESPACE, name, err: String(e) }, "heartbeat failed");
    }
  }
}
