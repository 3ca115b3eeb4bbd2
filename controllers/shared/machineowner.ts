// What the KubeadmControlPlane and MachineDeployment controllers share: both keep a set of Machines
// at a count and a template, rolling one surge machine at a time (rollout.ts). One reconciler serves
// both kinds; what differs (where the template lives, labels, one-at-a-time for the control plane,
// the kind's own status fields) is in a small per-kind description each controller folder gives.
import type { V1ObjectMeta } from "@kubernetes/client-node";
import { type Machine, MachineApiVersion, MachineResource } from "../api/cluster/machine.ts";
import { CapiLabels, VMTemplateAnnotations } from "../api/contracts.ts";
import { VirtualMachineApiVersion } from "../api/vmoperator/virtualmachine.ts";
import {
  type NewV1Beta1Condition,
  setV1Beta1Conditions,
  type V1Beta1Condition,
} from "../runtime/capiconditions.ts";
import type { Client } from "../runtime/client.ts";
import { type Condition, findCondition } from "../runtime/conditions.ts";
import { anyChange, type Reconciler, type Request, type Result } from "../runtime/controller.ts";
import { ignoreAlreadyExists, ignoreNotFound } from "../runtime/errors.ts";
import type { Logger } from "../runtime/log.ts";
import type { Manager } from "../runtime/manager.ts";
import { controllerRef } from "../runtime/owner.ts";
import { PatchHelper } from "../runtime/patchhelper.ts";
import type { ResourceType } from "../runtime/resource.ts";
import { byControllerUid, type Store } from "../runtime/store.ts";
import { type MachineView, planRollout, type RolloutStep, templateHash } from "./rollout.ts";
import { ROLLUP_DELAY_MS } from "./rollup.ts";

/** Machines by the uid of their controller owner (byControllerUid). */
export const OWNER_INDEX = "machineOwner";

/** A KubeadmControlPlane or a MachineDeployment, as far as this code reads it. */
export interface MachineOwner {
  apiVersion?: string;
  kind?: string;
  metadata: V1ObjectMeta;
  status?: { conditions?: unknown[]; [k: string]: unknown };
}

export interface MachineTemplate {
  cluster: string;
  replicas: number;
  version?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  failureDomain?: string;
}

/** The owner's machines as the status counts them. */
export interface MachineCounts {
  live: Machine[];
  ready: Machine[];
  updated: Machine[];
  allReady: boolean;
}

export interface MachineOwnerKind<T extends MachineOwner> {
  resource: ResourceType<T>;
  apiVersion: string;
  /** The control plane adds and removes one member at a time (etcd quorum). */
  controlPlane: boolean;
  /** The label that selects this owner's machines, besides the cluster name. */
  selectorLabel: string;
  /** The condition that mirrors Ready (MachinesReady, Available). */
  readyAlias: string;
  template(o: T): MachineTemplate;
  /** The status fields only this kind has (`o`: the owner as read, its previous status included). */
  kindStatus(t: MachineTemplate, counts: MachineCounts, o: T): Record<string, unknown>;
  /** The conditions only this kind has (the KubeadmControlPlane's Available). */
  kindConditions?(o: T, counts: MachineCounts): NewV1Beta1Condition[];
}

export function hashOf(t: MachineTemplate): string {
  return templateHash([
    t.version,
    t.annotations[VMTemplateAnnotations.className],
    t.annotations[VMTemplateAnnotations.storageClass],
    t.annotations[VMTemplateAnnotations.imageName],
  ]);
}

export function viewOf(m: Machine): MachineView {
  const name = m.metadata.name ?? "";
  const ordinal = Number(name.split("-").pop());
  return {
    name,
    hash: m.metadata.labels?.[CapiLabels.templateHash] ?? "",
    ordinal: Number.isFinite(ordinal) ? ordinal : 0,
    running: m.status?.phase === "Running",
    deleting: !!m.metadata.deletionTimestamp,
  };
}

export function desiredMachine<T extends MachineOwner>(
  kind: MachineOwnerKind<T>,
  o: T,
  t: MachineTemplate,
  hash: string,
  name: string,
): Machine {
  return {
    apiVersion: MachineApiVersion,
    kind: "Machine",
    metadata: {
      name,
      namespace: o.metadata.namespace,
      labels: { ...t.labels, [CapiLabels.clusterName]: t.cluster, [CapiLabels.templateHash]: hash },
      annotations: t.annotations,
      ownerReferences: [
        controllerRef({
          apiVersion: kind.apiVersion,
          kind: o.kind ?? kind.resource.kind,
          metadata: o.metadata,
        }),
      ],
    },
    spec: {
      clusterName: t.cluster,
      bootstrap: { dataSecretName: `${name}-bootstrap` },
      infrastructureRef: {
        apiVersion: VirtualMachineApiVersion,
        kind: "VirtualMachine",
        name,
        namespace: o.metadata.namespace,
      },
      version: t.version,
      ...(t.failureDomain ? { failureDomain: t.failureDomain } : {}),
    },
  };
}

export function countMachines(mine: Machine[], hash: string, replicas: number): MachineCounts {
  const live = mine.filter((m) => !m.metadata.deletionTimestamp);
  const ready = live.filter((m) => m.status?.phase === "Running");
  const updated = live.filter((m) => m.metadata.labels?.[CapiLabels.templateHash] === hash);
  const allReady = ready.length === replicas && updated.length === replicas && live.length === replicas;
  return { live, ready, updated, allReady };
}

/** Ready: True when every machine runs the template; else why not (a stuck machine's reason first). */
export function readyCondition(
  t: MachineTemplate,
  c: MachineCounts,
  waiting: string | undefined,
): NewV1Beta1Condition {
  if (c.allReady) return { type: "Ready", status: "True" };
  const stuck = c.live
    .map((m) => findCondition(m.status?.conditions as Condition[] | undefined, "InfrastructureReady"))
    .find(
      (x) => x?.status === "False" && x.reason !== "Provisioning" && x.reason !== "WaitingForInfrastructure",
    );
  return {
    type: "Ready",
    status: "False",
    // A machine that cannot start is a problem; scaling and rolling are progress.
    severity: stuck ? "Warning" : "Info",
    reason: stuck?.reason ?? (c.updated.length < c.live.length ? "RollingUpdateInProgress" : "ScalingUp"),
    message:
      stuck?.message ??
      waiting ??
      `${c.ready.length} of ${t.replicas} machines running, ${c.updated.length} up to date`,
  };
}

/**
 * The owner's status after this step, with Cluster API v1beta1 conditions (runtime/capiconditions.ts).
 */
export function ownerStatus<T extends MachineOwner>(
  kind: MachineOwnerKind<T>,
  o: T,
  t: MachineTemplate,
  counts: MachineCounts,
  waiting: string | undefined,
): Record<string, unknown> {
  const ready = readyCondition(t, counts, waiting);
  return {
    ...o.status,
    observedGeneration: o.metadata.generation,
    selector: `${CapiLabels.clusterName}=${t.cluster},${kind.selectorLabel}=${o.metadata.name}`,
    replicas: counts.live.length,
    updatedReplicas: counts.updated.length,
    readyReplicas: counts.ready.length,
    unavailableReplicas: Math.max(0, t.replicas - counts.ready.length),
    ...kind.kindStatus(t, counts, o),
    conditions: setV1Beta1Conditions(o.status?.conditions as V1Beta1Condition[] | undefined, [
      ready,
      { ...ready, type: kind.readyAlias },
      ...(kind.kindConditions?.(o, counts) ?? []),
    ]),
  };
}

export class MachineOwnerReconciler<T extends MachineOwner> implements Reconciler {
  constructor(
    private readonly client: Client,
    private readonly kind: MachineOwnerKind<T>,
    private readonly owners: Store<T>,
    private readonly machines: Store<Machine>,
  ) {}

  async reconcile(req: Request, log: Logger): Promise<Result | undefined> {
    const o = this.owners.get(req.namespace, req.name);
    // Deletion needs no finalizer: the garbage collector removes the machines.
    if (!o || o.metadata.deletionTimestamp) return undefined;
    const t = this.kind.template(o);
    const hash = hashOf(t);
    const mine = this.machines.byIndex(OWNER_INDEX, o.metadata.uid ?? "");
    const step = planRollout(
      o.metadata.name ?? "",
      t.replicas,
      hash,
      mine.map(viewOf),
      this.kind.controlPlane,
    );
    await this.applyStep(o, t, hash, step, log);
    const h = new PatchHelper(this.client, this.kind.resource, o);
    h.obj.status = ownerStatus(this.kind, o, t, countMachines(mine, hash, t.replicas), step.waiting);
    await h.patch();
    return undefined;
  }

  private async applyStep(o: T, t: MachineTemplate, hash: string, step: RolloutStep, log: Logger) {
    for (const name of step.create) {
      await this.client
        .create(MachineResource, desiredMachine(this.kind, o, t, hash, name))
        .catch(ignoreAlreadyExists);
      log.info({ machine: name }, "machine created");
    }
    for (const name of step.delete) {
      await this.client
        .delete(MachineResource, name, o.metadata.namespace, { propagationPolicy: "Foreground" })
        .catch(ignoreNotFound);
      log.info({ machine: name }, "machine deleted");
    }
  }
}

/** The wiring both kinds share: the owners, and the Machines they own (indexed by owner). */
export function setupMachineOwnerController<T extends MachineOwner>(
  mgr: Manager,
  name: string,
  kind: MachineOwnerKind<T>,
): void {
  const machines = mgr.informer(MachineResource);
  machines.addIndex(OWNER_INDEX, byControllerUid);
  const owners = mgr.informer(kind.resource);
  mgr
    .controller(name)
    .for(kind.resource)
    .owns(MachineResource, { predicate: anyChange, delayMs: ROLLUP_DELAY_MS })
    .withOptions({ maxConcurrentReconciles: 8 })
    .complete(new MachineOwnerReconciler(mgr.client, kind, owners.store, machines.store));
}
