// What a Cluster with a managed topology is made of, as pure functions — Cluster API's topology
// controller for the classes a Supervisor offers: a KubeadmControlPlane and one MachineDeployment
// per `workers.machineDeployments[]` entry, owned by the Cluster and labelled as upstream
// (`topology.cluster.x-k8s.io/owned`, `cluster.x-k8s.io/cluster-name`,
// `topology.cluster.x-k8s.io/deployment-name`), with the VM template (class, storage class, image)
// on the machine template's annotations — the shape the machine path reads, whoever asked for the
// cluster (a TKC or a Cluster applied by hand). Names are deterministic (`<cluster>-control-plane`,
// `<cluster>-<pool>`; upstream appends a random suffix): a restarted manager finds what it made, and
// a TKC's objects keep the names TKG gave them.
import type { Cluster } from "../../api/cluster/cluster.ts";
import { ClusterApiVersion } from "../../api/cluster/cluster.ts";
import type { ClusterClass } from "../../api/cluster/clusterclass.ts";
import type { MachineDeployment } from "../../api/cluster/machinedeployment.ts";
import { CapiLabels, NODE_POOL_LABEL, TopologyLabels, VMTemplateAnnotations } from "../../api/contracts.ts";
import {
  type KubeadmControlPlane,
  KubeadmControlPlaneApiVersion,
} from "../../api/controlplane/kubeadmcontrolplane.ts";
import type { TanzuKubernetesRelease } from "../../api/run/tanzukubernetesrelease.ts";
import { VirtualMachineApiVersion } from "../../api/vmoperator/virtualmachine.ts";
import type { NewV1Beta1Condition } from "../../runtime/capiconditions.ts";
import { controllerRef } from "../../runtime/owner.ts";
import { controlPlaneRegistration, encodeNodeRegistration } from "../noderegistration.ts";
import { imageOf, versionChangeProblem } from "../tkr.ts";
import type { ClusterTopology, MachineDeploymentTopology } from "./types.ts";
import { type MachineVariables, machineVariables, resolveValues } from "./variables.ts";

export const topologyNames = {
  controlPlane: (cluster: string) => `${cluster}-control-plane`,
  machineDeployment: (cluster: string, md: string) => `${cluster}-${md}`,
};

/** Upstream's v1beta1 reasons of TopologyReconciled (and ours for a class that is not there). */
export const TopologyReasons = {
  failed: "TopologyReconcileFailed",
  classNotFound: "ClusterClassNotFound",
  mdUpgradePending: "MachineDeploymentsUpgradePending",
} as const;

const nameOf = (o: { metadata?: { name?: string } }) => o.metadata?.name ?? "";

/** The control plane has moved to `target` on every member: the pools may follow. */
export function controlPlaneUpgraded(kcp: KubeadmControlPlane | undefined, target: string): boolean {
  const s = kcp?.status;
  const want = kcp?.spec.replicas;
  return (
    !!kcp &&
    kcp.spec.version === target &&
    s?.version === target &&
    s.updatedReplicas === want &&
    s.readyReplicas === want &&
    s.replicas === want
  );
}

export interface TopologyInput {
  cluster: Cluster;
  topology: ClusterTopology;
  clusterClass: ClusterClass | undefined;
  release: TanzuKubernetesRelease | undefined;
  /** What exists now (from the cache). */
  kcp: KubeadmControlPlane | undefined;
  mds: readonly MachineDeployment[];
}

export type TopologyPlan =
  | { ok: false; reason: string; message: string }
  | {
      ok: true;
      controlPlane: KubeadmControlPlane;
      machineDeployments: MachineDeployment[];
      /** Made by this topology and no longer in it: to delete. */
      stale: MachineDeployment[];
      condition: NewV1Beta1Condition;
    };

const fail = (reason: string, message: string): TopologyPlan => ({ ok: false, reason, message });

/** The whole decision of one pass: what the Cluster's topology wants, or why it cannot be made. */
export function planTopology(input: TopologyInput): TopologyPlan {
  const { cluster, topology, clusterClass, release, kcp } = input;
  const ns = cluster.metadata.namespace ?? "";
  const classNs = topology.classNamespace || ns;
  if (!clusterClass)
    return fail(
      TopologyReasons.classNotFound,
      `ClusterClass ${classNs}/${topology.class} (spec.topology.class) not found`,
    );
  if (!release)
    return fail(
      TopologyReasons.failed,
      `spec.topology.version ${topology.version}: no TanzuKubernetesRelease of that version (kubectl get tkr)`,
    );
  const target = release.spec.kubernetes.version;
  const refused = versionChangeProblem(kcp?.spec.version, target);
  if (refused) return fail(TopologyReasons.failed, `spec.topology.version ${topology.version} ${refused}`);
  const workerClasses = new Set((clusterClass.spec?.workers?.machineDeployments ?? []).map((w) => w.class));
  const mdTopologies = topology.workers?.machineDeployments ?? [];
  for (const [i, md] of mdTopologies.entries())
    if (workerClasses.size && !workerClasses.has(md.class))
      return fail(
        TopologyReasons.failed,
        `spec.topology.workers.machineDeployments[${i}].class: ${md.class} is not a worker class of ClusterClass ${classNs}/${topology.class}`,
      );

  const classVars = clusterClass.spec?.variables;
  const cpVars = machineVariables(resolveValues(classVars, topology.variables), "controlPlane");
  const missing = missingVariable(cpVars, "control plane");
  if (missing) return fail(TopologyReasons.failed, missing);
  const controlPlane = desiredControlPlane(cluster, topology, release, cpVars);

  const cpDone = controlPlaneUpgraded(kcp, target);
  const current = new Map(input.mds.map((m) => [m.metadata.labels?.[TopologyLabels.deploymentName], m]));
  const machineDeployments: MachineDeployment[] = [];
  const pending: string[] = [];
  for (const [i, md] of mdTopologies.entries()) {
    const vars = machineVariables(
      resolveValues(classVars, topology.variables, md.variables?.overrides),
      "worker",
    );
    const miss = missingVariable(vars, `spec.topology.workers.machineDeployments[${i}] (${md.name})`);
    if (miss) return fail(TopologyReasons.failed, miss);
    const existing = current.get(md.name);
    const version = cpDone
      ? target
      : (existing?.spec.template.spec?.version ?? kcp?.status?.version ?? target);
    if (version !== target) pending.push(md.name);
    machineDeployments.push(desiredMachineDeployment(cluster, md, release, vars, version));
  }
  const wanted = new Set(mdTopologies.map((m) => m.name));
  const stale = input.mds.filter(
    (m) =>
      !wanted.has(m.metadata.labels?.[TopologyLabels.deploymentName] ?? "") &&
      !m.metadata.deletionTimestamp &&
      m.metadata.ownerReferences?.some((r) => r.controller && r.uid === cluster.metadata.uid),
  );
  const condition: NewV1Beta1Condition = pending.length
    ? {
        type: "TopologyReconciled",
        status: "False",
        severity: "Info",
        reason: TopologyReasons.mdUpgradePending,
        message: `MachineDeployment(s) ${pending.join(", ")} upgrade to ${target} on hold: waiting for the control plane`,
      }
    : { type: "TopologyReconciled", status: "True" };
  return { ok: true, controlPlane, machineDeployments, stale, condition };
}

function missingVariable(v: MachineVariables, what: string): string | undefined {
  if (!v.vmClass) return `spec.topology.variables: vmClass is not set for the ${what}`;
  if (!v.storageClass) return `spec.topology.variables: storageClass is not set for the ${what}`;
  return undefined;
}

function vmTemplate(v: MachineVariables, release: TanzuKubernetesRelease): Record<string, string> {
  return {
    [VMTemplateAnnotations.className]: v.vmClass ?? "",
    [VMTemplateAnnotations.storageClass]: v.storageClass ?? "",
    [VMTemplateAnnotations.imageName]: imageOf(release),
  };
}

const ownedBy = (cluster: Cluster) => [
  controllerRef({ apiVersion: ClusterApiVersion, kind: "Cluster", metadata: cluster.metadata }),
];

export function desiredControlPlane(
  cluster: Cluster,
  topology: ClusterTopology,
  release: TanzuKubernetesRelease,
  v: MachineVariables,
): KubeadmControlPlane {
  const name = nameOf(cluster);
  const meta = topology.controlPlane?.metadata;
  const labels = { ...meta?.labels, [CapiLabels.clusterName]: name, [TopologyLabels.owned]: "" };
  const drain = topology.controlPlane?.nodeDrainTimeout;
  return {
    apiVersion: KubeadmControlPlaneApiVersion,
    kind: "KubeadmControlPlane",
    metadata: {
      name: topologyNames.controlPlane(name),
      namespace: cluster.metadata.namespace,
      labels,
      ...(meta?.annotations ? { annotations: meta.annotations } : {}),
      ownerReferences: ownedBy(cluster),
    },
    spec: {
      replicas: topology.controlPlane?.replicas ?? 1,
      version: release.spec.kubernetes.version,
      machineTemplate: {
        metadata: {
          labels,
          annotations: {
            ...meta?.annotations,
            ...vmTemplate(v, release),
            ...encodeNodeRegistration(controlPlaneRegistration),
          },
        },
        infrastructureRef: {
          apiVersion: VirtualMachineApiVersion,
          kind: "VirtualMachineClass",
          name: v.vmClass ?? "",
          namespace: cluster.metadata.namespace,
        },
        ...(drain ? { nodeDrainTimeout: drain } : {}),
      },
      kubeadmConfigSpec: { clusterConfiguration: { etcd: { local: {} } } },
      rolloutStrategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1 } },
    },
  };
}

/** A pool's MachineDeployment; `version` is what its machines may run now (control plane first). */
export function desiredMachineDeployment(
  cluster: Cluster,
  md: MachineDeploymentTopology,
  release: TanzuKubernetesRelease,
  v: MachineVariables,
  version: string,
): MachineDeployment {
  const clusterName = nameOf(cluster);
  const name = topologyNames.machineDeployment(clusterName, md.name);
  const selector = {
    [CapiLabels.clusterName]: clusterName,
    [CapiLabels.deploymentName]: name,
    [TopologyLabels.owned]: "",
    [TopologyLabels.deploymentName]: md.name,
  };
  return {
    apiVersion: ClusterApiVersion,
    kind: "MachineDeployment",
    metadata: {
      name,
      namespace: cluster.metadata.namespace,
      labels: { ...md.metadata?.labels, ...selector, [NODE_POOL_LABEL]: md.name },
      ...(md.metadata?.annotations ? { annotations: md.metadata.annotations } : {}),
      ownerReferences: ownedBy(cluster),
    },
    spec: {
      clusterName,
      replicas: md.replicas ?? 1,
      selector: { matchLabels: selector },
      template: {
        metadata: {
          labels: { ...md.metadata?.labels, ...v.labels, ...selector, [NODE_POOL_LABEL]: md.name },
          annotations: {
            ...md.metadata?.annotations,
            ...vmTemplate(v, release),
            ...encodeNodeRegistration({ labels: v.labels, taints: v.taints }),
          },
        },
        spec: {
          clusterName,
          bootstrap: { dataSecretName: `${name}-bootstrap` },
          infrastructureRef: {
            apiVersion: VirtualMachineApiVersion,
            kind: "VirtualMachineClass",
            name: v.vmClass ?? "",
            namespace: cluster.metadata.namespace,
          },
          version,
          ...(md.failureDomain ? { failureDomain: md.failureDomain } : {}),
          ...(md.nodeDrainTimeout ? { nodeDrainTimeout: md.nodeDrainTimeout } : {}),
        },
      },
      strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
    },
  };
}
