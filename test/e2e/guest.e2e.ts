// Guest clusters, runtime `local`: the documentation's TKC (1 control plane + 1 worker, to stay
// light) gets a real control plane — etcd, kube-apiserver, controller-manager and scheduler as
// processes on its loopback VIP — Cluster API's PKI Secrets, and a kubeconfig that kubectl uses
// with TLS verified (no insecure flag). The KCP, Cluster and TKC status follow what the guest's
// API server answers (down when it is killed, up when it is restarted); kube-system holds the
// add-ons (CoreDNS, kube-proxy, the CNI, the default StorageClass), and a deleted one comes back.
// Deleting the TKC leaves no process, listening port or file.
// The manager runs as the chart's ServiceAccount, so a missing Secrets permission shows as a 403.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { V1Secret } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Cluster, ClusterResource } from "../../controllers/api/cluster/cluster.ts";
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
import { KubeClient } from "../../controllers/runtime/client.ts";
import type { Manager } from "../../controllers/runtime/manager.ts";
import { Secrets } from "../../controllers/runtime/resource.ts";
import { listening, memoryOf, pidsUnder, toolDir } from "./fixtures/processes.ts";
import { createBoundNamespace, createHosts, STORAGE } from "./fixtures/supervisor.ts";
import { LIGHT, tkcManifest } from "./fixtures/tkc.ts";
import { eventually, isNotFound, kubeConfig, uniqueName } from "./kube.ts";
import { expectNoForbidden, startPacific } from "./pacific.ts";
import { installChart } from "./tools.ts";

const client = new KubeClient(kubeConfig());
const suffix = uniqueName("g").slice(2);
const ns = `guest-${suffix}`;
const hosts = ["a", "b"].map((x) => `guest-${suffix}-esx-${x}`);
const kubectlBin = join(toolDir("kubernetes"), "kubectl");
const stateDir = mkdtempSync(join(tmpdir(), "pacific-guests-"));
let mgr: Manager;

/** The documentation's TKC, 1 + 1 nodes of best-effort-small. */
const docTkc = (name: string): TanzuKubernetesCluster => tkcManifest({ name, namespace: ns, ...LIGHT });

const cond = (o: { status?: { conditions?: unknown } }, type: string) =>
  (
    o.status?.conditions as
      | Array<{ type: string; status: string; reason?: string; message?: string }>
      | undefined
  )?.find((c) => c.type === type);

beforeAll(async () => {
  // The local runtime's Secret access is granted by the chart only with guestClusters.runtime=local.
  installChart("--set", "guestClusters.runtime=local");
  process.env.PACIFIC_GUEST_STATE_DIR = stateDir;
  process.env.PACIFIC_KUBERNETES_BIN = toolDir("kubernetes");
  process.env.PACIFIC_ETCD_BIN = toolDir("etcd");
  mgr = await startPacific({ vipPool: "127.0.100.1-127.0.100.20", guestClustersRuntime: "local" });
  await createHosts(client, hosts, `guest-${suffix}`);
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
  // Whatever a failed test left: exactly the processes under this run's state directory.
  for (const p of pidsUnder(stateDir)) process.kill(p, "SIGKILL");
  rmSync(stateDir, { recursive: true, force: true });
  installChart(); // back to the chart as every other suite uses it
});

describe("a TKC's guest control plane (runtime local)", () => {
  // One long walk (bring-up, a killed API server, add-ons, deletion): more than the suites' default
  // 120 s when the machine is loaded (CI saw the bring-up alone take 65 s at load 13).
  it("answers kubectl through the kubeconfig Secret with verified TLS, and is gone with the TKC", async () => {
    const t0 = Date.now();
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
    expect(vip).toMatch(/^127\.0\.100\./);
    const kubeconfigFile = join(stateDir, "tkc-1.kubeconfig");
    const nodes = await eventually(
      "the guest answering get nodes through tkc-1-kubeconfig",
      async () => {
        const s = await client.get<V1Secret>(Secrets, "tkc-1-kubeconfig", ns);
        const text = Buffer.from(s.data?.value ?? "", "base64").toString("utf8");
        if (!text.includes("certificate-authority-data")) return undefined;
        writeFileSync(kubeconfigFile, text, { mode: 0o600 });
        return execFileSync(kubectlBin, ["--kubeconfig", kubeconfigFile, "get", "nodes", "-o", "json"], {
          encoding: "utf8",
          stdio: ["ignore", "pipe", "pipe"],
        });
      },
      120_000,
      500,
    );
    const readyMs = Date.now() - t0;
    const text = readFileSync(kubeconfigFile, "utf8");
    expect(text).not.toContain("insecure-skip-tls-verify");
    expect(text).not.toContain("token");
    expect(text).toContain(`server: https://${vip}:6443`);
    expect(JSON.parse(nodes).kind).toBe("List");
    const version = JSON.parse(
      execFileSync(kubectlBin, ["--kubeconfig", kubeconfigFile, "get", "--raw", "/version"], {
        encoding: "utf8",
      }),
    );
    // Cluster API's PKI Secrets, each a tls.crt/tls.key pair.
    for (const part of ["ca", "etcd", "proxy", "sa"]) {
      const s = await client.get<V1Secret>(Secrets, `tkc-1-${part}`, ns);
      expect(s.type).toBe("cluster.x-k8s.io/secret");
      expect(Object.keys(s.data ?? {}).sort()).toEqual(["tls.crt", "tls.key"]);
    }
    const guestDir = join(stateDir, ns, "tkc-1");
    // The controller-manager and the scheduler come up once the API server is ready.
    await eventually("4 guest processes", async () => pidsUnder(guestDir).length === 4, 30_000);
    const pids = pidsUnder(guestDir);
    console.info(
      JSON.stringify({
        guest: {
          readyMs,
          rssMiB: memoryOf(pids).rss,
          pssMiB: memoryOf(pids).pss,
          processes: pids.length,
          version: version.gitVersion,
        },
      }),
    );

    // Status follows what the guest answers: the KCP initialized, ready and Available, the Cluster's
    // ControlPlaneInitialized, the TKC's GuestControlPlaneReady naming the version the guest reports.
    await eventually(
      "KCP, Cluster and TKC following the guest",
      async () => {
        const kcp = await client.get<KubeadmControlPlane>(
          KubeadmControlPlaneResource,
          "tkc-1-control-plane",
          ns,
        );
        const c = await client.get<Cluster>(ClusterResource, "tkc-1", ns);
        const t = await client.get<TanzuKubernetesCluster>(TanzuKubernetesClusterResource, "tkc-1", ns);
        return (
          kcp.status?.initialized === true &&
          kcp.status?.ready === true &&
          cond(kcp, "Available")?.status === "True" &&
          cond(c, "ControlPlaneInitialized")?.status === "True" &&
          cond(t, "GuestControlPlaneReady")?.status === "True" &&
          cond(t, "Ready")?.status === "True"
        );
      },
      30_000,
    );
    const tkc = await client.get<TanzuKubernetesCluster>(TanzuKubernetesClusterResource, "tkc-1", ns);
    expect(tkc.status?.guestControlPlane).toEqual({ runtime: "local", version: version.gitVersion });
    expect(cond(tkc, "GuestControlPlaneReady")).toMatchObject({ reason: "VersionDiffers" });
    expect(cond(tkc, "GuestControlPlaneReady")?.message).toBe(
      `the guest API server reports ${version.gitVersion}, not the release's v1.23.8+vmware.3: Pacific runs the Kubernetes it builds`,
    );

    // The add-ons, in the guest's kube-system by server-side apply with Pacific's field manager.
    const guest = (args: string[]) =>
      execFileSync(kubectlBin, ["--kubeconfig", kubeconfigFile, ...args], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
      });
    const addons = [
      "serviceaccount/coredns",
      "configmap/coredns",
      "deployment/coredns",
      "service/kube-dns",
      "configmap/kube-proxy",
      "daemonset/kube-proxy",
      "daemonset/antrea-agent",
    ];
    const addonsThere = () => {
      try {
        guest(["-n", "kube-system", "get", ...addons, "-o", "name"]);
        guest([
          "get",
          "clusterrole/system:coredns",
          "clusterrolebinding/system:coredns",
          `storageclass/${STORAGE}`,
        ]);
        return true;
      } catch {
        return false;
      }
    };
    await eventually("the guest's add-ons", async () => addonsThere(), 30_000, 500);
    const dns = JSON.parse(guest(["-n", "kube-system", "get", "service", "kube-dns", "-o", "json"]));
    expect(dns.spec.clusterIP).toBe("10.96.0.10");
    const coredns = JSON.parse(
      guest(["-n", "kube-system", "get", "deployment", "coredns", "-o", "json", "--show-managed-fields"]),
    );
    expect(coredns.metadata.managedFields.map((f: { manager: string }) => f.manager)).toContain(
      "pacific-guest-addons",
    );
    const sc = JSON.parse(guest(["get", "storageclass", STORAGE, "-o", "json"]));
    expect(sc.metadata.annotations["storageclass.kubernetes.io/is-default-class"]).toBe("true");
    // Deleted, they come back (within a resync of the guest-cluster controller).
    guest(["-n", "kube-system", "delete", "deployment", "coredns", "--wait=false"]);
    guest(["delete", "storageclass", STORAGE, "--wait=false"]);
    await eventually("deleted add-ons re-applied", async () => addonsThere(), 40_000, 1000);

    // The guest's API server killed: the status says so, and follows it back when it is restarted.
    const apiserverPid = Number(readFileSync(join(guestDir, "kube-apiserver.pid"), "utf8"));
    process.kill(apiserverPid, "SIGKILL");
    const waitGuest = (want: "True" | "False") =>
      eventually(
        `GuestControlPlaneReady ${want}`,
        async () => {
          const t = await client.get<TanzuKubernetesCluster>(TanzuKubernetesClusterResource, "tkc-1", ns);
          return cond(t, "GuestControlPlaneReady")?.status === want ? t : undefined;
        },
        30_000,
        200,
      );
    // The controller restarts it at its next resync and probes at once: it sees it down (not ready
    // yet), then up. The KCP records each probe, so the TKC ends True either way.
    const t1 = Date.now();
    const sawDown = await waitGuest("False").then(
      () => true,
      () => false,
    );
    await waitGuest("True");
    console.info(JSON.stringify({ apiserverKilled: { sawDown, backMs: Date.now() - t1 } }));
    expect(sawDown).toBe(true);
    const kcpAfter = await client.get<KubeadmControlPlane>(
      KubeadmControlPlaneResource,
      "tkc-1-control-plane",
      ns,
    );
    expect(kcpAfter.status?.initialized).toBe(true);
    expect(Number(readFileSync(join(guestDir, "kube-apiserver.pid"), "utf8"))).not.toBe(apiserverPid);

    await client.delete(TanzuKubernetesClusterResource, "tkc-1", ns);
    await eventually(
      "Cluster tkc-1 gone",
      async () =>
        client.get(ClusterResource, "tkc-1", ns).then(
          () => false,
          (e) => isNotFound(e),
        ),
      60_000,
    );
    expect(pidsUnder(guestDir)).toEqual([]);
    expect(existsSync(guestDir)).toBe(false);
    expect(await listening(vip, 6443)).toBe(false);
    expect(await listening(vip, 2379)).toBe(false);
    await expectNoForbidden(mgr);
  }, 300_000);
});
