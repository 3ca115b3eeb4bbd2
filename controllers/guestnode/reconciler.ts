// The guest node controller (runtime `local`): one key per Cluster. Once the guest answers (its
// <cluster>-kubeconfig Secret holds the real admin kubeconfig) the guest is engaged in the
// ClusterSet — its own client, informers and node agent — and every Machine of the Cluster is
// carried to its plan (desired.ts): a powered-on Machine's Node is registered (one create, status
// included) and made live (Lease renewed, pods run); a powered-off one is left to go NotReady; a
// Machine being deleted is cordoned, drained through the guest's Eviction API (PDBs answer 429 and
// are waited on, up to the drain timeout) and its Node deleted before the drain finalizer on its VM
// lets the VM go. A Cluster being deleted releases every VM at once and disengages its guest.
import type { V1Node, V1Secret } from "@kubernetes/client-node";
import { KubeConfig } from "@kubernetes/client-node";
import type { Cluster } from "../api/cluster/cluster.ts";
import type { Machine } from "../api/cluster/machine.ts";
import { CapiLabels } from "../api/contracts.ts";
import { type VirtualMachine, VirtualMachineResource } from "../api/vmoperator/virtualmachine.ts";
import type { VirtualMachineClass } from "../api/vmoperator/virtualmachineclass.ts";
import type { Client } from "../runtime/client.ts";
import { ClusterSet, type Cluster as RuntimeCluster } from "../runtime/cluster.ts";
import { rfc3339 } from "../runtime/conditions.ts";
import type { Reconciler, Request, Result } from "../runtime/controller.ts";
import { apiStatus, ignoreNotFound, isAlreadyExists } from "../runtime/errors.ts";
import { ensureFinalizer, removeFinalizer } from "../runtime/finalizers.ts";
import type { Logger } from "../runtime/log.ts";
import type { Metrics } from "../runtime/metrics.ts";
import { Nodes, Pods } from "../runtime/resource.ts";
import type { Store } from "../runtime/store.ts";
import type { SimulationSettings } from "../settings.ts";
import { readyConditions } from "../shared/kubelet/nodeconditions.ts";
import { heartbeatsOn, type Inventory } from "../shared/placement/inventory.ts";
import { GuestNodeAgent } from "./agent.ts";
import {
  DRAIN_FINALIZER,
  desiredGuestNode,
  drainStep,
  GUEST_NODE_LABEL,
  type MachineView,
  type NodePlan,
  needsReadyStatus,
  planMachine,
  strayNodes,
} from "./desired.ts";

const RESYNC_MS = 10_000;
const DRAIN_POLL_MS = 1_000;

export interface GuestNodeStores {
  clusters: Store<Cluster>;
  machines: Store<Machine>;
  vms: Store<VirtualMachine>;
  vmClasses: Store<VirtualMachineClass>;
  secrets: Store<V1Secret>;
}

/** The guest's admin kubeconfig from <cluster>-kubeconfig, once it is the real one (CA and client cert). */
export function guestKubeconfig(s: V1Secret | undefined): string | undefined {
  const text = s?.data?.value ? Buffer.from(s.data.value, "base64").toString("utf8") : "";
  return text.includes("certificate-authority-data") && text.includes("client-certificate-data")
    ? text
    : undefined;
}

export class GuestNodeReconciler implements Reconciler {
  readonly guests: ClusterSet;
  private readonly agents = new Map<string, GuestNodeAgent>();

  constructor(
    private readonly client: Client,
    private readonly s: GuestNodeStores,
    private readonly inv: Inventory,
    settings: SimulationSettings,
    metrics: Metrics,
    log: Logger,
  ) {
    this.guests = new ClusterSet(
      metrics,
      log,
      (c: RuntimeCluster) => {
        this.agents.set(c.name, new GuestNodeAgent(c, settings));
      },
      { userAgent: "pacific/guestnode" },
    );
  }

  async reconcile(req: Request, log: Logger): Promise<Result | undefined> {
    const ns = req.namespace ?? "";
    const key = `${ns}/${req.name}`;
    const cluster = this.s.clusters.get(ns, req.name);
    const vms = this.s.vms
      .list()
      .filter((v) => v.metadata.namespace === ns && v.metadata.labels?.[CapiLabels.clusterName] === req.name);
    const kubeconfig = guestKubeconfig(this.s.secrets.get(ns, `${req.name}-kubeconfig`));
    if (!cluster || cluster.metadata.deletionTimestamp || !kubeconfig) {
      // No guest to drain in (being deleted, or not up): nothing holds a VM back.
      await this.disengage(key);
      for (const vm of vms) await removeFinalizer(this.client, VirtualMachineResource, vm, DRAIN_FINALIZER);
      return undefined;
    }
    const guest = await this.guests.engage(key, configFrom(kubeconfig), kubeconfig);
    const agent = this.agents.get(key);
    if (!agent?.synced) return { requeueAfter: DRAIN_POLL_MS };

    const live = new Set<string>();
    let wake = RESYNC_MS;
    const views = this.views(ns, req.name, vms);
    for (const view of views) {
      const node = agent.nodes.store.get(viewNodeName(view));
      const registered = node?.metadata?.labels?.[GUEST_NODE_LABEL] === view.machine.metadata.name;
      const plan = planMachine(view, registered);
      const done = await this.carryOut(plan, view, node, guest, agent, live, log);
      if (!done) wake = Math.min(wake, DRAIN_POLL_MS);
    }
    // A Node whose Machine and VM are both gone has nothing left to drain: delete it, as the cloud
    // provider does for a Node whose instance is gone.
    const known = new Set(views.map((v) => v.machine.metadata.name ?? ""));
    for (const name of strayNodes(agent.nodes.store.list(), known)) {
      await guest.client.delete(Nodes, name).catch(ignoreNotFound);
      log.info({ node: name }, "guest node deleted: its Machine and VM are gone");
    }
    agent.setLive(live);
    return { requeueAfter: wake };
  }

  /** Every Machine of the Cluster with its VM, and VMs being deleted whose Machine has gone already. */
  private views(ns: string, cluster: string, vms: VirtualMachine[]): MachineView[] {
    const machines = this.s.machines
      .list()
      .filter((m) => m.metadata.namespace === ns && m.metadata.labels?.[CapiLabels.clusterName] === cluster);
    const view = (machine: Machine, vm: VirtualMachine | undefined): MachineView => {
      const host = vm?.status?.host ? this.inv.hosts.store.get(vm.status.host) : undefined;
      return {
        machine,
        vm,
        vmClass: vm ? this.s.vmClasses.get(ns, vm.spec.className) : undefined,
        hostUp: !!host && heartbeatsOn(host) && !host.metadata.deletionTimestamp,
      };
    };
    const out = machines.map((m) =>
      view(
        m,
        vms.find((v) => v.metadata.name === m.metadata.name),
      ),
    );
    for (const vm of vms) {
      if (machines.some((m) => m.metadata.name === vm.metadata.name)) continue;
      // The Machine went first (background deletion): the VM alone says what its Node was.
      const orphan: Machine = {
        metadata: { ...vm.metadata, deletionTimestamp: vm.metadata.deletionTimestamp ?? new Date() },
        spec: { clusterName: cluster, bootstrap: {}, infrastructureRef: {} },
      };
      out.push(view(orphan, vm));
    }
    return out;
  }

  /** Carries out one Machine's plan; false while a drain is still going. */
  private async carryOut(
    plan: NodePlan,
    view: MachineView,
    node: V1Node | undefined,
    guest: RuntimeCluster,
    agent: GuestNodeAgent,
    live: Set<string>,
    log: Logger,
  ): Promise<boolean> {
    const vm = view.vm;
    switch (plan.kind) {
      case "run": {
        if (vm && !vm.metadata.deletionTimestamp)
          await ensureFinalizer(this.client, VirtualMachineResource, vm, DRAIN_FINALIZER);
        if (!node) {
          // The cache may not show our create yet: AlreadyExists is that, not a failure.
          const made = await guest.client.create(Nodes, desiredGuestNode(view, new Date())).then(
            () => true,
            (e) => (isAlreadyExists(e) ? false : Promise.reject(e)),
          );
          if (made) log.info({ node: plan.node }, "guest node registered");
        } else if (needsReadyStatus(node)) {
          // Back from an outage: the kubelet posts Ready again (the KCM had marked it Unknown).
          await guest.client.patch(
            Nodes,
            plan.node,
            undefined,
            { status: { conditions: readyConditions(rfc3339(new Date())) } },
            { subresource: "status" },
          );
        }
        live.add(plan.node);
        return true;
      }
      case "stopped":
        return true;
      case "none":
        if (vm?.metadata.deletionTimestamp)
          await removeFinalizer(this.client, VirtualMachineResource, vm, DRAIN_FINALIZER);
        return true;
      case "drain": {
        live.add(plan.node); // a draining kubelet still runs (and stops) its pods
        const drained = node ? await this.drain(guest, agent, node, plan.deadline, log) : true;
        if (!drained) return false;
        await guest.client.delete(Nodes, plan.node).catch(ignoreNotFound);
        log.info({ node: plan.node }, "guest node drained and deleted");
        if (vm) await removeFinalizer(this.client, VirtualMachineResource, vm, DRAIN_FINALIZER);
        live.delete(plan.node);
        return true;
      }
    }
  }

  /** Cordon, then evict what a drain evicts (drainStep); true once the Node may be deleted. */
  private async drain(
    guest: RuntimeCluster,
    agent: GuestNodeAgent,
    node: V1Node,
    deadline: number,
    log: Logger,
  ): Promise<boolean> {
    const name = node.metadata?.name ?? "";
    const step = drainStep(node, agent.podsOn(name), deadline, Date.now());
    if (step.cordon) await guest.client.patch(Nodes, name, undefined, { spec: { unschedulable: true } });
    if (step.timedOut)
      log.warn({ node: name, pods: step.left }, "drain timed out; deleting the node with pods left");
    for (const p of step.evict) {
      const m = p.metadata ?? {};
      try {
        await guest.client.createSubresource(Pods, m.name ?? "", m.namespace, "eviction", {
          apiVersion: "policy/v1",
          kind: "Eviction",
          metadata: { name: m.name, namespace: m.namespace },
        });
      } catch (e) {
        const s = apiStatus(e);
        if (s.code === 429)
          log.info(
            { node: name, pod: `${m.namespace}/${m.name}` },
            "eviction refused (PodDisruptionBudget); retrying",
          );
        else if (s.code !== 404) throw e;
      }
    }
    return step.done;
  }

  private async disengage(key: string): Promise<void> {
    await this.guests.disengage(key);
    this.agents.delete(key);
  }
}

function viewNodeName(v: MachineView): string {
  return v.machine.status?.nodeRef?.name ?? v.machine.metadata.name ?? "";
}

function configFrom(text: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromString(text);
  return kc;
}
