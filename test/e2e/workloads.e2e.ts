// Every workload in a Supervisor Namespace runs as vSphere Pods: Deployments, StatefulSets, Jobs and a
// Helm chart, with nothing Pacific-specific in them, placed by the real kube-scheduler on ESXi hosts
// through the chart's MutatingAdmissionPolicy; the real ReplicaSet, StatefulSet, Job, EndpointSlice,
// PV binder and taint-eviction controllers do the rest. The suite's hosts sit in two zones of their
// own, and its workloads select those zones with the standard zone label.
import { join } from "node:path";
import type { V1Job, V1Node, V1PersistentVolumeClaim, V1Pod, V1Service } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ESXiHost, ESXiHostResource } from "../../controllers/api/vsphere/esxihost.ts";
import { StorageClassBindingResource } from "../../controllers/api/vsphere/storageclassbinding.ts";
import {
  type SupervisorNamespace,
  SupervisorNamespaceResource,
} from "../../controllers/api/vsphere/supervisornamespace.ts";
import { KubeClient, type KubeObject } from "../../controllers/runtime/client.ts";
import type { Manager } from "../../controllers/runtime/manager.ts";
import {
  Namespaces,
  Nodes,
  PersistentVolumeClaims,
  Pods,
  type ResourceType,
  Services,
} from "../../controllers/runtime/resource.ts";
import { cpuMilli } from "../../controllers/shared/quantity.ts";
import { eventually, kubeConfig, root, uniqueName } from "./kube.ts";
import { expectNoForbidden, startPacific } from "./pacific.ts";
import { helmAsync } from "./tools.ts";

const client = new KubeClient(kubeConfig());
const suffix = uniqueName("w").slice(2);
const zoneA = `wa-${suffix}`;
const zoneB = `wb-${suffix}`;
const hostsA = [1, 2, 3].map((i) => `${zoneA}-esx-${i}`);
const hostsB = [1, 2, 3].map((i) => `${zoneB}-esx-${i}`);
const ns = `wl-${suffix}`;
const plain = `plain-${suffix}`;
const gold = `wl-gold-${suffix}`;
const owner = `owner-${suffix}`;
const viewer = `viewer-${suffix}`;
const FIXTURE = join(root, "test", "e2e", "fixtures", "webapp");
// The chart's defaults (charts/pacific/values.yaml, workloads.*).
const OVERHEAD = { cpu: "100m", memory: "128Mi" };
const HOST_FAILURE_TOLERATION_SECONDS = 10;
const NODE_MONITOR_GRACE_MS = 50_000;

const rt = (group: string, version: string, plural: string, kind: string): ResourceType => ({
  group,
  version,
  plural,
  kind,
  namespaced: true,
});
const Deployments = rt("apps", "v1", "deployments", "Deployment");
const StatefulSets = rt("apps", "v1", "statefulsets", "StatefulSet");
const Jobs = rt("batch", "v1", "jobs", "Job");
const EndpointSlices = rt("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice");
interface Workload extends KubeObject {
  spec?: { replicas?: number };
  status?: { readyReplicas?: number; availableReplicas?: number };
}
interface EndpointSlice {
  endpoints?: Array<{ addresses: string[]; conditions?: { ready?: boolean } }>;
}

let mgr: Manager;

const hostObj = (name: string, zone: string): ESXiHost => ({
  apiVersion: "vsphere.pacific.dev/v1alpha1",
  kind: "ESXiHost",
  metadata: { name },
  spec: {
    clusterName: "cluster-wl",
    zone,
    capacity: { cpu: 4, memory: "16Gi", pods: 110 },
    maintenanceMode: false,
  },
});

// The restricted Pod Security level, which Supervisor Namespaces enforce.
const podSecurity = { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: "RuntimeDefault" } };
const container = (name: string, cpu = "100m") => ({
  name,
  image: "nginx:1.27",
  securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
  resources: { requests: { cpu, memory: "64Mi" } },
});
/** The standard way to keep a workload in the suite's zones (nothing Pacific-specific). */
const inZones = (...zones: string[]) => ({
  nodeAffinity: {
    requiredDuringSchedulingIgnoredDuringExecution: {
      nodeSelectorTerms: [
        { matchExpressions: [{ key: "topology.kubernetes.io/zone", operator: "In", values: zones }] },
      ],
    },
  },
});

const deployment = (name: string, replicas: number, spec: object) => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name, namespace: ns },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: { securityContext: podSecurity, containers: [container("app")], ...spec },
    },
  },
});

const listPods = async (namespace = ns) => (await client.list<V1Pod>(Pods, { namespace })).items;
const live = (p: V1Pod) => !p.metadata?.deletionTimestamp;
const terminal = (p: V1Pod) => ["Succeeded", "Failed"].includes(p.status?.phase ?? "");
const running = (p: V1Pod) =>
  live(p) &&
  p.status?.phase === "Running" &&
  p.status.conditions?.some((c) => c.type === "Ready" && c.status === "True");
const podsOf = async (app: string) => (await listPods()).filter((p) => p.metadata?.labels?.app === app);
const countOn = (pods: V1Pod[], hosts: string[]) =>
  hosts.map((h) => pods.filter((p) => p.spec?.nodeName === h).length);
const getHost = (name: string) => client.get<ESXiHost>(ESXiHostResource, name);
const nodeReady = (n: V1Node) => n.status?.conditions?.find((c) => c.type === "Ready")?.status === "True";
/**
 * Ready as the scheduler sees it: the API server's NodeTaint admission gives every new Node
 * node.kubernetes.io/not-ready:NoSchedule, which the controller-manager lifts some time after Ready
 * (seconds at load); until then the scheduler puts nothing there (CI once saw all 6 pods on one host).
 */
const schedulable = (n: V1Node) =>
  nodeReady(n) &&
  !n.spec?.taints?.some(
    (t) => t.key === "node.kubernetes.io/not-ready" || t.key === "node.kubernetes.io/unreachable",
  );

async function runningPods(app: string, n: number, timeoutMs = 60_000): Promise<V1Pod[]> {
  return eventually(
    `${n} ${app} pods Running`,
    async () => {
      const p = (await podsOf(app)).filter(running);
      return p.length === n && p;
    },
    timeoutMs,
  );
}

beforeAll(async () => {
  mgr = await startPacific();
  for (const h of hostsA) await client.create(ESXiHostResource, hostObj(h, zoneA));
  for (const h of hostsB) await client.create(ESXiHostResource, hostObj(h, zoneB));
  await client.create(SupervisorNamespaceResource, {
    apiVersion: "vsphere.pacific.dev/v1alpha1",
    kind: "SupervisorNamespace",
    metadata: { name: ns },
    spec: {
      access: [
        { subjectType: "User", subject: owner, role: "Owner" },
        { subjectType: "User", subject: viewer, role: "View" },
      ],
    },
  } as SupervisorNamespace);
  await client.create(StorageClassBindingResource, {
    apiVersion: "vsphere.pacific.dev/v1alpha1",
    kind: "StorageClassBinding",
    metadata: { name: `${ns}-${gold}` },
    spec: { namespace: ns, storageClass: gold, limit: "100Gi" },
  });
  await client.create(Namespaces, { apiVersion: "v1", kind: "Namespace", metadata: { name: plain } });
  for (const h of [...hostsA, ...hostsB])
    await eventually(
      `node ${h} schedulable`,
      async () => schedulable(await client.get<V1Node>(Nodes, h)),
      60_000,
    );
  await eventually(
    "Supervisor Namespace Running with its storage class",
    async () => {
      const s = await client.get<SupervisorNamespace>(SupervisorNamespaceResource, ns);
      const n = await client.get<{ metadata: { annotations?: Record<string, string> } }>(Namespaces, ns);
      return (
        s.status?.configStatus === "Running" &&
        (n.metadata.annotations?.["vsphere.pacific.dev/storage-classes"] ?? "").split(",").includes(gold)
      );
    },
    60_000,
  );
});

afterAll(async () => {
  await helmAsync("uninstall", "shop", "-n", ns, "--wait", "--timeout", "60s").catch(() => "not installed");
  await client.delete(SupervisorNamespaceResource, ns).catch(() => undefined);
  await client.delete(StorageClassBindingResource, `${ns}-${gold}`).catch(() => undefined);
  await client.delete(Namespaces, plain).catch(() => undefined);
  for (const h of [...hostsA, ...hostsB]) await client.delete(ESXiHostResource, h).catch(() => undefined);
  await mgr?.stop();
});

describe("workloads in a Supervisor Namespace run as vSphere Pods", () => {
  it("places a Deployment of 6 on the ESXi hosts through kube-scheduler, evenly (max − min ≤ 1)", async () => {
    await client.create(Deployments, deployment("web", 6, { affinity: inZones(zoneA) }));
    const pods = await runningPods("web", 6);
    const counts = countOn(pods, hostsA);
    console.info(
      JSON.stringify({ measured: "deployment spread", replicas: 6, hosts: hostsA.length, counts }),
    );
    expect(counts.reduce((a, b) => a + b)).toBe(6);
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
    for (const p of pods) {
      // What the policy added: the toleration, the ESXi requirement ANDed into the user's term, the
      // RuntimeClass and its overhead, short host-failure tolerations.
      expect(p.spec?.tolerations).toContainEqual({
        key: "virtual-kubelet.io/provider",
        operator: "Equal",
        value: "vsphere",
        effect: "NoSchedule",
      });
      for (const key of ["node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"])
        expect(p.spec?.tolerations).toContainEqual({
          key,
          operator: "Exists",
          effect: "NoExecute",
          tolerationSeconds: HOST_FAILURE_TOLERATION_SECONDS,
        });
      expect(
        p.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms,
      ).toEqual([
        {
          matchExpressions: [
            { key: "topology.kubernetes.io/zone", operator: "In", values: [zoneA] },
            { key: "vsphere.pacific.dev/esxi-host", operator: "Exists" },
          ],
        },
      ]);
      expect(p.spec?.runtimeClassName).toBe("vsphere-pod");
      expect(p.spec?.overhead).toEqual(OVERHEAD);
      expect(p.status?.podIP).toMatch(/^10\.\d+\.\d+\.\d+$/);
    }
  });

  it("counts each pod's overhead against its host: ESXiHost status and host metrics", async () => {
    const host = hostsA[0]!;
    const onHost = (await client.list<V1Pod>(Pods)).items.filter(
      (p) => p.spec?.nodeName === host && !["Succeeded", "Failed"].includes(p.status?.phase ?? ""),
    );
    const containersCpu = onHost.reduce(
      (acc, p) =>
        acc + (p.spec?.containers ?? []).reduce((a, c) => a + cpuMilli(c.resources?.requests?.cpu), 0),
      0,
    );
    const expected = containersCpu + onHost.length * cpuMilli(OVERHEAD.cpu);
    expect(onHost.length).toBeGreaterThan(0);
    await eventually(
      `ESXiHost ${host} allocated cpu ${expected}m`,
      async () => cpuMilli((await getHost(host)).status?.allocated?.cpu) === expected,
      30_000,
    );
    const metrics = await mgr.metrics.registry.metrics();
    const line = metrics
      .split("\n")
      .find((l) => l.startsWith("pacific_esxihost_allocated_cpu_cores{") && l.includes(`host="${host}"`));
    expect(Number(line?.split(" ").pop())).toBeCloseTo(expected / 1000, 6);
  });

  it("gives a ClusterIP Service EndpointSlices with the pods' IPs", async () => {
    await client.create<V1Service>(Services, {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "web", namespace: ns },
      spec: { selector: { app: "web" }, ports: [{ port: 80, targetPort: 8080 }] },
    });
    const ips = (await podsOf("web")).filter(running).map((p) => p.status!.podIP!);
    await eventually("EndpointSlices list every web pod, ready", async () => {
      const slices = (
        await client.list<EndpointSlice & { metadata: object }>(EndpointSlices, {
          namespace: ns,
          labelSelector: "kubernetes.io/service-name=web",
        })
      ).items;
      const ready = slices.flatMap((s) => s.endpoints ?? []).filter((e) => e.conditions?.ready);
      return JSON.stringify(ready.flatMap((e) => e.addresses).sort()) === JSON.stringify([...ips].sort());
    });
  });

  it("honours zones: topology spread constraints over topology.kubernetes.io/zone", async () => {
    await client.create(
      Deployments,
      deployment("spread", 4, {
        affinity: inZones(zoneA, zoneB),
        topologySpreadConstraints: [
          {
            maxSkew: 1,
            topologyKey: "topology.kubernetes.io/zone",
            whenUnsatisfiable: "DoNotSchedule",
            labelSelector: { matchLabels: { app: "spread" } },
          },
        ],
      }),
    );
    const pods = await runningPods("spread", 4);
    const perZone = [hostsA, hostsB].map((hs) => countOn(pods, hs).reduce((a, b) => a + b));
    console.info(JSON.stringify({ measured: "zone spread", replicas: 4, perZone }));
    expect(perZone).toEqual([2, 2]);
  });

  it("runs a StatefulSet of 3 whose claims the CNS provisioner binds", async () => {
    await client.create(StatefulSets, {
      apiVersion: "apps/v1",
      kind: "StatefulSet",
      metadata: { name: "db", namespace: ns },
      spec: {
        serviceName: "db",
        replicas: 3,
        selector: { matchLabels: { app: "db" } },
        template: {
          metadata: { labels: { app: "db" } },
          spec: {
            securityContext: podSecurity,
            affinity: inZones(zoneA, zoneB),
            containers: [{ ...container("db"), volumeMounts: [{ name: "data", mountPath: "/data" }] }],
          },
        },
        volumeClaimTemplates: [
          {
            metadata: { name: "data" },
            spec: {
              storageClassName: gold,
              accessModes: ["ReadWriteOnce"],
              resources: { requests: { storage: "1Gi" } },
            },
          },
        ],
      },
    });
    const pods = await runningPods("db", 3, 90_000);
    expect(pods.map((p) => p.metadata?.name).sort()).toEqual(["db-0", "db-1", "db-2"]);
    for (const p of pods) expect([...hostsA, ...hostsB]).toContain(p.spec?.nodeName);
    const claims = await eventually("3 claims Bound", async () => {
      const c = (
        await client.list<V1PersistentVolumeClaim>(PersistentVolumeClaims, { namespace: ns })
      ).items.filter((x) => x.metadata?.name?.startsWith("data-db-"));
      return c.length === 3 && c.every((x) => x.status?.phase === "Bound") && c;
    });
    for (const c of claims) expect(c.spec?.volumeName).toBeTruthy();
    const sts = await client.get<Workload>(StatefulSets, "db", ns);
    expect(sts.status?.readyReplicas).toBe(3);
  });

  it("completes a Job; a pod's run time is set by the annotation vsphere.pacific.dev/pod-run-time", async () => {
    const job = (name: string, annotations?: Record<string, string>): V1Job => ({
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: { name, namespace: ns },
      spec: {
        backoffLimit: 0,
        template: {
          metadata: { labels: { app: name }, ...(annotations ? { annotations } : {}) },
          spec: {
            restartPolicy: "Never",
            securityContext: podSecurity,
            containers: [{ ...container("task"), image: "busybox:1.36", command: ["true"] }],
          },
        },
      },
    });
    await client.create(Jobs, job("once"));
    await client.create(Jobs, job("slow", { "vsphere.pacific.dev/pod-run-time": "3s" }));
    for (const name of ["once", "slow"]) {
      await eventually(
        `Job ${name} Complete`,
        async () => {
          const j = await client.get<V1Job>(Jobs, name, ns);
          return j.status?.conditions?.some((c) => c.type === "Complete" && c.status === "True");
        },
        60_000,
      );
    }
    const [slow] = await podsOf("slow");
    expect(slow?.status?.phase).toBe("Succeeded");
    const t = slow!.status!.containerStatuses![0]!.state!.terminated!;
    expect(t).toMatchObject({ exitCode: 0, reason: "Completed" });
    const ranMs =
      new Date(t.finishedAt as unknown as string).getTime() -
      new Date(t.startedAt as unknown as string).getTime();
    expect(ranMs).toBeGreaterThanOrEqual(2_000); // 3 s, at the second resolution of the timestamps
  });

  it("leaves a pod in a plain namespace untouched", async () => {
    await client.create(Pods, {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "plain", namespace: plain },
      spec: { containers: [{ name: "c", image: "nginx" }] },
    });
    const p = await client.get<V1Pod>(Pods, "plain", plain);
    expect(p.spec?.runtimeClassName).toBeUndefined();
    expect(p.spec?.overhead).toBeUndefined();
    expect(p.spec?.affinity).toBeUndefined();
    expect(p.spec?.tolerations?.map((t) => [t.key, t.tolerationSeconds])).toEqual([
      ["node.kubernetes.io/not-ready", 300],
      ["node.kubernetes.io/unreachable", 300],
    ]);
    await new Promise((r) => setTimeout(r, 2_000));
    expect((await client.get<V1Pod>(Pods, "plain", plain)).spec?.nodeName).toBeUndefined();
  });

  it("installs a Helm chart as the namespace's Owner (every workload Available), and refuses it to a View user", async () => {
    const as = (user: string) => [
      "--kube-as-user",
      `sso:${user}@vsphere.local`,
      "--kube-as-group",
      "system:authenticated",
    ];
    let refused = "";
    try {
      await helmAsync(
        "install",
        "shop-viewer",
        FIXTURE,
        "-n",
        ns,
        ...as(viewer),
        "--set",
        `db.storageClassName=${gold}`,
      );
    } catch (e) {
      refused = String(e);
    }
    expect(refused).toMatch(/forbidden/i);
    expect(refused).toContain(`sso:${viewer}@vsphere.local`);

    await helmAsync(
      "install",
      "shop",
      FIXTURE,
      "-n",
      ns,
      ...as(owner),
      "--set",
      `db.storageClassName=${gold}`,
      "--set",
      "service.type=LoadBalancer",
      "--wait",
      "--timeout",
      "3m",
    );
    const web = await client.get<Workload>(Deployments, "shop-web", ns);
    expect(web.status?.availableReplicas).toBe(2);
    const db = await client.get<Workload>(StatefulSets, "shop-db", ns);
    expect(db.status?.readyReplicas).toBe(2);
    const migrate = await client.get<V1Job>(Jobs, "shop-migrate", ns);
    expect(migrate.status?.conditions?.find((c) => c.type === "Complete")?.status).toBe("True");
    const svc = await client.get<V1Service>(Services, "shop-web", ns);
    expect(svc.status?.loadBalancer?.ingress?.[0]?.ip).toMatch(/^192\.168\.128\.\d+$/);
    const shopPods = (await listPods()).filter(
      (p) => p.metadata?.labels?.["app.kubernetes.io/instance"] === "shop",
    );
    for (const p of shopPods) expect(p.spec?.runtimeClassName).toBe("vsphere-pod");
    expect(await helmAsync("list", "-n", ns, "-q")).not.toContain("shop-viewer");
  });

  it("maintenance mode empties a host; the Deployment's pods run on the others", async () => {
    const target = hostsA[1]!;
    await client.patch(ESXiHostResource, target, undefined, { spec: { maintenanceMode: true } });
    const h = await eventually(
      "host in maintenance mode",
      async () => {
        const x = await getHost(target);
        return x.status?.inMaintenanceMode === true && x;
      },
      90_000,
    );
    expect(h.status?.podCount).toBe(0);
    // Pods that ran to completion (the Jobs') hold nothing and stay, as on any node.
    const active = (await client.list<V1Pod>(Pods)).items.filter(
      (p) => p.spec?.nodeName === target && !terminal(p),
    );
    expect(active.map((p) => p.metadata?.name)).toEqual([]);
    const pods = await runningPods("web", 6);
    expect(countOn(pods, [target])).toEqual([0]);
    await client.patch(ESXiHostResource, target, undefined, { spec: { maintenanceMode: false } });
    await eventually(
      "node uncordoned",
      async () => !(await client.get<V1Node>(Nodes, target)).spec?.unschedulable,
    );
  });

  it("replaces a failed host's Deployment pods on other hosts within the node monitor grace + 30 s; a bare pod there is deleted", async () => {
    const target = hostsA[0]!;
    await client.create(Pods, {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "bare", namespace: ns },
      spec: {
        securityContext: podSecurity,
        nodeSelector: { "kubernetes.io/hostname": target },
        containers: [container("bare")],
      },
    });
    await eventually("bare pod Running", async () => running(await client.get<V1Pod>(Pods, "bare", ns)));
    const before = (await podsOf("web")).filter((p) => p.spec?.nodeName === target);
    expect(before.length).toBeGreaterThan(0);

    const t0 = Date.now();
    await client.patch(ESXiHostResource, target, undefined, { spec: { simulation: { heartbeats: false } } });
    const pods = await eventually(
      "6 web pods Running, none on the failed host",
      async () => {
        const p = (await podsOf("web")).filter(running);
        return p.length === 6 && p.every((x) => x.spec?.nodeName !== target) && p;
      },
      NODE_MONITOR_GRACE_MS + 30_000,
      1000,
    );
    const recoveredMs = Date.now() - t0;
    console.info(JSON.stringify({ measured: "host failure → Deployment Running elsewhere", recoveredMs }));
    expect(countOn(pods, [target])).toEqual([0]);
    // The failed host's pods do not linger Terminating (vSphere HA: their VMs are gone).
    await eventually(
      "the failed host's pods removed, the bare pod too",
      async () => {
        const left = (await listPods()).filter((p) => p.spec?.nodeName === target && !terminal(p));
        return left.length === 0;
      },
      30_000,
      1000,
    );

    await client.patch(ESXiHostResource, target, undefined, { spec: { simulation: { heartbeats: true } } });
    await eventually(
      "node Ready again",
      async () => nodeReady(await client.get<V1Node>(Nodes, target)),
      60_000,
    );
  }, 180_000);
});

describe("the manager as the chart's ServiceAccount", () => {
  it("was never refused by the API server (the chart's RBAC covers every request)", async () => {
    await expectNoForbidden(mgr);
  });
});
