// KubeadmControlPlane and MachineDeployment: both keep a set of Machines at a count and a template,
// rolling one surge machine at a time (rollout.ts). One reconciler serves both kinds; what differs
// (where the template lives, labels, one-at-a-time for the control plane, status fields) is in a
// small per-kind description.
import { type Machine, MachineResource } from "../api/cluster/machine.ts";
import { type MachineDeployment, MachineDeploymentResource } from "../api/cluster/machinedeployment.ts";
import {
  type KubeadmControlPlane,
  KubeadmControlPlaneResource,
} from "../api/controlplane/kubeadmcontrolplane.ts";
import type { KubeClient } from "../runtime/client.ts";
import { type Condition, findCondition, type NewCondition, setConditions } from "../runtime/conditions.ts";
import { anyChange, type Reconciler, type Request, type Result } from "../runtime/controller.ts";
import { isAlreadyExists, isNotFound } from "../runtime/errors.ts";
import type { Informer } from "../runtime/informer.ts";
import type { Logger } from "../runtime/log.ts";
import type { Manager } from "../runtime/manager.ts";
import { controllerRef } from "../runtime/owner.ts";
import { deepEqual } from "../runtime/patch.ts";
import type { ResourceType } from "../runtime/resource.ts";
import { type MachineView, planRollout, templateHash } from "../shared/rollout.ts";
import { CLUSTER_API, Labels, VM_OPERATOR, VMTemplateAnnotations } from "./labels.ts";

export const OWNER_INDEX = "machineOwner";

type Owner = KubeadmControlPlane | MachineDeployment;

interface Template {
  cluster: string;
  replicas: number;
  version?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  failureDomain?: string;
}

interface Kind {
  resource: ResourceType;
  apiVersion: string;
  controlPlane: boolean;
  template(o: Owner): Template;
}

const kcpKind: Kind = {
  resource: KubeadmControlPlaneResource,
  apiVersion: "controlplane.cluster.x-k8s.io/v1beta1",
  controlPlane: true,
  template(o) {
    const k = o as KubeadmControlPlane;
    const cluster = k.metadata.labels?.[Labels.clusterName] ?? "";
    return {
      cluster,
      replicas: k.spec.replicas,
      version: k.spec.version,
      labels: {
        ...(k.spec.machineTemplate.metadata?.labels as Record<string, string>),
        [Labels.controlPlane]: "",
        [Labels.controlPlaneName]: k.metadata.name!,
      },
      annotations: { ...(k.spec.machineTemplate.metadata?.annotations as Record<string, string>) },
    };
  },
};

const mdKind: Kind = {
  resource: MachineDeploymentResource,
  apiVersion: CLUSTER_API,
  controlPlane: false,
  template(o) {
    const d = o as MachineDeployment;
    return {
      cluster: d.spec.clusterName,
      replicas: d.spec.replicas,
      version: d.spec.template.spec?.version,
      labels: {
        ...(d.spec.template.metadata?.labels as Record<string, string>),
        [Labels.deploymentName]: d.metadata.name!,
      },
      annotations: { ...(d.spec.template.metadata?.annotations as Record<string, string>) },
      failureDomain: d.spec.template.spec?.failureDomain,
    };
  },
};

export function hashOf(t: Template): string {
  return templateHash([
    t.version,
    t.annotations[VMTemplateAnnotations.className],
    t.annotations[VMTemplateAnnotations.storageClass],
    t.annotations[VMTemplateAnnotations.imageName],
  ]);
}

export function viewOf(m: Machine): MachineView {
  const ordinal = Number(m.metadata.name!.split("-").pop());
  return {
    name: m.metadata.name!,
    hash: m.metadata.labels?.[Labels.templateHash] ?? "",
    ordinal: Number.isFinite(ordinal) ? ordinal : 0,
    running: m.status?.phase === "Running",
    deleting: !!m.metadata.deletionTimestamp,
  };
}

export class MachineOwnerReconciler implements Reconciler {
  constructor(
    private readonly client: KubeClient,
    private readonly kind: Kind,
    private readonly owners: Informer<Owner>,
    private readonly machines: Informer<Machine>,
  ) {}

  async reconcile(req: Request, log: Logger): Promise<Result | undefined> {
    const o = this.owners.store.get(req.namespace, req.name);
    if (!o || o.metadata.deletionTimestamp) return undefined; // the garbage collector removes the machines
    const t = this.kind.template(o);
    const hash = hashOf(t);
    const mine = this.machines.store.byIndex(OWNER_INDEX, o.metadata.uid!);
    const step = planRollout(o.metadata.name!, t.replicas, hash, mine.map(viewOf), this.kind.controlPlane);
    for (const name of step.create) {
      try {
        await this.client.create(MachineResource, this.machine(o, t, hash, name));
        log.info({ machine: name }, "machine created");
      } catch (e) {
        if (!isAlreadyExists(e)) throw e;
      }
    }
    for (const name of step.delete) {
      await this.client
        .delete(MachineResource, name, req.namespace, { propagationPolicy: "Foreground" })
        .catch((e: unknown) => {
          if (!isNotFound(e)) throw e;
        });
      log.info({ machine: name }, "machine deleted");
    }
    await this.writeStatus(o, t, hash, mine, step.waiting);
    return undefined;
  }

  private machine(o: Owner, t: Template, hash: string, name: string): Machine {
    return {
      apiVersion: CLUSTER_API,
      kind: "Machine",
      metadata: {
        name,
        namespace: o.metadata.namespace,
        labels: { ...t.labels, [Labels.clusterName]: t.cluster, [Labels.templateHash]: hash },
        annotations: t.annotations,
        ownerReferences: [
          controllerRef({
            apiVersion: this.kind.apiVersion,
            kind: o.kind ?? this.kind.resource.kind,
            metadata: o.metadata,
          }),
        ],
      },
      spec: {
        clusterName: t.cluster,
        bootstrap: { dataSecretName: `${name}-bootstrap` },
        infrastructureRef: {
          apiVersion: VM_OPERATOR,
          kind: "VirtualMachine",
          name,
          namespace: o.metadata.namespace,
        },
        version: t.version,
        ...(t.failureDomain ? { failureDomain: t.failureDomain } : {}),
      },
    };
  }

  private async writeStatus(
    o: Owner,
    t: Template,
    hash: string,
    mine: Machine[],
    waiting: string | undefined,
  ) {
    const live = mine.filter((m) => !m.metadata.deletionTimestamp);
    const ready = live.filter((m) => m.status?.phase === "Running");
    const updated = live.filter((m) => m.metadata.labels?.[Labels.templateHash] === hash);
    const stuck = live
      .map((m) => findCondition(m.status?.conditions as Condition[] | undefined, "InfrastructureReady"))
      .find(
        (c) =>
          c?.status === "False" && c.reason !== "Provisioning" && c.reason !== "WaitingForInfrastructure",
      );
    const allReady =
      ready.length === t.replicas && updated.length === t.replicas && live.length === t.replicas;
    const readyCond: NewCondition = allReady
      ? { type: "Ready", status: "True", reason: "Ready", message: "" }
      : {
          type: "Ready",
          status: "False",
          reason: stuck?.reason ?? (updated.length < live.length ? "RollingUpdateInProgress" : "ScalingUp"),
          message:
            stuck?.message ??
            waiting ??
            `${ready.length} of ${t.replicas} machines running, ${updated.length} up to date`,
        };
    const base = {
      observedGeneration: o.metadata.generation,
      selector: `${Labels.clusterName}=${t.cluster},${this.kind.controlPlane ? `${Labels.controlPlaneName}=${o.metadata.name}` : `${Labels.deploymentName}=${o.metadata.name}`}`,
      replicas: live.length,
      updatedReplicas: updated.length,
      readyReplicas: ready.length,
      unavailableReplicas: Math.max(0, t.replicas - ready.length),
    };
    const versions = ready.map((m) => m.spec.version ?? "").sort();
    const status: Record<string, unknown> = this.kind.controlPlane
      ? {
          ...base,
          initialized: ready.length > 0,
          ready: ready.length > 0,
          // The oldest version a running member has: what the control plane as a whole runs.
          ...(versions.length ? { version: versions[0] } : {}),
        }
      : {
          ...base,
          availableReplicas: ready.length,
          phase:
            live.length < t.replicas
              ? "ScalingUp"
              : live.length > t.replicas
                ? "ScalingDown"
                : allReady
                  ? "Running"
                  : "ScalingUp",
        };
    const conds: NewCondition[] = [
      readyCond,
      { ...readyCond, type: this.kind.controlPlane ? "MachinesReady" : "Available" },
    ];
    status.conditions = setConditions(o.status?.conditions as Condition[] | undefined, conds);
    const clean = JSON.parse(JSON.stringify(status));
    const current = JSON.parse(JSON.stringify(o.status ?? {}));
    if (!deepEqual({ ...current, ...clean }, current))
      await this.client.patch(
        this.kind.resource,
        o.metadata.name!,
        o.metadata.namespace,
        { status: clean },
        { subresource: "status" },
      );
  }
}

export function setupMachineOwners(
  mgr: Manager,
  machines: Informer<Machine>,
  kcps: Informer<KubeadmControlPlane>,
  mds: Informer<MachineDeployment>,
): void {
  for (const [name, kind, inf] of [
    ["kubeadmcontrolplane", kcpKind, kcps],
    ["machinedeployment", mdKind, mds],
  ] as const) {
    mgr
      .controller(name)
      .for(kind.resource)
      .owns(MachineResource, { predicate: anyChange })
      .withOptions({ maxConcurrentReconciles: 8 })
      .complete(new MachineOwnerReconciler(mgr.client, kind, inf as Informer<Owner>, machines));
  }
}
