// The guest's Nodes are the Cluster's Machines (runtime `local`): a TKC of 3 control-plane and 3
// worker Machines gets 6 Ready Nodes in its guest (providerID, role label and taint, kubelet version
// from the TKR, pod CIDRs from the guest's controller-manager, Leases renewed), a Deployment applied
// inside the guest runs on the workers only with pod IPs from their pod CIDRs, a scaled-up pool
// registers its new Nodes, a powered-off worker goes NotReady in the guest (its own KCM decides), a
// scaled-down pool's Nodes are drained (pods evicted and run elsewhere) and deleted, a TKR upgrade
// replaces every Node by one of the new kubelet version, and deleting the TKC leaves no process,
// port or directory. Everything is read through kubectl with the
// <tkc>-kubeconfig Secret, TLS verified. VIPs: 127.0.144.1-20 only.
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KubeConfig, type V1Node, type V1Pod, type V1Secret } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Cluster, ClusterResource } from "../../controllers/api/cluster/cluster.ts";
import { type Machine, MachineResource } from "../../controllers/api/cluster/machine.ts";
import {
  type TanzuKubernetesCluster,
  TanzuKubernetesClusterResource,
} from "../../controllers/api/run/tanzukubernetescluster.ts";
import { VirtualMachineResource } from "../../controllers/api/vmoperator/virtualmachine.ts";
import { ESXiHostResource } from "../../controllers/api/vsphere/esxihost.ts";
import { StorageClassBindingResource } from "../../controllers/api/vsphere/storageclassbinding.ts";
import { SupervisorNamespaceResource } from "../../controllers/api/vsphere/supervisornamespace.ts";
import { GUEST_NODE_LABEL } from "../../controllers/guestnode/desired.ts";
import { KubeClient } from "../../controllers/runtime/client.ts";
import { Informer } from "../../controllers/runtime/informer.ts";
import { newLogger } from "../../controllers/runtime/log.ts";
import type { Manager } from "../../controllers/runtime/manager.ts";
import { Nodes, Pods, Secrets } from "../../controllers/runtime/resource.ts";
import { listening, pidsUnder, toolDir } from "./fixtures/processes.ts";
import { createBoundNamespace, createHosts } from "./fixtures/supervisor.ts";
import { tkcManifest } from "./fixtures/tkc.ts";
import { eventually, isNotFound, kubeConfig, uniqueName } from "./kube.ts";
import { expectNoForbidden, startPacific } from "./pacific.ts";
import { installChart } from "./tools.ts";

const client = new KubeClient(kubeConfig());
const suffix = uniqueName("n").slice(2);
const ns = `gnodes-${suffix}`;
const hosts = ["a", "b", "c"].map((x) => `gnodes-${suffix}-esx-${x}`);
const TKC = "tkc-n";
const V124 = "v1.24.11---vmware.1-fips.1-tkg.1";
const CP_ROLE = "node-role.kubernetes.io/control-plane";
const kubectlBin = join(toolDir("kubernetes"), "kubectl");
const stateDir = mkdtempSync(join(tmpdir(), "pacific-guest-nodes-"));
const kubeconfigFile = join(stateDir, `${TKC}.kubeconfig`);
let mgr: Manager;
const quiet = newLogger("guest-nodes-e2e", "silent");

const tkc = (): TanzuKubernetesCluster =>
  tkcManifest({
    name: TKC,
    namespace: ns,
    vmClass: "best-effort-small",
    pools: [
      {
        replicas: 3,
        labels: { "pacific.dev/pool": "pool-1" },
        // PreferNoSchedule: the web pods below still land on the workers.
        taints: [{ key: "pacific.dev/pool", value: "pool-1", effect: "PreferNoSchedule" }],
      },
    ],
  });

/**
 * kubectl against the guest, asynchronously: the manager runs in this process, and a synchronous
 * child (kubectl rollout status, say) would freeze its heartbeats and pod runner meanwhile.
 */
const kubectl = (args: string[], input?: string) =>
  new Promise<string>((resolve, reject) => {
    const child = execFile(
      kubectlBin,
      ["--kubeconfig", kubeconfigFile, ...args],
      { encoding: "utf8", maxBuffer: 64 << 20 },
      (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)),
    );
    child.stdin?.end(input ?? "");
  });
const guestNodes = async (): Promise<V1Node[]> =>
  JSON.parse(await kubectl(["get", "nodes", "-o", "json"])).items;
const guestPods = async (selector: string): Promise<V1Pod[]> =>
  JSON.parse(await kubectl(["get", "pods", "-n", "default", "-l", selector, "-o", "json"])).items;
const isReady = (n: V1Node) => n.status?.conditions?.find((c) => c.type === "Ready")?.status === "True";
/** The guest KCM's node lifecycle controller adds node.kubernetes.io/not-ready (and others) until it has
 *  seen the Node Ready; those are its taints, not Pacific's, so the exact check waits for them to go. */
const settled = (n: V1Node) => !n.spec?.taints?.some((t) => t.key.startsWith("node.kubernetes.io/"));
const isCp = (n: V1Node) => n.metadata?.labels?.[CP_ROLE] !== undefined;
const workers = (nodes: V1Node[]) => nodes.filter((n) => !isCp(n));

/** a.b.c.d inside cidr. */
function inCidr(ip: string, cidr: string): boolean {
  const num = (s: string) => s.split(".").reduce((acc, o) => acc * 256 + Number(o), 0);
  const [base, bits] = cidr.split("/");
  const size = 2 ** (32 - Number(bits));
  return Math.floor(num(ip) / size) === Math.floor(num(base ?? "") / size);
}

const setPoolReplicas = (replicas: number) =>
  client.patch(
    TanzuKubernetesClusterResource,
    TKC,
    ns,
    [{ op: "replace", path: "/spec/topology/nodePools/0/replicas", value: replicas }],
    { type: "json" },
  );

const nginx = `apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: default }
spec:
  replicas: 4
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers:
        - name: nginx
          image: nginx:1.27
          resources: { requests: { cpu: 100m, memory: 64Mi } }
`;

/**
 * The VIP pool is a machine-wide resource (loopback addresses, not a cluster slot): two runs of this
 * suite from different worktrees would bind the same VIP:6443. A lock directory serialises them,
 * and nothing may listen on the pool's API port before we start.
 */
const VIP_LOCK = join(tmpdir(), "pacific-e2e-vips-127.0.144.lock");
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
async function lockVipPool(timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      mkdirSync(VIP_LOCK);
      writeFileSync(join(VIP_LOCK, "pid"), String(process.pid));
      break;
    } catch {
      const pid = Number(existsSync(join(VIP_LOCK, "pid")) ? readFileSync(join(VIP_LOCK, "pid"), "utf8") : 0);
      const young = Date.now() - (statSync(VIP_LOCK, { throwIfNoEntry: false })?.mtimeMs ?? 0) < 10_000;
      if (!young && (!pid || !alive(pid))) rmSync(VIP_LOCK, { recursive: true, force: true });
      else await new Promise((r) => setTimeout(r, 2000));
    }
  }
  if (Number(readFileSync(join(VIP_LOCK, "pid"), "utf8")) !== process.pid)
    throw new Error(`another run holds ${VIP_LOCK}`);
  const vips = Array.from({ length: 20 }, (_, i) => `127.0.144.${i + 1}`);
  await eventually(
    "no guest of another run listening on 127.0.144.1-20:6443",
    async () => !(await Promise.all(vips.map((v) => listening(v, 6443)))).some(Boolean),
    Math.max(1000, deadline - Date.now()),
    2000,
  );
}

const webPdb = `apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: { name: web, namespace: default }
spec:
  minAvailable: 3
  selector: { matchLabels: { app: web } }
`;

beforeAll(async () => {
  await lockVipPool(1_200_000);
  installChart("--set", "guestClusters.runtime=local");
  process.env.PACIFIC_GUEST_STATE_DIR = stateDir;
  process.env.PACIFIC_KUBERNETES_BIN = toolDir("kubernetes");
  process.env.PACIFIC_ETCD_BIN = toolDir("etcd");
  mgr = await startPacific({ vipPool: "127.0.144.1-127.0.144.20", guestClustersRuntime: "local" });
  await createHosts(client, hosts, `gnodes-${suffix}`);
  await createBoundNamespace(client, ns, ["best-effort-small"]);
}, 1_500_000);

afterAll(async () => {
  await client.delete(TanzuKubernetesClusterResource, TKC, ns).catch(() => undefined);
  await eventually(
    `Cluster ${TKC} gone`,
    async () =>
      client.get(ClusterResource, TKC, ns).then(
        () => false,
        (e) => isNotFound(e),
      ),
    90_000,
  ).catch(() => undefined);
  await client.delete(StorageClassBindingResource, `${ns}-vsan`).catch(() => undefined);
  await client.delete(SupervisorNamespaceResource, ns).catch(() => undefined);
  for (const h of hosts) await client.delete(ESXiHostResource, h).catch(() => undefined);
  await mgr?.stop();
  for (const p of pidsUnder(stateDir)) process.kill(p, "SIGKILL");
  rmSync(stateDir, { recursive: true, force: true });
  installChart();
  if (
    existsSync(join(VIP_LOCK, "pid")) &&
    Number(readFileSync(join(VIP_LOCK, "pid"), "utf8")) === process.pid
  )
    rmSync(VIP_LOCK, { recursive: true, force: true });
}, 240_000);

describe("a TKC's guest Nodes are its Machines (runtime local)", () => {
  it("registers Ready Nodes, runs pods on workers, follows scale, power-off and drain, and leaves nothing", async () => {
    const t0 = Date.now();
    await client.create(TanzuKubernetesClusterResource, tkc());
    const cluster = await eventually(
      `Cluster ${TKC} with its endpoint`,
      async () => {
        const c = await client.get<Cluster>(ClusterResource, TKC, ns);
        return c.spec.controlPlaneEndpoint?.host ? c : undefined;
      },
      120_000,
    );
    const vip = cluster.spec.controlPlaneEndpoint?.host ?? "";
    expect(vip).toMatch(/^127\.0\.144\./);
    await eventually(
      "the guest's kubeconfig",
      async () => {
        const s = await client.get<V1Secret>(Secrets, `${TKC}-kubeconfig`, ns);
        const text = Buffer.from(s.data?.value ?? "", "base64").toString("utf8");
        if (!text.includes("certificate-authority-data")) return undefined;
        writeFileSync(kubeconfigFile, text, { mode: 0o600 });
        return true;
      },
      180_000,
      500,
    );
    expect(readFileSync(kubeconfigFile, "utf8")).not.toContain("insecure-skip-tls-verify");

    // 3 control-plane + 3 worker Nodes, Ready, each with the pod CIDR the guest's KCM gave it, and
    // the guest KCM done with its lifecycle taints.
    const nodes = await eventually(
      "6 Ready guest Nodes with pod CIDRs and no node.kubernetes.io/ taints",
      async () => {
        const ns_ = await guestNodes();
        return ns_.length === 6 && ns_.every((n) => isReady(n) && n.spec?.podCIDR && settled(n))
          ? ns_
          : undefined;
      },
      240_000,
      1000,
    );
    const readyMs = Date.now() - t0;
    const machines = (await client.list<Machine>(MachineResource, { namespace: ns })).items;
    const cps = nodes.filter(isCp);
    expect(cps.length).toBe(3);
    for (const n of cps)
      expect(n.spec?.taints).toContainEqual(expect.objectContaining({ key: CP_ROLE, effect: "NoSchedule" }));
    expect(workers(nodes).length).toBe(3);
    for (const n of workers(nodes)) {
      expect(n.metadata?.labels?.["pacific.dev/pool"]).toBe("pool-1");
      expect(n.spec?.taints).toEqual([
        { key: "pacific.dev/pool", value: "pool-1", effect: "PreferNoSchedule" },
      ]);
    }
    for (const n of nodes) {
      const m = machines.find((x) => x.status?.nodeRef?.name === n.metadata?.name);
      expect(m, `Machine of ${n.metadata?.name}`).toBeDefined();
      expect(n.spec?.providerID).toBe(m?.spec.providerID);
      expect(n.spec?.providerID).toMatch(/^vsphere:\/\//);
      expect(n.status?.nodeInfo?.kubeletVersion).toBe(m?.spec.version);
      expect(n.status?.capacity).toMatchObject({ cpu: "2", memory: "4Gi" });
    }
    // Leases renewed in kube-node-lease.
    const leases = JSON.parse(await kubectl(["get", "leases", "-n", "kube-node-lease", "-o", "json"]))
      .items as Array<{
      metadata: { name: string };
      spec: { renewTime: string };
    }>;
    expect(leases.map((l) => l.metadata.name).sort()).toEqual(nodes.map((n) => n.metadata?.name).sort());

    // 4 nginx replicas: Running on workers only, pod IPs inside their nodes' pod CIDRs.
    await kubectl(["apply", "-f", "-"], nginx);
    const pods = await eventually(
      "4 web pods Running",
      async () => {
        const ps = await guestPods("app=web");
        return ps.length === 4 && ps.every((p) => p.status?.phase === "Running" && p.status.podIP)
          ? ps
          : undefined;
      },
      120_000,
      1000,
    );
    const byName = new Map(nodes.map((n) => [n.metadata?.name ?? "", n]));
    for (const p of pods) {
      const n = byName.get(p.spec?.nodeName ?? "");
      expect(n && !isCp(n), `${p.metadata?.name} on a worker`).toBe(true);
      expect(inCidr(p.status?.podIP ?? "", n?.spec?.podCIDR ?? "0.0.0.0/32")).toBe(true);
    }
    console.info(JSON.stringify({ guestNodes: { readyMs, nodes: nodes.length } }));

    // Scale the pool to 5: 5 Ready workers.
    await setPoolReplicas(5);
    const five = await eventually(
      "5 Ready worker Nodes",
      async () => {
        const ws = workers(await guestNodes());
        return ws.length === 5 && ws.every((n) => isReady(n) && n.spec?.podCIDR) ? ws : undefined;
      },
      240_000,
      1000,
    );

    // Restart the Deployment so that pods spread onto the new workers too (the scheduler favours
    // empty nodes): the scale-down below then has pods to evict.
    const firstWorkers = new Set(workers(nodes).map((n) => n.metadata?.name ?? ""));
    const newWorkers = five.map((n) => n.metadata?.name ?? "").filter((n) => !firstWorkers.has(n));
    expect(newWorkers.length).toBe(2);
    await kubectl(["rollout", "restart", "deployment/web", "-n", "default"]);
    try {
      await kubectl(["rollout", "status", "deployment/web", "-n", "default", "--timeout=120s"]);
    } catch (e) {
      console.info(await kubectl(["get", "pods,nodes,rs,deploy", "-A", "-o", "wide"]));
      console.info(await kubectl(["get", "pods", "-n", "default", "-o", "yaml"]));
      throw e;
    }

    // Power off one of the new workers' VMs: its Node goes NotReady/Unknown in the guest.
    const victim = newWorkers[0] ?? "";
    await client.patch(VirtualMachineResource, victim, ns, { spec: { powerState: "PoweredOff" } });
    const t1 = Date.now();
    await eventually(
      `Node ${victim} not Ready`,
      async () => {
        const n = (await guestNodes()).find((x) => x.metadata?.name === victim);
        return n && !isReady(n);
      },
      150_000,
      1000,
    );
    console.info(JSON.stringify({ guestNodes: { notReadyAfterPowerOffMs: Date.now() - t1 } }));

    // Scale down to 3: the removed Nodes are drained (their pods evicted and run elsewhere), then deleted.
    const before = new Set(workers(await guestNodes()).map((n) => n.metadata?.name ?? ""));
    // Watch the drain from inside the guest: which Nodes were cordoned, which pods were evicted
    // (the Eviction API marks them DisruptionTarget) and on which Node they were.
    const guestKc = new KubeConfig();
    guestKc.loadFromFile(kubeconfigFile);
    const guest = new KubeClient(guestKc);
    const cordoned = new Set<string>();
    const evictedFrom = new Map<string, string>();
    const podsOn = new Map<string, string>();
    const nodeInformer = new Informer(Nodes, guest, quiet);
    const podInformer = new Informer(Pods, guest, quiet, { namespace: "default" });
    const seeNode = (n: V1Node) => {
      if (n.spec?.unschedulable) cordoned.add(n.metadata?.name ?? "");
    };
    const seePod = (p: V1Pod) => {
      const uid = p.metadata?.uid ?? "";
      if (p.spec?.nodeName) podsOn.set(uid, p.spec.nodeName);
      if (p.status?.conditions?.some((c) => c.type === "DisruptionTarget" && c.status === "True"))
        evictedFrom.set(uid, p.spec?.nodeName ?? "");
    };
    nodeInformer.addHandler({ add: seeNode, update: (_o, n) => seeNode(n), delete: seeNode });
    podInformer.addHandler({ add: seePod, update: (_o, p) => seePod(p), delete: seePod });
    nodeInformer.start();
    podInformer.start();
    await Promise.all([nodeInformer.waitForSync(), podInformer.waitForSync()]);
    // A PodDisruptionBudget of 3 healthy web pods: the drain's evictions are refused (429) while one
    // more would break it, so at least 3 stay Ready throughout.
    await kubectl(["apply", "-f", "-"], webPdb);
    await eventually("the PDB counted", async () => {
      const pdb = JSON.parse(await kubectl(["get", "pdb", "web", "-n", "default", "-o", "json"]));
      return pdb.status?.observedGeneration === pdb.metadata?.generation && pdb.status?.expectedPods === 4;
    });
    const healthy = () =>
      podInformer.store
        .list()
        .filter(
          (p) =>
            !p.metadata?.deletionTimestamp &&
            p.status?.phase === "Running" &&
            p.status.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
        ).length;
    const healthyAtStart = healthy();
    let minHealthy = healthyAtStart;
    const sample = () => {
      minHealthy = Math.min(minHealthy, healthy());
    };
    podInformer.addHandler({ add: sample, update: sample, delete: sample });
    await setPoolReplicas(3);
    const after = await eventually(
      "3 worker Nodes",
      async () => {
        const ws = workers(await guestNodes());
        return ws.length === 3 ? ws : undefined;
      },
      240_000,
      1000,
    );
    const removed = [...before].filter((n) => !after.some((a) => a.metadata?.name === n));
    expect(removed.length).toBe(2);
    await eventually(
      "4 web pods Running on remaining workers",
      async () => {
        const ps = (await guestPods("app=web")).filter((p) => !p.metadata?.deletionTimestamp);
        return (
          ps.length === 4 &&
          ps.every((p) => p.status?.phase === "Running" && !removed.includes(p.spec?.nodeName ?? ""))
        );
      },
      120_000,
      1000,
    );

    nodeInformer.stop();
    podInformer.stop();
    if (healthyAtStart >= 3)
      expect(minHealthy, "healthy web pods during the drain").toBeGreaterThanOrEqual(3);
    expect(removed.sort()).toEqual([...newWorkers].sort()); // a scale-down removes the newest Machines
    expect(
      removed.every((n) => cordoned.has(n)),
      `cordoned ${[...cordoned]}`,
    ).toBe(true);
    const onRemoved = [...podsOn].filter(([, node]) => removed.includes(node)).map(([uid]) => uid);
    expect(onRemoved.length).toBeGreaterThan(0);
    for (const uid of onRemoved) expect(evictedFrom.has(uid), `pod ${uid} evicted`).toBe(true);
    console.info(
      JSON.stringify({
        guestNodes: {
          removed,
          cordoned: [...cordoned],
          evicted: onRemoved.length,
          healthyAtStart,
          minHealthy,
        },
      }),
    );

    // A Node of ours whose Machine and VM are both gone (the guest was down while its VM went) is
    // deleted, as the cloud provider's node lifecycle controller does; one someone else made stays.
    await guest.create(Nodes, {
      metadata: { name: "stray-ours", labels: { [GUEST_NODE_LABEL]: `${TKC}-workers-gone-0` } },
    });
    await guest.create(Nodes, { metadata: { name: "stray-theirs" } });
    await eventually(
      "the Node of a Machine that is gone deleted",
      async () => !(await guestNodes()).some((n) => n.metadata?.name === "stray-ours"),
      60_000,
      1000,
    );
    expect((await guestNodes()).map((n) => n.metadata?.name)).toContain("stray-theirs");
    await guest.delete(Nodes, "stray-theirs");

    // A TKR upgrade rolls every Machine: old Nodes drained and removed, new ones with the new
    // kubelet version; the web pods move with the drains and keep running.
    const oldNodes = new Set((await guestNodes()).map((n) => n.metadata?.name ?? ""));
    await client.patch(TanzuKubernetesClusterResource, TKC, ns, {
      spec: { topology: { controlPlane: { tkr: { reference: { name: V124 } } } } },
    });
    const t2 = Date.now();
    const upgraded = await eventually(
      "6 Ready Nodes of v1.24.11+vmware.1, none of the old ones",
      async () => {
        const ns_ = await guestNodes();
        return ns_.length === 6 &&
          ns_.every(
            (n) =>
              isReady(n) &&
              n.status?.nodeInfo?.kubeletVersion === "v1.24.11+vmware.1" &&
              !oldNodes.has(n.metadata?.name ?? ""),
          )
          ? ns_
          : undefined;
      },
      480_000,
      2000,
    );
    expect(upgraded.filter(isCp).length).toBe(3);
    await eventually(
      "4 web pods Running on upgraded workers",
      async () => {
        const ps = (await guestPods("app=web")).filter((p) => !p.metadata?.deletionTimestamp);
        return (
          ps.length === 4 &&
          ps.every((p) => p.status?.phase === "Running" && !oldNodes.has(p.spec?.nodeName ?? ""))
        );
      },
      120_000,
      1000,
    );
    console.info(JSON.stringify({ guestNodes: { upgradeRolledMs: Date.now() - t2 } }));

    // Delete the TKC: no process, port or directory of the guest is left.
    const guestDir = join(stateDir, ns, TKC);
    await client.delete(TanzuKubernetesClusterResource, TKC, ns);
    await eventually(
      `Cluster ${TKC} gone`,
      async () =>
        client.get(ClusterResource, TKC, ns).then(
          () => false,
          (e) => isNotFound(e),
        ),
      120_000,
    );
    expect(pidsUnder(guestDir)).toEqual([]);
    expect(existsSync(guestDir)).toBe(false);
    expect(await listening(vip, 6443)).toBe(false);
    expect(await listening(vip, 2379)).toBe(false);
    await expectNoForbidden(mgr);
  }, 1_200_000);
});
