// Guest clusters, runtime `local`: the documentation's TKC (1 control plane + 1 worker, to stay
// light) gets a real control plane — etcd, kube-apiserver, controller-manager and scheduler as
// processes on its loopback VIP — Cluster API's PKI Secrets, and a kubeconfig that kubectl uses
// with TLS verified (no insecure flag). Deleting the TKC leaves no process, listening port or file.
// The manager runs as the chart's ServiceAccount, so a missing Secrets permission shows as a 403.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { V1Secret } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Cluster, ClusterResource } from "../../controllers/api/cluster/cluster.ts";
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
import { createBoundNamespace, createHosts, STORAGE } from "./fixtures/supervisor.ts";
import { eventually, isNotFound, kubeConfig, root, uniqueName } from "./kube.ts";
import { expectNoForbidden, startPacific } from "./pacific.ts";
import { installChart } from "./tools.ts";

const client = new KubeClient(kubeConfig());
const suffix = uniqueName("g").slice(2);
const ns = `guest-${suffix}`;
const hosts = ["a", "b"].map((x) => `guest-${suffix}-esx-${x}`);
const V123 = "v1.23.8---vmware.3-tkg.1";
const printDir = (tool: string) =>
  execFileSync("bash", [join(root, "hack", "build-tools.sh"), "--print-dir", tool], {
    encoding: "utf8",
  }).trim();
const kubectlBin = join(printDir("kubernetes"), "kubectl");
const stateDir = mkdtempSync(join(tmpdir(), "pacific-guests-"));
let mgr: Manager;

const docTkc = (name: string): TanzuKubernetesCluster =>
  ({
    apiVersion: "run.tanzu.vmware.com/v1alpha3",
    kind: "TanzuKubernetesCluster",
    metadata: { name, namespace: ns },
    spec: {
      topology: {
        controlPlane: {
          replicas: 1,
          vmClass: "best-effort-small",
          storageClass: STORAGE,
          tkr: { reference: { name: V123 } },
        },
        nodePools: [{ name: "pool-1", replicas: 1, vmClass: "best-effort-small", storageClass: STORAGE }],
      },
      settings: {
        network: {
          cni: { name: "antrea" },
          services: { cidrBlocks: ["10.96.0.0/12"] },
          pods: { cidrBlocks: ["192.168.0.0/16"] },
          serviceDomain: "cluster.local",
        },
        storage: { defaultClass: STORAGE },
      },
    },
  }) as TanzuKubernetesCluster;

/** Pids whose command line names `dir` (the guest's processes, found without their pid files). */
function pidsUnder(dir: string): number[] {
  return readdirSync("/proc")
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, "utf8").includes(dir);
      } catch {
        return false;
      }
    })
    .map(Number);
}

const listening = (host: string, port: number) =>
  new Promise<boolean>((resolve) => {
    const s = connect({ host, port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on("error", () => resolve(false));
  });

function rssMiB(pids: number[]): number {
  let kb = 0;
  for (const p of pids)
    kb += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, "utf8"))?.[1] ?? 0);
  return Math.round(kb / 1024);
}

beforeAll(async () => {
  // The local runtime's Secret access is granted by the chart only with guestClusters.runtime=local.
  installChart("--set", "guestClusters.runtime=local");
  process.env.PACIFIC_GUEST_STATE_DIR = stateDir;
  process.env.PACIFIC_KUBERNETES_BIN = printDir("kubernetes");
  process.env.PACIFIC_ETCD_BIN = printDir("etcd");
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
        guest: { readyMs, rssMiB: rssMiB(pids), processes: pids.length, version: version.gitVersion },
      }),
    );

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
  });
});
