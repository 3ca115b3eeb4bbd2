// The node agent inside one guest cluster (a runtime Cluster against the guest's API server): the
// kubelet of every Node whose Machine's VM is powered on. It renews their Leases (the shared
// LeaseHeartbeat) and runs the pods the guest scheduler binds to them (the shared PodRunner, pod IPs
// from the Node's spec.podCIDR, which the guest's controller-manager allocates: nothing runs
// before it has). A Node not live does nothing at all, as a dead kubelet would.
import type { V1Node, V1Pod } from "@kubernetes/client-node";
import type { Cluster } from "../runtime/cluster.ts";
import { anyChange } from "../runtime/controller.ts";
import type { Informer } from "../runtime/informer.ts";
import { Nodes, Pods } from "../runtime/resource.ts";
import type { SimulationSettings } from "../settings.ts";
import { LeaseHeartbeat } from "../shared/kubelet/heartbeat.ts";
import { PodRunner } from "../shared/kubelet/runner.ts";
import { startDelay } from "../shared/kubelet/startdelay.ts";
import { hostNode } from "../shared/kubelet/sync.ts";

const BY_NODE = "nodeName";

export class GuestNodeAgent {
  readonly nodes: Informer<V1Node>;
  readonly pods: Informer<V1Pod>;
  private live = new Set<string>();
  private readonly heartbeat: LeaseHeartbeat;
  private readonly enqueue: (node: string) => void;

  constructor(
    readonly cluster: Cluster,
    settings: SimulationSettings,
  ) {
    this.nodes = cluster.informer(Nodes);
    this.pods = cluster.informer(Pods);
    this.pods.addIndex(BY_NODE, (p) => (p.spec?.nodeName ? [p.spec.nodeName] : []));
    this.heartbeat = new LeaseHeartbeat(
      cluster.client,
      () => this.liveNodes(),
      settings,
      cluster.log.child({ component: "guest-heartbeat" }),
    );
    cluster.addRunnable(this.heartbeat);
    const runner = new PodRunner(cluster.client, this.pods, (p) => startDelay(p, settings));
    const toLive = (name: string | undefined) => (name && this.live.has(name) ? [{ name }] : []);
    const ctl = cluster
      .controller("guestnode-pods")
      .for(Nodes, { predicate: anyChange })
      .watches(Pods, (p) => toLive((p as V1Pod).spec?.nodeName), { predicate: anyChange })
      .withOptions({ maxConcurrentReconciles: 8 })
      .complete({
        reconcile: async (req, log) => {
          const node = this.nodes.store.get(req.name);
          if (!node || !this.live.has(req.name)) return undefined;
          const hn = hostNode(node);
          if (!hn) return undefined; // no podCIDR yet: the Node's update wakes us
          const after = await runner.sync(
            hn,
            this.pods.store.byIndex(BY_NODE, req.name),
            { admits: true },
            log,
          );
          return after === undefined ? undefined : { requeueAfter: after };
        },
      });
    this.enqueue = (name) => ctl.enqueue({ name });
  }

  get synced(): boolean {
    return this.nodes.hasSynced && this.pods.hasSynced;
  }

  /** The Nodes that heartbeat and run pods now; a Node newly live renews and syncs at once. */
  setLive(names: Set<string>): void {
    const before = this.live;
    this.live = names;
    for (const n of names)
      if (!before.has(n)) {
        this.heartbeat.renewSoon(n);
        this.enqueue(n);
      }
  }

  isLive(name: string): boolean {
    return this.live.has(name);
  }

  /** Pods bound to `node` (as cached). */
  podsOn(node: string): V1Pod[] {
    return this.pods.store.byIndex(BY_NODE, node);
  }

  private *liveNodes(): Iterable<V1Node> {
    for (const n of this.live) {
      const node = this.nodes.store.get(n);
      if (node) yield node;
    }
  }
}
