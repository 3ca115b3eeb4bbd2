// Guest clusters, runtime `pods`: the hosted control plane (a StatefulSet with etcd on a PVC, a
// Secret with its certificates, a LoadBalancer Service on the VIP) cannot run here (no kubelet),
// so this suite checks what can be: the manager, as the chart's ServiceAccount with
// guestClusters.runtime=pods, applies those objects for the documentation TKC with the chart's RBAC
// and nothing more; the objects rendered for a real Cluster are accepted by the real API server
// under server-side dry run (its validation and the Supervisor Namespace's admission policies) and
// an invalid variant is refused; nothing answers at the VIP, and the status says so; deleting the
// TKC leaves none of them (the garbage collector, through their owner references).
import type { V1Secret, V1Service, V1StatefulSet } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { type Cluster, ClusterResource } from "../../controllers/api/cluster/cluster.ts";
import { GuestAnnotations } from "../../controllers/api/contracts.ts";
import {
  type KubeadmControlPlane,
  KubeadmControlPlaneResource,
} from "../../controllers/api/controlplane/kubeadmcontrolplane.ts";
import {
  type TanzuKubernetesCluster,
  TanzuKubernetesClusterResource,
} from "../../controllers/api/run/tanzukubernetescluster.ts";
import { ESXiHostResource } from "../../controllers/api/vsphere/esxihost.ts";
import { StorageClassBindingResource } from "../../controllers/api/vsphere/storageclassbinding.ts";
import { SupervisorNamespaceResource } from "../../controllers/api/vsphere/supervisornamespace.ts";
import { controlPlaneFiles, type GuestSpec } from "../../controllers/guestcluster/controlplane.ts";
import { guestNetwork } from "../../controllers/guestcluster/decide.ts";
import {
  type HostedControlPlane,
  hostedNames,
  POD_FIELD_MANAGER,
  podsLayout,
  renderHostedControlPlane,
} from "../../controllers/guestcluster/pods.ts";
import { pkiFromSecrets } from "../../controllers/guestcluster/secrets.ts";
import { KubeClient, type KubeObject } from "../../controllers/runtime/client.ts";
import { apiStatus } from "../../controllers/runtime/errors.ts";
import type { Manager } from "../../controllers/runtime/manager.ts";
import {
  PersistentVolumeClaims,
  type ResourceType,
  Secrets,
  Services,
  StatefulSets,
} from "../../controllers/runtime/resource.ts";
import { createBoundNamespace, createHosts, STORAGE } from "./fixtures/supervisor.ts";
import { LIGHT, tkcManifest } from "./fixtures/tkc.ts";
import { eventually, isNotFound, kubeConfig, uniqueName } from "./kube.ts";
import { expectNoForbidden, expectNoInvalid, managerKubeConfig, startPacific } from "./pacific.ts";
import { CHART, helm, installChart, RELEASE, RELEASE_NAMESPACE } from "./tools.ts";

const client = new KubeClient(kubeConfig());
const suffix = uniqueName("p").slice(2);
const ns = `gpods-${suffix}`;
const hosts = ["a", "b"].map((x) => `gpods-${suffix}-esx-${x}`);
let mgr: Manager;
/** The manager's own credentials: the chart's ServiceAccount. */
let asManager: KubeClient;

/** The documentation's TKC, 1 + 1 nodes of best-effort-small. */
const docTkc = (name: string): TanzuKubernetesCluster => tkcManifest({ name, namespace: ns, ...LIGHT });

const cond = (o: { status?: { conditions?: unknown } }, type: string) =>
  (o.status?.conditions as Array<{ type: string; status: string; reason?: string }> | undefined)?.find(
    (c) => c.type === type,
  );

/** Server-side apply with dryRun=All as `who`: what the API server would store, or its refusal. */
async function dryApply<T extends KubeObject>(who: KubeClient, rt: ResourceType<T>, obj: T): Promise<T> {
  const m = obj.metadata ?? {};
  return who.patch(rt, m.name ?? "", m.namespace, obj, {
    type: "apply",
    fieldManager: POD_FIELD_MANAGER,
    force: true,
    dryRun: true,
  });
}

async function refusal(p: Promise<unknown>): Promise<{ code?: number; message?: string }> {
  try {
    await p;
  } catch (e) {
    return apiStatus(e);
  }
  return {};
}

/** The ClusterRole rules of the chart rendered with `runtime`, for `group`/`resource`. */
function verbsFor(runtime: string, group: string, resource: string): string[] {
  const docs = parseAllDocuments(
    helm(
      "template",
      RELEASE,
      CHART,
      "--namespace",
      RELEASE_NAMESPACE,
      "--set",
      `guestClusters.runtime=${runtime}`,
    ),
  ).map(
    (d) =>
      d.toJS() as {
        kind?: string;
        rules?: Array<{
          apiGroups?: string[];
          resources?: string[];
          verbs: string[];
          resourceNames?: string[];
        }>;
      } | null,
  );
  return docs
    .filter((d) => d?.kind === "ClusterRole")
    .flatMap((d) => d?.rules ?? [])
    .filter((r) => !r.resourceNames && r.apiGroups?.includes(group) && r.resources?.includes(resource))
    .flatMap((r) => r.verbs)
    .sort();
}

beforeAll(async () => {
  installChart("--set", "guestClusters.runtime=pods");
  // Loopback VIPs: the controller probes the guest at its VIP, and here nothing may be dialed elsewhere.
  mgr = await startPacific({ vipPool: "127.0.101.1-127.0.101.20", guestClustersRuntime: "pods" });
  asManager = new KubeClient(managerKubeConfig());
  await createHosts(client, hosts, `gpods-${suffix}`);
  await createBoundNamespace(client, ns, ["best-effort-small"]);
});

afterAll(async () => {
  await client.delete(TanzuKubernetesClusterResource, "tkc-1", ns).catch(() => undefined);
  await eventually(
    "Cluster tkc-1 gone",
    async () =>
      client.get(ClusterResource, "tkc-1", ns).then(
        () => false,
        (e) => isNotFound(e),
      ),
    60_000,
  ).catch(() => undefined);
  await client.delete(StorageClassBindingResource, `${ns}-vsan`).catch(() => undefined);
  await client.delete(SupervisorNamespaceResource, ns).catch(() => undefined);
  for (const h of hosts) await client.delete(ESXiHostResource, h).catch(() => undefined);
  await mgr?.stop();
  installChart(); // back to the chart as every other suite uses it
});

describe("the chart's RBAC for the pods runtime", () => {
  it("grants create and patch on statefulsets and services only with guestClusters.runtime=pods", () => {
    expect(verbsFor("pods", "apps", "statefulsets")).toEqual(["create", "patch"]);
    expect(verbsFor("pods", "", "services")).toEqual(["create", "list", "patch", "watch"]);
    expect(verbsFor("pods", "", "secrets")).toEqual(["create", "list", "patch", "watch"]);
    for (const runtime of ["local", "none"]) {
      expect(verbsFor(runtime, "apps", "statefulsets"), runtime).toEqual([]);
      expect(verbsFor(runtime, "", "services"), runtime).toEqual(["list", "watch"]); // the load balancer's
    }
  });
});

describe("a TKC's hosted control plane (runtime pods)", () => {
  it("is applied by the manager, accepted under dry run, never answers here, and goes with the TKC", async () => {
    await client.create(TanzuKubernetesClusterResource, docTkc("tkc-1"));
    const cluster = await eventually(
      "Cluster tkc-1 with its endpoint",
      async () => {
        const c = await client.get<Cluster>(ClusterResource, "tkc-1", ns);
        return c.spec.controlPlaneEndpoint?.host ? c : undefined;
      },
      90_000,
    );
    const vip = cluster.spec.controlPlaneEndpoint?.host ?? "";
    expect(vip).toMatch(/^127\.0\.101\./);
    const name = hostedNames.controlPlane("tkc-1");

    // Applied by the manager once the control-plane VM is up: owned by the Cluster, the release's images.
    const sts = await eventually(
      "StatefulSet tkc-1-control-plane",
      () => client.get<V1StatefulSet>(StatefulSets, name, ns).catch(() => undefined),
      120_000,
    );
    const owner = {
      apiVersion: cluster.apiVersion,
      kind: "Cluster",
      name: "tkc-1",
      uid: cluster.metadata.uid,
    };
    expect(sts.metadata?.ownerReferences).toEqual([{ ...owner, controller: true, blockOwnerDeletion: true }]);
    expect(sts.spec?.template.spec?.containers.map((c) => c.image)).toEqual([
      "registry.k8s.io/etcd:3.5.12-0",
      "registry.k8s.io/kube-apiserver:v1.23.8",
      "registry.k8s.io/kube-controller-manager:v1.23.8",
      "registry.k8s.io/kube-scheduler:v1.23.8",
    ]);
    expect(sts.spec?.volumeClaimTemplates?.[0]?.spec?.storageClassName).toBe(STORAGE);
    expect(sts.metadata?.managedFields?.map((f) => f.manager)).toContain(POD_FIELD_MANAGER);
    const svc = await client.get<V1Service>(Services, name, ns);
    expect(svc.spec?.type).toBe("LoadBalancer");
    expect(svc.spec?.loadBalancerIP).toBe(vip);
    expect(svc.metadata?.ownerReferences?.[0]?.uid).toBe(cluster.metadata.uid);
    // Pacific's load balancer gives it the VIP its Cluster's VirtualMachineService holds (same owner).
    await eventually(
      "the Service on the VIP",
      async () =>
        (await client.get<V1Service>(Services, name, ns)).status?.loadBalancer?.ingress?.[0]?.ip === vip,
      30_000,
    );
    const certs = await client.get<V1Secret>(Secrets, hostedNames.secret("tkc-1"), ns);
    expect(Object.keys(certs.data ?? {})).toContain("apiserver.crt");

    // Nothing answers at the VIP (no kubelet runs the pod's containers): the status says not ready.
    await eventually(
      "KCP and TKC saying the guest does not answer",
      async () => {
        const kcp = await client.get<KubeadmControlPlane>(
          KubeadmControlPlaneResource,
          "tkc-1-control-plane",
          ns,
        );
        const t = await client.get<TanzuKubernetesCluster>(TanzuKubernetesClusterResource, "tkc-1", ns);
        return (
          kcp.metadata.annotations?.[GuestAnnotations.apiServerReady] === "False" &&
          cond(kcp, "Available")?.status === "False" &&
          cond(t, "GuestControlPlaneReady")?.status === "False" &&
          t.status?.guestControlPlane?.runtime === "pods"
        );
      },
      60_000,
    );

    // Rendered afresh for this Cluster (its real PKI and uid) under another name, so that the dry
    // run creates: sent as the manager, the API server validates and admits them and stores nothing.
    const secretsByName = new Map<string, V1Secret>();
    for (const part of ["ca", "etcd", "proxy", "sa"])
      secretsByName.set(`tkc-1-${part}`, await client.get<V1Secret>(Secrets, `tkc-1-${part}`, ns));
    const realPki = pkiFromSecrets("tkc-1", (n) => secretsByName.get(n));
    if (!realPki) throw new Error("tkc-1's PKI Secrets are incomplete");
    const net = guestNetwork(cluster);
    if (!net) throw new Error("tkc-1 has no endpoint");
    const spec: GuestSpec = { namespace: ns, name: "tkc-dry", ...net, pki: realPki };
    const objs: HostedControlPlane = renderHostedControlPlane({
      spec,
      owner: {
        apiVersion: cluster.apiVersion ?? "",
        kind: "Cluster",
        name: "tkc-1",
        uid: cluster.metadata.uid ?? "",
      },
      kubernetesVersion: "v1.33.1+vmware.1",
      files: await controlPlaneFiles(spec, podsLayout(spec)),
      storageClass: STORAGE,
    });
    const dryStatefulSet = await dryApply(asManager, StatefulSets, objs.statefulSet);
    expect(dryStatefulSet.metadata?.uid).toBeTruthy(); // what would have been created
    expect(dryStatefulSet.spec?.template.spec?.containers.map((c) => c.image)[1]).toBe(
      "registry.k8s.io/kube-apiserver:v1.33.1",
    );
    await dryApply(asManager, Secrets, objs.secret);
    await dryApply(asManager, Services, objs.service);
    for (const [rt, n] of [
      [StatefulSets, "tkc-dry-control-plane"],
      [Services, "tkc-dry-control-plane"],
      [Secrets, "tkc-dry-control-plane-certs"],
    ] as const)
      expect(await refusal(client.get(rt, n, ns))).toMatchObject({ code: 404 }); // dry run: not stored

    // The dry run validates: a container mounting a volume the pod does not have, and a Service
    // port out of range, are refused (422).
    const broken = structuredClone(objs.statefulSet);
    broken.spec?.template.spec?.volumes?.splice(0, 1);
    const r1 = await refusal(dryApply(asManager, StatefulSets, broken));
    expect(r1.code).toBe(422);
    expect(r1.message).toMatch(/volumeMounts.*not found|certs/);
    const badSvc = structuredClone(objs.service);
    if (badSvc.spec?.ports?.[0]) badSvc.spec.ports[0].port = 70_000;
    expect((await refusal(dryApply(asManager, Services, badSvc))).code).toBe(422);
    await expectNoForbidden(mgr);
    expectNoInvalid(mgr);

    // Deleting the TKC deletes the Cluster; the garbage collector takes what it owned.
    await client.delete(TanzuKubernetesClusterResource, "tkc-1", ns);
    await eventually(
      "the hosted control plane's objects gone",
      async () => {
        for (const [rt, n] of [
          [StatefulSets, name],
          [Services, name],
          [Secrets, hostedNames.secret("tkc-1")],
          [PersistentVolumeClaims, `etcd-data-${name}-0`],
        ] as const) {
          const gone = await client.get(rt, n, ns).then(
            () => false,
            (e) => isNotFound(e),
          );
          if (!gone) return false;
        }
        return true;
      },
      120_000,
    );
  });
});
