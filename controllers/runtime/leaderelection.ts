// Leader election on a coordination.k8s.io Lease, after client-go's leaderelection package:
// - lease 15 s, renew deadline 10 s, retry 2 s (lease > renew > retry × 1.2 is checked);
// - expiry is judged by the local time at which this candidate last saw the record change, never
//   by the remote timestamps (clocks differ);
// - renewTime/acquireTime are MicroTime strings (six fractional digits); a plain Date gives 400;
// - losing the lease is fatal for the caller (the manager exits); release() empties the holder so
//   another candidate takes over at once.
import type { V1Lease } from "@kubernetes/client-node";
import type { KubeClient } from "./client.ts";
import { microTime } from "./conditions.ts";
import { isAlreadyExists, isConflict, isNotFound } from "./errors.ts";
import type { Logger } from "./log.ts";
import { Leases } from "./resource.ts";

export interface LeaderElectionConfig {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
}

const JITTER_FACTOR = 1.2;

export function validateTimings(leaseMs: number, renewMs: number, retryMs: number): void {
  if (!(leaseMs > renewMs)) throw new Error("leaseDuration must be greater than renewDeadline");
  if (!(renewMs > retryMs * JITTER_FACTOR))
    throw new Error("renewDeadline must be greater than retryPeriod × 1.2");
}

export class LeaderElector {
  private readonly leaseMs: number;
  private readonly renewMs: number;
  private readonly retryMs: number;
  private observedRecord = "";
  private observedTime = 0;
  private leading = false;
  private stopped = false;
  private wake: (() => void) | undefined;

  constructor(
    private readonly client: KubeClient,
    private readonly cfg: LeaderElectionConfig,
    private readonly log: Logger,
    private readonly onStatus: (leading: boolean) => void = () => undefined,
  ) {
    this.leaseMs = cfg.leaseDurationMs ?? 15_000;
    this.renewMs = cfg.renewDeadlineMs ?? 10_000;
    this.retryMs = cfg.retryPeriodMs ?? 2_000;
    validateTimings(this.leaseMs, this.renewMs, this.retryMs);
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /**
   * Campaigns until elected, calls onStartedLeading, then renews until the lease is lost (calls
   * onStoppedLeading) or stop() is called.
   */
  async run(onStartedLeading: () => void, onStoppedLeading: () => void): Promise<void> {
    while (!this.stopped && !(await this.tryAcquireOrRenew())) {
      await this.sleep(this.retryMs * (1 + Math.random() * JITTER_FACTOR));
    }
    if (this.stopped) return;
    this.setLeading(true);
    this.log.info(
      { lease: `${this.cfg.namespace}/${this.cfg.name}`, identity: this.cfg.identity },
      "became leader",
    );
    onStartedLeading();
    let lastRenew = Date.now();
    while (!this.stopped) {
      await this.sleep(this.retryMs);
      if (this.stopped) return;
      if (await this.tryAcquireOrRenew()) {
        lastRenew = Date.now();
        continue;
      }
      if (Date.now() - lastRenew > this.renewMs) {
        this.setLeading(false);
        this.log.error({ lease: `${this.cfg.namespace}/${this.cfg.name}` }, "leader lease lost");
        onStoppedLeading();
        return;
      }
    }
  }

  /** Stops campaigning or renewing; releases the lease if held. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    if (this.leading) await this.release();
  }

  /**
   * A renewal still in flight when stop() was called can land between the read and the write below
   * (409): read again, a few times, rather than leave the lease to expire (seen once in CI: the next
   * candidate waited out the 15 s lease).
   */
  private async release(attempts = 3): Promise<void> {
    try {
      const lease = await this.client.get<V1Lease>(Leases, this.cfg.name, this.cfg.namespace);
      if (lease.spec?.holderIdentity !== this.cfg.identity) return;
      const now = microTime(new Date());
      lease.spec = {
        ...lease.spec,
        holderIdentity: "",
        leaseDurationSeconds: 1,
        acquireTime: now as unknown as Date,
        renewTime: now as unknown as Date,
      };
      await this.client.replace(Leases, lease);
      this.log.info({ lease: `${this.cfg.namespace}/${this.cfg.name}` }, "released leader lease");
    } catch (e) {
      if (isConflict(e) && attempts > 1) return await this.release(attempts - 1);
      this.log.warn({ err: String(e) }, "could not release leader lease");
    } finally {
      this.setLeading(false);
    }
  }

  private setLeading(v: boolean): void {
    this.leading = v;
    this.onStatus(v);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }

  /** One round of client-go's tryAcquireOrRenew; true when this candidate holds the lease. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name, identity } = this.cfg;
    // Timestamps go over the wire as MicroTime strings; the client sends our JSON as it is.
    const now = microTime(new Date()) as unknown as Date;
    const leaseSeconds = Math.round(this.leaseMs / 1000);
    let lease: V1Lease;
    try {
      lease = await this.client.get<V1Lease>(Leases, name, namespace);
    } catch (e) {
      if (!isNotFound(e)) {
        this.log.warn({ err: String(e) }, "reading leader lease failed");
        return false;
      }
      try {
        const created = await this.client.create<V1Lease>(Leases, {
          apiVersion: "coordination.k8s.io/v1",
          kind: "Lease",
          metadata: { name, namespace },
          spec: {
            holderIdentity: identity,
            leaseDurationSeconds: leaseSeconds,
            acquireTime: now,
            renewTime: now,
            leaseTransitions: 0,
          },
        });
        this.observe(created);
        return true;
      } catch (err) {
        if (!isAlreadyExists(err)) this.log.warn({ err: String(err) }, "creating leader lease failed");
        return false;
      }
    }
    this.observe(lease);
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? "";
    const duration = (spec.leaseDurationSeconds ?? leaseSeconds) * 1000;
    if (holder && holder !== identity && this.observedTime + duration > Date.now()) return false;
    lease.spec = {
      ...spec,
      holderIdentity: identity,
      leaseDurationSeconds: leaseSeconds,
      renewTime: now,
      acquireTime: holder === identity ? spec.acquireTime : now,
      leaseTransitions: holder === identity ? (spec.leaseTransitions ?? 0) : (spec.leaseTransitions ?? 0) + 1,
    };
    try {
      this.observe(await this.client.replace<V1Lease>(Leases, lease));
      return true;
    } catch (e) {
      if (!isConflict(e)) this.log.warn({ err: String(e) }, "updating leader lease failed");
      return false;
    }
  }

  /** Records when (by our clock) the lease record last changed. */
  private observe(lease: V1Lease): void {
    const record = JSON.stringify(lease.spec ?? {});
    if (record !== this.observedRecord) {
      this.observedRecord = record;
      this.observedTime = Date.now();
    }
  }
}
