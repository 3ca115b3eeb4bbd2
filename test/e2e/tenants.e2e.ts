// Tenants cannot escape, starve or break each other (issue 19). Each test is one finding of the
// hostile-tenant review, played as the tenant would: users of a Supervisor Namespace impersonated
// as sso:<name>@vsphere.local with the roles its access list grants, against the real API server,
// the chart's admission policies and RBAC, and the Pacific manager as the chart's ServiceAccount.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type {
  V1LimitRange,
  V1Namespace,
  V1Node,
  V1Pod,
  V1ResourceQuota,
  V1RoleBinding,
  V1Service,
} from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Machine, MachineResource } from "../../controllers/api/cluster/machine.ts";
import {
  type MachineDeployment,
  MachineDeploymentResource,
} from "../../controllers/api/cluster/machinedeployment.ts";
import {
  type TanzuKubernetesCluster,
  TanzuKubernetesClusterResource,
} from "../../controllers/api/run/tanzukubernetescluster.ts";
import { VirtualMachineResource } from "../../controllers/api/vmoperator/virtualmachine.ts";
import {
  type VirtualMachineService,
  VirtualMachineServiceResource,
} from "../../controllers/api/vmoperator/virtualmachineservice.ts";
import { type ESXiHost, ESXiHostResource } from "../../controllers/api/vsphere/esxihost.ts";
import {
  type StorageClassBinding,
  StorageClassBindingResource,
} from "../../controllers/api/vsphere/storageclassbinding.ts";
import {
  type SupervisorNamespace,
  SupervisorNamespaceResource,
} from "../../controllers/api/vsphere/supervisornamespace.ts";
import { VSpherePodResource } from "../../controllers/api/vsphere/vspherepod.ts";
import { KubeClient, type KubeObject } from "../../controllers/runtime/client.ts";
import { apiStatus } from "../../controllers/runtime/errors.ts";
import { Informer } from "../../controllers/runtime/informer.ts";
import { silentLogger } from "../../controllers/runtime/log.ts";
import { Manager } from "../../controllers/runtime/manager.ts";
import {
  Events,
  LimitRanges,
  Namespaces,
  NetworkPolicies,
  Nodes,
  Pods,
  ResourceQuotas,
  type ResourceType,
  RoleBindings,
  Services,
  StorageClasses,
} from "../../controllers/runtime/resource.ts";
import { tkcManifest } from "./fixtures/tkc.ts";
import { eventually, kubeConfig, root, uniqueName } from "./kube.ts";
import { expectNoForbidden, managerKubeConfig, startPacific } from "./pacific.ts";
import { kubectl, RELEASE_NAMESPACE } from "./tools.ts";

const kc = kubeConfig();
const admin = new KubeClient(kc);
const as = (user: string) =>
  new KubeClient(kc, {
    impersonate: { user: `sso:${user}@vsphere.local`, groups: ["system:authenticated"] },
  });
const carol = as("carol"); // Owner
const alice = as("alice"); // Edit
const suffix = uniqueName("t").slice(2);
const team = `team-${suffix}`; // isolated, with counts
const open = `open-${suffix}`; // network isolation off, a default request above the derived limit
const foreign = `foreign-${suffix}`; // a Namespace Pacific did not make
const zone = `nowhere-${suffix}`; // no host: VSpherePods stay unplaced (no Pods)
const hostsMade: string[] = [];
const classesMade: string[] = [];
const bindingsMade: string[] = [];
const SubjectAccessReviews: ResourceType = {
  group: "authorization.k8s.io",
  version: "v1",
  plural: "subjectaccessreviews",
  kind: "SubjectAccessReview",
  namespaced: false,
};
interface SubjectAccessReview {
  apiVersion: string;
  kind: string;
  metadata: object;
  spec: { user: string; resourceAttributes: Record<string, string | undefined> };
  status?: { allowed?: boolean };
}
let mgr: Manager;

async function outcome(p: Promise<unknown>): Promise<{ code: number; message: string }> {
  try {
    await p;
    return { code: 200, message: "" };
  } catch (e) {
    const s = apiStatus(e);
    return { code: s.code, message: s.message };
  }
}

const svnsObj = (name: string, spec: object): SupervisorNamespace =>
  ({
    apiVersion: "vsphere.pacific.dev/v1alpha1",
    kind: "SupervisorNamespace",
    metadata: { name },
    spec,
  }) as SupervisorNamespace;
const access = [
  { subjectType: "User", subject: "carol", role: "Owner" },
  { subjectType: "User", subject: "alice", role: "Edit" },
  { subjectType: "User", subject: "bob", role: "View" },
];
const rb = (name: string, ns: string, subjects: object[], role = "edit") => ({
  apiVersion: "rbac.authorization.k8s.io/v1",
  kind: "RoleBinding",
  metadata: { name, namespace: ns },
  roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: role },
  subjects,
});
const user = (name: string) => ({ apiGroup: "rbac.authorization.k8s.io", kind: "User", name });
const netpol = (name: string, ns: string, ingress: object[]) => ({
  apiVersion: "networking.k8s.io/v1",
  kind: "NetworkPolicy",
  metadata: { name, namespace: ns },
  spec: { podSelector: {}, policyTypes: ["Ingress"], ingress },
});
const vpod = (name: string, ns: string) => ({
  apiVersion: "vsphere.pacific.dev/v1alpha1",
  kind: "VSpherePod",
  metadata: { name, namespace: ns },
  spec: { zone, template: { spec: { containers: [{ name: "c", image: "nginx" }] } } },
});
const running = (name: string) =>
  eventually(`${name} Running`, async () => {
    const x = await admin.get<SupervisorNamespace>(SupervisorNamespaceResource, name);
    return x.status?.configStatus === "Running" && x;
  });
const condition = (o: { status?: { conditions?: Array<{ type: string }> } }, type: string) =>
  o.status?.conditions?.find((c) => c.type === type) as
    | { type: string; status: string; reason: string; message: string }
    | undefined;

beforeAll(async () => {
  mgr = await startPacific({ podStartDelayMs: 0, podStartJitterMs: 0 });
  await admin.create(
    SupervisorNamespaceResource,
    svnsObj(team, {
      limits: { cpu: "4", memory: "8Gi" },
      objectCounts: { pods: 2 },
      access,
      podSecurity: "baseline",
    }),
  );
  await admin.create(
    SupervisorNamespaceResource,
    svnsObj(open, {
      networkIsolation: false,
      limits: { cpu: "4", memory: "8Gi" },
      defaults: { requests: { cpu: "1", memory: "1Gi" } },
      access,
    }),
  );
  await running(team);
  await running(open);
});

afterAll(async () => {
  for (const b of bindingsMade) await admin.delete(StorageClassBindingResource, b).catch(() => undefined);
  for (const n of [team, open, foreign])
    await admin.delete(SupervisorNamespaceResource, n).catch(() => undefined);
  await admin.delete(Namespaces, foreign).catch(() => undefined);
  for (const h of hostsMade) await admin.delete(ESXiHostResource, h).catch(() => undefined);
  for (const c of classesMade) await admin.delete(StorageClasses, c).catch(() => undefined);
  await mgr?.stop();
});

describe("isolation and permissions", () => {
  it("1. an Owner binds roles only to subjects of the access list (and the namespace's own ServiceAccounts)", async () => {
    const everyone = await outcome(
      carol.create(
        RoleBindings,
        rb("everyone-edits", team, [
          { apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: "system:authenticated" },
        ]),
      ),
    );
    expect(everyone.code).toBe(403);
    expect(everyone.message).toContain("may name only the subjects of its access list");
    expect(everyone.message).toContain("Group system:authenticated");
    const erin = await outcome(
      carol.create(RoleBindings, rb("erin-edits", team, [user("sso:erin@vsphere.local")])),
    );
    expect(erin.code).toBe(403);
    expect(erin.message).toContain("User sso:erin@vsphere.local");
    const otherSA = await outcome(
      carol.create(
        RoleBindings,
        rb("other-sa", team, [{ kind: "ServiceAccount", name: "default", namespace: "kube-system" }]),
      ),
    );
    expect(otherSA.code).toBe(403);
    // Within the access list, and the namespace's own ServiceAccount: the Owner's to manage.
    expect(
      (await outcome(carol.create(RoleBindings, rb("bob-edits", team, [user("sso:bob@vsphere.local")]))))
        .code,
    ).toBe(200);
    expect(
      (
        await outcome(
          carol.create(
            RoleBindings,
            rb("ci", team, [{ kind: "ServiceAccount", name: "default", namespace: team }]),
          ),
        )
      ).code,
    ).toBe(200);
    // Widening an allowed binding afterwards is refused too.
    const widened = await outcome(
      carol.patch(RoleBindings, "bob-edits", team, {
        subjects: [user("sso:bob@vsphere.local"), user("sso:mallory@vsphere.local")],
      }),
    );
    expect(widened.code).toBe(403);
    // Once the admin adds erin to the access list, the Owner may grant her a role.
    await admin.patch(SupervisorNamespaceResource, team, undefined, {
      spec: { access: [...access, { subjectType: "User", subject: "erin", role: "View" }] },
    });
    await eventually(
      "erin may be bound",
      async () =>
        (await outcome(carol.create(RoleBindings, rb("erin-edits", team, [user("sso:erin@vsphere.local")]))))
          .code === 200,
    );
    // What each role may do is the access list's again (the can-i table below).
    for (const n of ["bob-edits", "ci", "erin-edits"]) await carol.delete(RoleBindings, n, team);
  });

  it("2. what Pacific made (its RoleBindings, pacific-isolation) a tenant cannot change, unlabel, delete or imitate", async () => {
    const ours = (
      await admin.list<V1RoleBinding>(RoleBindings, {
        namespace: team,
        labelSelector: "vsphere.pacific.dev/role=edit",
      })
    ).items[0]!;
    const unlabel = await outcome(
      carol.patch(RoleBindings, ours.metadata!.name!, team, {
        metadata: { labels: { "app.kubernetes.io/managed-by": null } },
      }),
    );
    expect(unlabel.code).toBe(403);
    expect(unlabel.message).toContain("is managed by Pacific");
    expect((await outcome(carol.delete(RoleBindings, ours.metadata!.name!, team))).code).toBe(403);
    const openUp = await outcome(
      alice.patch(NetworkPolicies, "pacific-isolation", team, { spec: { ingress: [{}] } }),
    );
    expect(openUp.code).toBe(403);
    expect((await outcome(alice.delete(NetworkPolicies, "pacific-isolation", team))).code).toBe(403);
    const fake = await outcome(
      carol.create(RoleBindings, {
        ...rb("pacific-edit-fake", team, [user("sso:alice@vsphere.local")]),
        metadata: {
          name: "pacific-edit-fake",
          namespace: team,
          labels: { "app.kubernetes.io/managed-by": "pacific" },
        },
      }),
    );
    expect(fake.code).toBe(403);
    expect(fake.message).toContain("only Pacific makes objects labelled");
    type Isolation = {
      metadata: { labels?: Record<string, string> };
      spec: { ingress: Array<{ from?: unknown[] }> };
    };
    const isolation = async () =>
      (await admin.get(NetworkPolicies, "pacific-isolation", team)) as unknown as Isolation;
    expect((await isolation()).spec.ingress[0]!.from).toHaveLength(2);
    // Even an admin's unlabelling takes nothing out of Pacific's sight: it is put back, not
    // recreated (which failed with AlreadyExists, retried forever).
    await admin.patch(NetworkPolicies, "pacific-isolation", team, {
      metadata: { labels: { "app.kubernetes.io/managed-by": null } },
      spec: { ingress: [{}] },
    });
    await admin.patch(RoleBindings, ours.metadata!.name!, team, {
      metadata: { labels: { "app.kubernetes.io/managed-by": null } },
      subjects: [user("sso:mallory@vsphere.local")],
    });
    await eventually(
      "pacific-isolation restored",
      async () => {
        const np = await isolation();
        return (
          np.metadata.labels?.["app.kubernetes.io/managed-by"] === "pacific" &&
          np.spec.ingress[0]?.from?.length === 2
        );
      },
      40_000,
    );
    await eventually(
      "the RoleBinding restored",
      async () => {
        const b = await admin.get<V1RoleBinding>(RoleBindings, ours.metadata!.name!, team);
        return (
          b.metadata?.labels?.["app.kubernetes.io/managed-by"] === "pacific" &&
          b.subjects?.[0]?.name === ours.subjects?.[0]?.name
        );
      },
      40_000,
    );
  });

  it("3. in an isolated namespace a tenant's NetworkPolicy admits only the namespace's own pods", async () => {
    const refused: Array<[string, object[]]> = [
      ["allow-all", [{}]],
      ["from-everywhere-namespaces", [{ from: [{ namespaceSelector: {} }] }]],
      [
        "from-kube-system",
        [
          {
            from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } } }],
          },
        ],
      ],
      ["from-addresses", [{ from: [{ ipBlock: { cidr: "0.0.0.0/0" } }] }]],
      ["ports-only", [{ ports: [{ port: 80 }] }]],
    ];
    for (const [name, ingress] of refused) {
      const r = await outcome(alice.create(NetworkPolicies, netpol(name, team, ingress)));
      expect(r.code, name).toBe(403);
      expect(r.message, name).toContain("is network-isolated by your vSphere admin");
    }
    const allowed: Array<[string, object[]]> = [
      ["web-from-app", [{ from: [{ podSelector: { matchLabels: { app: "web" } } }] }]],
      [
        "from-own-namespace",
        [{ from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": team } } }] }],
      ],
      ["deny-all", []],
    ];
    for (const [name, ingress] of allowed)
      expect((await outcome(alice.create(NetworkPolicies, netpol(name, team, ingress)))).code, name).toBe(
        200,
      );
    // Where the admin turned isolation off, the namespace's network is the tenants' to open.
    expect((await outcome(alice.create(NetworkPolicies, netpol("allow-all", open, [{}])))).code).toBe(200);
  });

  it("4. a host in maintenance mode admits nothing new, even a pod bound to it by hand", async () => {
    const host = `maint-${suffix}`;
    hostsMade.push(host);
    await admin.create(ESXiHostResource, {
      apiVersion: "vsphere.pacific.dev/v1alpha1",
      kind: "ESXiHost",
      metadata: { name: host },
      spec: { zone, capacity: { cpu: 8, memory: "32Gi" }, maintenanceMode: true },
    });
    await eventually(
      "its Node, cordoned",
      async () => (await admin.get<V1Node>(Nodes, host)).spec?.unschedulable === true,
    );
    // Every state the pod passes through (a watch sees each write): the host's evacuation may also
    // evict it, so what matters is that it never runs, and is rejected with the reason if it stays.
    const seen: V1Pod[] = [];
    const watch = new Informer<V1Pod & KubeObject>(Pods, admin, silentLogger, {
      namespace: team,
      fieldSelector: "metadata.name=by-hand",
      resyncMs: 0,
    });
    watch.addHandler({ add: (p) => seen.push(p), update: (_o, p) => seen.push(p) });
    watch.start();
    try {
      await watch.waitForSync();
      await alice.create(Pods, {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "by-hand", namespace: team },
        spec: { nodeName: host, containers: [{ name: "c", image: "nginx" }] },
      });
      await eventually(
        "rejected by the host, or evicted",
        async () =>
          seen.some((p) => p.status?.phase === "Failed") ||
          (await outcome(admin.get(Pods, "by-hand", team))).code === 404,
      );
      await new Promise((r) => setTimeout(r, 2_000)); // nothing runs it later either
      expect(seen.map((p) => p.status?.phase ?? "")).not.toContain("Running");
      expect(seen.some((p) => p.status?.containerStatuses?.some((c) => c.state?.running))).toBe(false);
      const failed = seen.find((p) => p.status?.phase === "Failed");
      if (failed) {
        expect(failed.status?.reason).toBe("HostInMaintenanceMode");
        expect(failed.status?.message).toContain("maintenance mode");
      }
    } finally {
      watch.stop();
      await admin.delete(Pods, "by-hand", team, { gracePeriodSeconds: 0 }).catch(() => undefined);
    }
  });
});

describe("exhaustion", () => {
  it("7. the namespace's quota counts VSpherePods: the API server refuses one past objectCounts.pods", async () => {
    await eventually(
      "the quota counts VSpherePods",
      async () => {
        // Until the quota controller has counted them, the API server refuses every VSpherePod (a
        // quota made before kube-controller-manager discovered the kind waits for its resync).
        const q = await admin.get<V1ResourceQuota>(ResourceQuotas, "pacific-limits", team);
        return (
          q.status?.hard?.["count/vspherepods.vsphere.pacific.dev"] === "2" &&
          q.status?.used?.["count/vspherepods.vsphere.pacific.dev"] !== undefined
        );
      },
      90_000,
      1000,
    );
    for (const n of ["v1", "v2"]) await alice.create(VSpherePodResource, vpod(n, team));
    const third = await outcome(alice.create(VSpherePodResource, vpod("v3", team)));
    expect(third.code).toBe(403);
    expect(third.message).toContain("exceeded quota: pacific-limits");
    expect(third.message).toContain("count/vspherepods.vsphere.pacific.dev");
  });
});

describe("a cluster held back by the namespace's quota", () => {
  it("8. a TKC past objectCounts.virtualMachines names the quota in its Machines', MachineDeployment's and own conditions (QuotaExceeded) and events", async () => {
    const vmq = `vmq-${suffix}`;
    const storage = "vsan-default-storage-policy";
    // A host for the VMs the quota allows (its own zone: no VSpherePod of this suite lands there), so
    // that the control plane runs and the node pool's quota is what holds the cluster back.
    const vmHost = `vmq-${suffix}`;
    hostsMade.push(vmHost);
    await admin.create(ESXiHostResource, {
      apiVersion: "vsphere.pacific.dev/v1alpha1",
      kind: "ESXiHost",
      metadata: { name: vmHost },
      spec: { zone: `vmq-${suffix}`, capacity: { cpu: 16, memory: "64Gi" } },
    });
    await admin.create(
      SupervisorNamespaceResource,
      svnsObj(vmq, { vmClasses: ["best-effort-small"], objectCounts: { virtualMachines: 2 }, access }),
    );
    bindingsMade.push(`${vmq}-vsan`);
    await admin.create(StorageClassBindingResource, {
      apiVersion: "vsphere.pacific.dev/v1alpha1",
      kind: "StorageClassBinding",
      metadata: { name: `${vmq}-vsan` },
      spec: { namespace: vmq, storageClass: storage, limit: "1Ti" },
    });
    try {
      await running(vmq);
      await eventually(
        "the quota counts VirtualMachines",
        async () => {
          const q = await admin.get<V1ResourceQuota>(ResourceQuotas, "pacific-limits", vmq);
          return q.status?.used?.["count/virtualmachines.vmoperator.vmware.com"] !== undefined;
        },
        90_000,
        1000,
      );
      await eventually("the namespace bound to its storage", async () =>
        (await admin.get<KubeObject>(Namespaces, vmq)).metadata?.annotations?.[
          "vsphere.pacific.dev/storage-classes"
        ]?.includes(storage),
      );
      // 1 control plane + 3 workers in a namespace of 2 VMs: two Machines can never get a VM.
      await alice.create(
        TanzuKubernetesClusterResource,
        tkcManifest({
          name: "big",
          namespace: vmq,
          controlPlane: 1,
          vmClass: "best-effort-small",
          storageClass: storage,
          pools: [{ name: "workers", replicas: 3 }],
          settings: "none",
        }),
      );
      const quotaHeld = (c: { reason: string; message: string } | undefined) =>
        c?.reason === "QuotaExceeded" &&
        c.message.includes("exceeded quota: pacific-limits") &&
        c.message.includes("count/virtualmachines.vmoperator.vmware.com");
      const held = await eventually(
        "a Machine reports the refused VM",
        async () => {
          const ms = await admin.list<Machine>(MachineResource, { namespace: vmq });
          return ms.items.find((m) => quotaHeld(condition(m, "InfrastructureReady")));
        },
        90_000,
      );
      expect(condition(held, "InfrastructureReady")?.status).toBe("False");
      expect(held.status?.phase).toBe("Pending");
      await eventually("the MachineDeployment's Ready names the quota", async () =>
        quotaHeld(
          condition(
            await admin.get<MachineDeployment>(MachineDeploymentResource, "big-workers", vmq),
            "Ready",
          ),
        ),
      );
      const tkc = await eventually("the TKC's NodePoolsReady and Ready name the quota", async () => {
        const t = await admin.get<TanzuKubernetesCluster>(TanzuKubernetesClusterResource, "big", vmq);
        return quotaHeld(condition(t, "NodePoolsReady")) && quotaHeld(condition(t, "Ready")) && t;
      });
      expect(condition(tkc, "NodePoolsReady")?.message).toContain("node pool workers");
      const events = await eventually("QuotaExceeded events on the Machine and the TKC", async () => {
        const list = await admin.list<
          KubeObject & { reason?: string; note?: string; regarding?: { kind?: string; name?: string } }
        >(Events, { namespace: vmq });
        const quota = list.items.filter((e) => e.reason === "QuotaExceeded");
        const kinds = new Set(quota.map((e) => e.regarding?.kind));
        return kinds.has("Machine") && kinds.has("TanzuKubernetesCluster") && quota;
      });
      expect(events.every((e) => e.note?.includes("exceeded quota: pacific-limits"))).toBe(true);
      // Only the two VMs the quota allows exist.
      expect((await admin.list(VirtualMachineResource, { namespace: vmq })).items).toHaveLength(2);
    } finally {
      await admin.delete(TanzuKubernetesClusterResource, "big", vmq).catch(() => undefined);
      await eventually(
        "the TKC gone",
        () =>
          admin.get(TanzuKubernetesClusterResource, "big", vmq).then(
            () => false,
            (e: unknown) => apiStatus(e).code === 404,
          ),
        90_000,
      );
      await admin.delete(SupervisorNamespaceResource, vmq).catch(() => undefined);
      await admin.delete(ESXiHostResource, vmHost).catch(() => undefined);
    }
  });
});

describe("one VIP, one holder", () => {
  it("6. a Service asking for the VIP another tenant's VirtualMachineService holds does not get it", async () => {
    for (const ns of [team, open])
      await eventually(
        `${ns}'s quota counts LoadBalancer Services`,
        async () =>
          (await admin.get<V1ResourceQuota>(ResourceQuotas, "pacific-limits", ns)).status?.used?.[
            "services.loadbalancers"
          ] !== undefined,
      );
    await alice.create(VirtualMachineServiceResource, {
      apiVersion: "vmoperator.vmware.com/v1alpha3",
      kind: "VirtualMachineService",
      metadata: { name: "lb", namespace: team },
      spec: {
        type: "LoadBalancer",
        selector: { app: "x" },
        ports: [{ name: "https", protocol: "TCP", port: 443, targetPort: 6443 }],
      },
    });
    const vip = await eventually("the VM service's VIP", async () => {
      const x = await admin.get<VirtualMachineService>(VirtualMachineServiceResource, "lb", team);
      return x.status?.loadBalancer?.ingress?.[0]?.ip;
    });
    await alice.create(Services, {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "steal", namespace: open },
      spec: { type: "LoadBalancer", loadBalancerIP: vip, selector: { app: "y" }, ports: [{ port: 443 }] },
    });
    const ev = await eventually("refused with an event", async () => {
      const list = await admin.list<
        KubeObject & { reason?: string; note?: string; regarding?: { name?: string } }
      >(Events, {
        namespace: open,
      });
      return list.items.find((e) => e.regarding?.name === "steal" && e.reason === "VIPPoolExhausted");
    });
    expect(ev.note).toContain(`loadBalancerIP ${vip} is held by another`);
    const svc = await admin.get<V1Service>(Services, "steal", open);
    expect(svc.status?.loadBalancer?.ingress ?? []).toEqual([]);
    const held = await admin.get<VirtualMachineService>(VirtualMachineServiceResource, "lb", team);
    expect(held.status?.loadBalancer?.ingress?.[0]?.ip).toBe(vip);
  });
});

describe("VIPs per namespace", () => {
  it("5. a namespace holds at most objectCounts.loadBalancers VIPs of each kind (16 LoadBalancer Services by default); the API server refuses the next", async () => {
    const rq = await admin.get<V1ResourceQuota>(ResourceQuotas, "pacific-limits", open);
    expect(rq.spec?.hard).toMatchObject({ "services.loadbalancers": "16" });
    // VM services are counted only when the admin sets the limit (a count of a custom kind would
    // refuse them until kube-controller-manager discovered the kind).
    expect(rq.spec?.hard).not.toHaveProperty("count/virtualmachineservices.vmoperator.vmware.com");
    await admin.patch(SupervisorNamespaceResource, open, undefined, {
      spec: { objectCounts: { loadBalancers: 1 } },
    });
    await eventually(
      "the quota at 1, counted",
      async () => {
        const q = await admin.get<V1ResourceQuota>(ResourceQuotas, "pacific-limits", open);
        return (
          q.status?.hard?.["services.loadbalancers"] === "1" &&
          q.status?.used?.["services.loadbalancers"] === "1" &&
          q.status?.used?.["count/virtualmachineservices.vmoperator.vmware.com"] !== undefined
        );
      },
      90_000,
      500,
    );
    const lbService = (name: string) => ({
      apiVersion: "v1",
      kind: "Service",
      metadata: { name, namespace: open },
      spec: { type: "LoadBalancer", selector: { app: "y" }, ports: [{ port: 80 }] },
    });
    const second = await outcome(alice.create(Services, lbService("second")));
    expect(second.code).toBe(403);
    expect(second.message).toContain("exceeded quota: pacific-limits");
    expect(second.message).toContain("services.loadbalancers");
    const vmService = (name: string) => ({
      apiVersion: "vmoperator.vmware.com/v1alpha3",
      kind: "VirtualMachineService",
      metadata: { name, namespace: open },
      spec: {
        type: "LoadBalancer",
        selector: { app: "x" },
        ports: [{ name: "https", protocol: "TCP", port: 443, targetPort: 6443 }],
      },
    });
    expect((await outcome(alice.create(VirtualMachineServiceResource, vmService("one")))).code).toBe(200);
    const two = await outcome(alice.create(VirtualMachineServiceResource, vmService("two")));
    expect(two.code).toBe(403);
    expect(two.message).toContain("count/virtualmachineservices.vmoperator.vmware.com");
  });
});

describe("defaults a child would be refused for", () => {
  it("11. a default request above the derived default limit raises that limit: the LimitRange is made, the namespace Ready", async () => {
    const lr = await eventually(
      "LimitRange made",
      () => admin.get<V1LimitRange>(LimitRanges, "pacific-defaults", open),
      30_000,
    );
    // (the JSON key is "default"; client-node's model calls it _default)
    const item = lr.spec?.limits?.[0] as unknown as Record<string, unknown>;
    expect(item).toMatchObject({
      default: { cpu: "1", memory: "1Gi" },
      defaultRequest: { cpu: "1", memory: "1Gi" },
    });
    const s = await admin.get<SupervisorNamespace>(SupervisorNamespaceResource, open);
    expect(condition(s, "Ready")?.status).toBe("True");
  });
});

describe("consistency", () => {
  it("13. a StorageClass of another provisioner is not bound as a vSphere storage policy", async () => {
    const local = `local-${suffix}`;
    classesMade.push(local);
    bindingsMade.push(`${team}-${local}`);
    await admin.create(StorageClasses, {
      apiVersion: "storage.k8s.io/v1",
      kind: "StorageClass",
      metadata: { name: local },
      provisioner: "kubernetes.io/no-provisioner",
    });
    await admin.create(StorageClassBindingResource, {
      apiVersion: "vsphere.pacific.dev/v1alpha1",
      kind: "StorageClassBinding",
      metadata: { name: `${team}-${local}` },
      spec: { namespace: team, storageClass: local, limit: "10Gi" },
    });
    const b = await eventually("binding reported", async () => {
      const x = await admin.get<StorageClassBinding>(StorageClassBindingResource, `${team}-${local}`);
      return condition(x, "Bound") && x;
    });
    expect(condition(b, "Bound")).toMatchObject({ status: "False", reason: "NotVSphereStorageClass" });
    expect(condition(b, "Bound")?.message).toContain("kubernetes.io/no-provisioner");
    expect((await outcome(admin.get(ResourceQuotas, `pacific-storage-${local}`, team))).code).toBe(404);
    const ns = await admin.get<V1Namespace>(Namespaces, team);
    expect(ns.metadata?.annotations?.["vsphere.pacific.dev/storage-classes"]?.split(",")).not.toContain(
      local,
    );
  });

  it("12. a binding to a Namespace Pacific refused to adopt writes nothing into it", async () => {
    await admin.create(Namespaces, { apiVersion: "v1", kind: "Namespace", metadata: { name: foreign } });
    await admin.create(SupervisorNamespaceResource, svnsObj(foreign, {}));
    await eventually(
      "NamespaceConflict",
      async () =>
        condition(await admin.get<SupervisorNamespace>(SupervisorNamespaceResource, foreign), "Ready")
          ?.reason === "NamespaceConflict",
    );
    const gold = `gold-${suffix}`;
    classesMade.push(gold);
    bindingsMade.push(`${foreign}-${gold}`);
    await admin.create(StorageClassBindingResource, {
      apiVersion: "vsphere.pacific.dev/v1alpha1",
      kind: "StorageClassBinding",
      metadata: { name: `${foreign}-${gold}` },
      spec: { namespace: foreign, storageClass: gold, limit: "10Gi" },
    });
    const b = await eventually("binding reported", async () => {
      const x = await admin.get<StorageClassBinding>(StorageClassBindingResource, `${foreign}-${gold}`);
      return condition(x, "Bound") && x;
    });
    expect(condition(b, "Bound")).toMatchObject({ status: "False", reason: "NamespaceNotOwned" });
    expect((await admin.list(ResourceQuotas, { namespace: foreign })).items).toEqual([]);
  });

  it("14. a host given another host's pod CIDR or management IP gets no Node and says why; it registers once the other is gone", async () => {
    const [first, sameCIDR, sameIP] = ["a", "b", "c"].map((x) => `addr-${x}-${suffix}`) as [
      string,
      string,
      string,
    ];
    hostsMade.push(first, sameCIDR, sameIP);
    const host = (name: string, podCIDR: string, managementIP: string): ESXiHost => ({
      apiVersion: "vsphere.pacific.dev/v1alpha1",
      kind: "ESXiHost",
      metadata: { name },
      // A zone of their own: no VSpherePod of this suite lands on them.
      spec: {
        zone: `addr-${suffix}`,
        capacity: { cpu: 8, memory: "32Gi" },
        podCIDR,
        managementIP,
      } as ESXiHost["spec"],
    });
    await admin.create(ESXiHostResource, host(first, "10.250.7.0/24", "10.251.0.7"));
    await eventually("the first host Ready", async () => {
      const h = await admin.get<ESXiHost>(ESXiHostResource, first);
      return condition(h, "Ready")?.status === "True";
    });
    await admin.create(ESXiHostResource, host(sameCIDR, "10.250.7.128/25", "10.251.0.8"));
    await admin.create(ESXiHostResource, host(sameIP, "10.250.8.0/24", "10.251.0.7"));
    for (const [name, reason, says] of [
      [sameCIDR, "PodCIDRConflict", "overlaps 10.250.7.0/24"],
      [sameIP, "ManagementIPConflict", "10.251.0.7"],
    ] as const) {
      const h = await eventually(`${name} reported`, async () => {
        const x = await admin.get<ESXiHost>(ESXiHostResource, name);
        return condition(x, "Ready")?.reason === reason && x;
      });
      expect(condition(h, "Ready")?.status).toBe("False");
      expect(condition(h, "Ready")?.message).toContain(says);
      expect(condition(h, "Ready")?.message).toContain(first);
      expect((await outcome(admin.get(Nodes, name))).code).toBe(404);
    }
    await admin.delete(ESXiHostResource, first);
    await eventually(
      "the later host registered",
      async () => (await admin.get<V1Node>(Nodes, sameCIDR)).spec?.podCIDR === "10.250.7.128/25",
      60_000,
    );
  });
});

/** `kubectl auth can-i --list` as rows `resource [names]` → sorted verbs. */
function canIList(who: string, ns: string): Map<string, string> {
  const out = kubectl([
    "auth",
    "can-i",
    "--list",
    "-n",
    ns,
    "--as",
    `sso:${who}@vsphere.local`,
    "--as-group",
    "system:authenticated",
  ]);
  const rows = new Map<string, string>();
  for (const line of out.trim().split("\n").slice(1)) {
    // Resources  Non-Resource URLs  Resource Names  Verbs — columns of at least two spaces.
    const [resource, urls, names, verbs] = line.trimEnd().split(/\s{2,}/);
    const key = `${resource || urls}${names && names !== "[]" ? ` ${names}` : ""}`;
    rows.set(
      key,
      verbs!
        .replace(/^\[|\]$/g, "")
        .split(" ")
        .filter(Boolean)
        .sort()
        .join(" "),
    );
  }
  return rows;
}

/** The table of docs/security.md between its can-i markers: resource → verbs of Owner, Edit, View. */
function documentedCanI(): Record<"carol" | "alice" | "bob", Map<string, string>> {
  const doc = readFileSync(join(root, "docs", "security.md"), "utf8");
  const table = doc.slice(doc.indexOf("<!-- can-i:begin -->"), doc.indexOf("<!-- can-i:end -->"));
  const roles = {
    carol: new Map<string, string>(),
    alice: new Map<string, string>(),
    bob: new Map<string, string>(),
  };
  for (const line of table.split("\n").filter((l) => l.startsWith("| `"))) {
    const [resource, owner, edit, view] = line
      .split("|")
      .slice(1, 5)
      .map((c) => c.trim().replace(/`/g, ""));
    const sorted = (v: string) =>
      v
        .split(" ")
        .filter((x) => x && x !== "—")
        .sort()
        .join(" ");
    for (const [who, verbs] of [
      ["carol", owner],
      ["alice", edit],
      ["bob", view],
    ] as const)
      if (sorted(verbs!)) roles[who].set(resource!, sorted(verbs!));
  }
  return roles;
}

describe("what each role may do", () => {
  it("kubectl auth can-i --list as Owner, Edit and View is the table of docs/security.md", () => {
    const doc = documentedCanI();
    const actual = {
      carol: canIList("carol", team),
      alice: canIList("alice", team),
      bob: canIList("bob", team),
    };
    // The table as it is, in the document's form: test-results/can-i.md (to update the document from).
    const keys = [...new Set([...actual.carol.keys(), ...actual.alice.keys(), ...actual.bob.keys()])].sort();
    const cell = (m: Map<string, string>, k: string) => m.get(k) ?? "—";
    mkdirSync(join(root, "test-results"), { recursive: true });
    writeFileSync(
      join(root, "test-results", "can-i.md"),
      `${keys.map((k) => `| \`${k}\` | ${cell(actual.carol, k)} | ${cell(actual.alice, k)} | ${cell(actual.bob, k)} |`).join("\n")}\n`,
    );
    for (const who of ["carol", "alice", "bob"] as const) {
      expect(
        Object.fromEntries([...actual[who]].sort()),
        `${who} (test-results/can-i.md has the table)`,
      ).toEqual(Object.fromEntries([...doc[who]].sort()));
    }
  });
});

describe("the manager itself", () => {
  it("16. reads no Secret: its ServiceAccount may create Secrets, not get, list or watch them", async () => {
    const sa = `system:serviceaccount:${RELEASE_NAMESPACE}:pacific`;
    const may = async (verb: string, namespace?: string) =>
      (
        await admin.create<SubjectAccessReview>(SubjectAccessReviews, {
          apiVersion: "authorization.k8s.io/v1",
          kind: "SubjectAccessReview",
          metadata: {},
          spec: { user: sa, resourceAttributes: { verb, resource: "secrets", version: "v1", namespace } },
        })
      ).status?.allowed === true;
    for (const verb of ["get", "list", "watch", "update", "patch", "delete"]) {
      expect(await may(verb), `${verb} secrets cluster-wide`).toBe(false);
      expect(await may(verb, team), `${verb} secrets in ${team}`).toBe(false);
    }
    expect(await may("create", team)).toBe(true);
  });

  it("15. served securely, /metrics answers only a token allowed get /metrics; the probes answer everyone", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pacific-tls-"));
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        join(dir, "tls.key"),
        "-out",
        join(dir, "tls.crt"),
      ],
      { stdio: "pipe" },
    );
    const secure = new Manager({
      kubeConfig: managerKubeConfig(),
      name: "pacific-e2e-secure",
      leaderElection: false,
      bindAddress: "127.0.0.1:0",
      logger: silentLogger,
      secureServing: { cert: readFileSync(join(dir, "tls.crt")), key: readFileSync(join(dir, "tls.key")) },
    });
    await secure.start();
    const get = (path: string, token?: string) =>
      new Promise<{ code: number; body: string }>((resolve, reject) => {
        const req = httpsRequest(
          {
            host: "127.0.0.1",
            port: secure.address!.port,
            path,
            rejectUnauthorized: false,
            headers: token ? { Authorization: `Bearer ${token}` } : {},
          },
          (res) => {
            let body = "";
            res.on("data", (c) => (body += c));
            res.on("end", () => resolve({ code: res.statusCode ?? 0, body }));
          },
        );
        req.on("error", reject);
        req.end();
      });
    const reader = `metrics-reader-${suffix}`;
    const nobody = `metrics-nobody-${suffix}`;
    try {
      for (const sa of [reader, nobody]) kubectl(["-n", team, "create", "serviceaccount", sa]);
      kubectl([
        "create",
        "clusterrolebinding",
        reader,
        "--clusterrole=pacific-metrics-reader",
        `--serviceaccount=${team}:${reader}`,
      ]);
      const token = (sa: string) => kubectl(["-n", team, "create", "token", sa]).trim();
      expect((await get("/healthz")).code).toBe(200);
      expect((await get("/readyz")).code).toBe(200);
      expect((await get("/metrics")).code).toBe(401);
      expect((await get("/metrics", "not-a-token")).code).toBe(401);
      const denied = await get("/metrics", token(nobody));
      expect(denied.code).toBe(403);
      expect(denied.body).toContain(`system:serviceaccount:${team}:${nobody} may not get /metrics`);
      const ok = await eventually("the reader reads /metrics", async () => {
        const r = await get("/metrics", token(reader));
        return r.code === 200 && r;
      });
      expect(ok.body).toMatch(/^process_cpu_seconds_total /m);
    } finally {
      await secure.stop();
      kubectl(["delete", "clusterrolebinding", reader, "--ignore-not-found"]);
    }
  });

  it("was never refused by the API server (the chart's RBAC covers every request)", async () => {
    await expectNoForbidden(mgr);
  });
});
