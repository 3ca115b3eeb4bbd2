// The invariants a converged cluster must hold, read from the API server (never from the manager):
// each returns how many objects it checked and what violates it.
import type { V1Lease, V1Node, V1Pod } from "@kubernetes/client-node";
import { ClusterResource } from "../../controllers/api/cluster/cluster.ts";
import { type Machine, MachineResource } from "../../controllers/api/cluster/machine.ts";
import {
  type MachineDeployment,
  MachineDeploymentResource,
} from "../../controllers/api/cluster/machinedeployment.ts";
import { ESXI_HOST_LABEL } from "../../controllers/api/contracts.ts";
import {
  type KubeadmControlPlane,
  KubeadmControlPlaneResource,
} from "../../controllers/api/controlplane/kubeadmcontrolplane.ts";
import {
  type TanzuKubernetesCluster,
  TanzuKubernetesClusterResource,
} from "../../controllers/api/run/tanzukubernetescluster.ts";
import {
  type VirtualMachine,
  VirtualMachineResource,
} from "../../controllers/api/vmoperator/virtualmachine.ts";
import {
  type VirtualMachineClass,
  VirtualMachineClassResource,
} from "../../controllers/api/vmoperator/virtualmachineclass.ts";
import { VirtualMachineServiceResource } from "../../controllers/api/vmoperator/virtualmachineservice.ts";
import { type ESXiHost, ESXiHostResource } from "../../controllers/api/vsphere/esxihost.ts";
import { StorageClassBindingResource } from "../../controllers/api/vsphere/storageclassbinding.ts";
import {
  type SupervisorNamespace,
  SupervisorNamespaceResource,
} from "../../controllers/api/vsphere/supervisornamespace.ts";
import { type VSpherePod, VSpherePodResource } from "../../controllers/api/vsphere/vspherepod.ts";
import type { KubeClient, KubeObject } from "../../controllers/runtime/client.ts";
import type { ResourceType } from "../../controllers/runtime/resource.ts";
import { Leases, Namespaces, Nodes, Pods } from "../../controllers/runtime/resource.ts";
import {
  addResources,
  bytes,
  cpuMilli,
  podRequests,
  zeroResources,
} from "../../controllers/shared/quantity.ts";
import { reservationOf } from "../../controllers/vmservice/virtualmachine/decisions.ts";

export interface Verdict {
  name: string;
  checked: number;
  violations: string[];
}

type Cond = { type: string; status: string; reason?: string };
const ready = (o: { status?: { conditions?: unknown } }) =>
  (o.status?.conditions as Cond[] | undefined)?.find((c) => c.type === "Ready");
const key = (o: KubeObject) =>
  `${o.metadata?.namespace ? `${o.metadata.namespace}/` : ""}${o.metadata?.name}`;

export async function checkInvariants(client: KubeClient): Promise<Verdict[]> {
  const list = async <T extends KubeObject>(rt: ResourceType, o: { labelSelector?: string } = {}) =>
    (await client.list<T>(rt, o)).items;
  const [
    hosts,
    nodes,
    leases,
    pods,
    vpods,
    svns,
    namespaces,
    tkcs,
    clusters,
    kcps,
    mds,
    machines,
    vms,
    classes,
  ] = await Promise.all([
    list<ESXiHost>(ESXiHostResource),
    list<V1Node & KubeObject>(Nodes, { labelSelector: ESXI_HOST_LABEL }),
    list<V1Lease & KubeObject>(Leases),
    list<V1Pod & KubeObject>(Pods),
    list<VSpherePod>(VSpherePodResource),
    list<SupervisorNamespace>(SupervisorNamespaceResource),
    list<KubeObject>(Namespaces),
    list<TanzuKubernetesCluster>(TanzuKubernetesClusterResource),
    list<KubeObject>(ClusterResource),
    list<KubeadmControlPlane>(KubeadmControlPlaneResource),
    list<MachineDeployment>(MachineDeploymentResource),
    list<Machine>(MachineResource),
    list<VirtualMachine>(VirtualMachineResource),
    list<VirtualMachineClass>(VirtualMachineClassResource),
  ]);
  const vmServices = await list<KubeObject>(VirtualMachineServiceResource);
  const bindings = await list<KubeObject & { status?: { conditions?: unknown } }>(
    StorageClassBindingResource,
  );
  const hostNames = new Set(hosts.map((h) => h.metadata.name!));
  const verdicts: Verdict[] = [];
  const verdict = (name: string, checked: number, violations: string[]) =>
    verdicts.push({ name, checked, violations });

  // Every spec'd object Ready, or reporting why not.
  const notReady: string[] = [];
  for (const h of hosts) {
    const r = ready(h);
    const healthy = h.spec.simulation?.heartbeats !== false;
    if (!r || (healthy && r.status !== "True"))
      notReady.push(`ESXiHost ${key(h)}: ${r?.reason ?? "no Ready"}`);
  }
  for (const s of svns)
    if (s.status?.configStatus !== "Running")
      notReady.push(`SupervisorNamespace ${key(s)}: ${s.status?.configStatus}`);
  for (const p of vpods) {
    const r = ready(p);
    if (!r || (r.status !== "True" && !r.reason))
      notReady.push(`VSpherePod ${key(p)}: ${r?.reason ?? "no Ready"}`);
  }
  for (const t of tkcs) {
    const r = ready(t);
    if (!r || (r.status !== "True" && !r.reason) || (r.status === "True" && t.status?.phase !== "running"))
      notReady.push(`TanzuKubernetesCluster ${key(t)}: ${t.status?.phase} ${r?.reason ?? ""}`);
  }
  for (const b of bindings) if (ready(b)?.status !== "True") notReady.push(`StorageClassBinding ${key(b)}`);
  verdict(
    "every object Ready or reporting why",
    hosts.length + svns.length + vpods.length + tkcs.length + bindings.length,
    notReady,
  );

  // No orphan: every controller owner of what Pacific makes exists, with the same uid.
  const uids = new Set<string>(
    [...hosts, ...svns, ...vpods, ...tkcs, ...clusters, ...kcps, ...mds, ...machines].map(
      (o) => o.metadata!.uid!,
    ),
  );
  const owned = [
    ...nodes,
    ...namespaces.filter((n) => n.metadata?.labels?.["app.kubernetes.io/managed-by"] === "pacific"),
    ...pods.filter((p) => hostNames.has(p.spec?.nodeName ?? "")),
    ...clusters,
    ...kcps,
    ...mds,
    ...machines,
    ...vms.filter((v) => v.metadata.ownerReferences?.length),
    ...vmServices,
  ];
  const orphans = owned.flatMap((o) =>
    (o.metadata?.ownerReferences ?? [])
      .filter((r) => r.controller && !uids.has(r.uid))
      .map((r) => `${o.kind ?? ""} ${key(o)} → ${r.kind} ${r.name} (${r.uid}) is gone`),
  );
  verdict("no orphaned child", owned.length, orphans);

  // Nothing of Pacific's left in a namespace that is gone (the namespace controller can miss custom
  // resources right after a kube-apiserver restart; a namespace of the same name would revive them).
  const nsNames = new Set(namespaces.map((n) => n.metadata!.name!));
  const namespaced: KubeObject[] = [
    ...vpods,
    ...tkcs,
    ...clusters,
    ...kcps,
    ...mds,
    ...machines,
    ...vms,
    ...vmServices,
  ];
  verdict(
    "no object in a namespace that is gone",
    namespaced.length,
    namespaced.filter((o) => !nsNames.has(o.metadata!.namespace!)).map((o) => `${o.kind ?? ""} ${key(o)}`),
  );

  // No duplicate child: machine counts as asked, one VM per machine, one Node and one Lease per host.
  const dup: string[] = [];
  for (const k of kcps) {
    const n = machines.filter(
      (m) =>
        m.metadata.ownerReferences?.some((r) => r.uid === k.metadata.uid) && !m.metadata.deletionTimestamp,
    ).length;
    if (n !== k.spec.replicas)
      dup.push(`KubeadmControlPlane ${key(k)}: ${n} machines for ${k.spec.replicas}`);
  }
  for (const d of mds) {
    const n = machines.filter(
      (m) =>
        m.metadata.ownerReferences?.some((r) => r.uid === d.metadata.uid) && !m.metadata.deletionTimestamp,
    ).length;
    if (n !== d.spec.replicas) dup.push(`MachineDeployment ${key(d)}: ${n} machines for ${d.spec.replicas}`);
  }
  for (const m of machines) {
    const n = vms.filter((v) => v.metadata.ownerReferences?.some((r) => r.uid === m.metadata.uid)).length;
    if (n !== 1) dup.push(`Machine ${key(m)}: ${n} VirtualMachines`);
  }
  verdict("no duplicate child", kcps.length + mds.length + machines.length, dup);

  // Nothing stuck terminating.
  const all: KubeObject[] = [...hosts, ...svns, ...bindings, ...namespaces, ...pods, ...namespaced];
  verdict(
    "no object stuck with a deletion timestamp",
    all.length,
    all
      .filter((o) => o.metadata?.deletionTimestamp)
      .map((o) => `${o.kind ?? ""} ${key(o)} since ${o.metadata?.deletionTimestamp}`),
  );

  // Host allocations equal what is placed on them; no host over capacity.
  const classOf = (v: VirtualMachine) =>
    classes.find(
      (c) =>
        c.metadata.namespace === v.metadata.namespace &&
        c.metadata.name === (v.status?.class?.name ?? v.spec.className),
    );
  const alloc: string[] = [];
  const over: string[] = [];
  for (const h of hosts) {
    const name = h.metadata.name!;
    const podsOn = pods.filter(
      (p) => p.spec?.nodeName === name && !["Succeeded", "Failed"].includes(p.status?.phase ?? ""),
    );
    const vmsOn = vms.filter(
      (v) => v.status?.host === name && v.spec.powerState === "PoweredOn" && !v.metadata.deletionTimestamp,
    );
    let sum = podsOn.reduce((acc, p) => addResources(acc, podRequests(p.spec)), zeroResources);
    for (const v of vmsOn) sum = addResources(sum, reservationOf(classOf(v)?.spec));
    const reported = {
      cpu: cpuMilli(h.status?.allocated?.cpu ?? 0),
      memory: bytes(h.status?.allocated?.memory ?? 0),
    };
    if (reported.cpu !== sum.cpuMilli || reported.memory !== sum.memory)
      alloc.push(
        `${name}: reports ${reported.cpu}m/${reported.memory}, placed ${sum.cpuMilli}m/${sum.memory}`,
      );
    if (sum.cpuMilli > cpuMilli(h.spec.capacity.cpu) || sum.memory > bytes(h.spec.capacity.memory))
      over.push(
        `${name}: ${sum.cpuMilli}m/${sum.memory} on ${h.spec.capacity.cpu}/${h.spec.capacity.memory}`,
      );
  }
  verdict("host allocations equal the sum of what is placed", hosts.length, alloc);
  verdict("no host over capacity", hosts.length, over);

  // Exactly one Node and one Lease per ESXiHost, none without a host.
  const nl: string[] = [];
  for (const h of hosts) {
    if (nodes.filter((n) => n.metadata?.name === h.metadata.name).length !== 1)
      nl.push(`${h.metadata.name}: no Node`);
    if (
      leases.filter(
        (l) => l.metadata?.namespace === "kube-node-lease" && l.metadata?.name === h.metadata.name,
      ).length !== 1
    )
      nl.push(`${h.metadata.name}: no Lease`);
  }
  for (const n of nodes)
    if (!hostNames.has(n.metadata!.name!)) nl.push(`Node ${n.metadata?.name} without an ESXiHost`);
  verdict("one Node and one Lease per ESXiHost", hosts.length + nodes.length, nl);

  // Every pod on an ESXi node belongs to a VSpherePod that still wants it.
  const vpodUids = new Map(
    vpods.filter((v) => !v.metadata.deletionTimestamp).map((v) => [v.metadata.uid!, v]),
  );
  const strays = pods
    .filter((p) => hostNames.has(p.spec?.nodeName ?? ""))
    .filter((p) => !p.metadata?.ownerReferences?.some((r) => r.controller && vpodUids.has(r.uid)))
    .map((p) => `Pod ${key(p)} on ${p.spec?.nodeName}`);
  verdict(
    "every pod on an ESXi node wanted by a VSpherePod",
    pods.filter((p) => hostNames.has(p.spec?.nodeName ?? "")).length,
    strays,
  );
  return verdicts;
}
