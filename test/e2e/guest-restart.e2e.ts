// Guest clusters survive their manager: two TKCs' guest control planes run (runtime `local`), the
// manager — a real process, as `npm run up` runs it — is SIGKILLed and started again. Each guest
// answers again through its kubeconfig Secret, exactly one process set per guest exists (the
// restarted manager adopted them: the same pids, found through /proc), and an object created in each
// guest before the kill is still there; a guest process that dies afterwards is started again by
// the restarted manager. VIP pool 127.0.145.1-20 (loopback).
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { V1Secret } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ClusterResource } from "../../controllers/api/cluster/cluster.ts";
import {
  type TanzuKubernetesCluster,
  TanzuKubernetesClusterResource,
} from "../../controllers/api/run/tanzukubernetescluster.ts";
import { ESXiHostResource } from "../../controllers/api/vsphere/esxihost.ts";
import { StorageClassBindingResource } from "../../controllers/api/vsphere/storageclassbinding.ts";
import { SupervisorNamespaceResource } from "../../controllers/api/vsphere/supervisornamespace.ts";
import { KubeClient } from "../../controllers/runtime/client.ts";
import { Secrets } from "../../controllers/runtime/resource.ts";
import { processesUnder, toolDir } from "./fixtures/processes.ts";
import { createBoundNamespace, createHosts } from "./fixtures/supervisor.ts";
import { LIGHT, tkcManifest } from "./fixtures/tkc.ts";
import { eventually, isNotFound, kubeConfig, root, uniqueName } from "./kube.ts";
import { installChart } from "./tools.ts";

const client = new KubeClient(kubeConfig());
const suffix = uniqueName("r").slice(2);
const ns = `guest-restart-${suffix}`;
const hosts = ["a", "b"].map((x) => `guest-restart-${suffix}-esx-${x}`);
const TKCS = ["tkc-a", "tkc-b"];
const kubectlBin = join(toolDir("kubernetes"), "kubectl");
const work = mkdtempSync(join(tmpdir(), "pacific-guest-restart-"));
const stateDir = join(work, "guests");
const managerKubeconfig = join(work, "manager.kubeconfig");
let manager: ChildProcess | undefined;

const tkc = (name: string): TanzuKubernetesCluster =>
  tkcManifest({ name, namespace: ns, ...LIGHT, tkr: "v1.37.2---vmware.1-vkr.1", settings: "storage" });

/** The manager as a process of its own (node + tsx, as `npm start`), the chart ServiceAccount's token. */
function startManager(): ChildProcess {
  const log = openSync(join(work, "manager.log"), "a");
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      join(root, "controllers", "main.ts"),
      `--kubeconfig=${managerKubeconfig}`,
      "--leader-elect=false",
      "--bind-address=127.0.0.1:0",
      "--ui=false",
      "--log-level=info",
    ],
    {
      cwd: root,
      stdio: ["ignore", log, log],
      env: {
        ...process.env,
        PACIFIC_GUEST_CLUSTERS_RUNTIME: "local",
        PACIFIC_VIP_POOL: "127.0.145.1-127.0.145.20",
        PACIFIC_VM_BOOT_DELAY: "0s",
        PACIFIC_POD_START_DELAY: "0s",
        PACIFIC_GUEST_STATE_DIR: stateDir,
        PACIFIC_KUBERNETES_BIN: toolDir("kubernetes"),
        PACIFIC_ETCD_BIN: toolDir("etcd"),
      },
    },
  );
  closeSync(log);
  return child;
}

async function killManager(signal: NodeJS.Signals): Promise<void> {
  const m = manager;
  manager = undefined;
  if (!m || m.exitCode !== null || m.signalCode !== null) return;
  const exited = new Promise((r) => m.once("exit", r));
  m.kill(signal);
  await Promise.race([exited, new Promise((r) => setTimeout(r, 30_000))]);
}

const kubeconfigFile = (name: string) => join(work, `${name}.kubeconfig`);
const guest = (name: string, args: string[]) =>
  execFileSync(kubectlBin, ["--kubeconfig", kubeconfigFile(name), ...args], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });

beforeAll(async () => {
  installChart("--set", "guestClusters.runtime=local");
  execFileSync("bash", [join(root, "hack", "manager.sh"), "kubeconfig", managerKubeconfig], {
    stdio: "pipe",
  });
  manager = startManager();
  await createHosts(client, hosts, `guest-restart-${suffix}`);
  await createBoundNamespace(client, ns, ["best-effort-small"]);
}, 180_000);

afterAll(async () => {
  if (!manager) manager = startManager(); // the guests' finalizers need a manager
  for (const t of TKCS) await client.delete(TanzuKubernetesClusterResource, t, ns).catch(() => undefined);
  for (const t of TKCS)
    await eventually(
      `Cluster ${t} gone`,
      async () =>
        client.get(ClusterResource, t, ns).then(
          () => false,
          (e) => isNotFound(e),
        ),
      90_000,
    ).catch(() => undefined);
  await client.delete(StorageClassBindingResource, `${ns}-vsan`).catch(() => undefined);
  await client.delete(SupervisorNamespaceResource, ns).catch(() => undefined);
  for (const h of hosts) await client.delete(ESXiHostResource, h).catch(() => undefined);
  await killManager("SIGTERM");
  // Whatever a failed test left: exactly the processes under this run's state directory.
  for (const p of processesUnder(stateDir).keys()) process.kill(p, "SIGKILL");
  rmSync(work, { recursive: true, force: true });
  installChart();
}, 240_000);

describe("guest control planes across a SIGKILLed manager (runtime local)", () => {
  it("are adopted, not started twice, and keep their data", async () => {
    for (const t of TKCS) await client.create(TanzuKubernetesClusterResource, tkc(t));
    // Both guests answer through their kubeconfig Secrets; an object goes into each.
    for (const t of TKCS) {
      await eventually(
        `guest ${t} answering through ${t}-kubeconfig`,
        async () => {
          const s = await client.get<V1Secret>(Secrets, `${t}-kubeconfig`, ns);
          const text = Buffer.from(s.data?.value ?? "", "base64").toString("utf8");
          if (!text.includes("certificate-authority-data")) return undefined;
          writeFileSync(kubeconfigFile(t), text, { mode: 0o600 });
          return guest(t, ["get", "--raw", "/readyz"]);
        },
        180_000,
        500,
      );
      guest(t, ["create", "configmap", "before-kill", `--from-literal=guest=${t}`]);
    }
    const dirOf = (t: string) => join(stateDir, ns, t);
    for (const t of TKCS)
      await eventually(`4 processes of ${t}`, async () => processesUnder(dirOf(t)).size === 4, 30_000);
    const before = new Map(TKCS.map((t) => [t, [...processesUnder(dirOf(t)).keys()].sort()]));

    await killManager("SIGKILL");
    // The guests run on without it (their own sessions).
    for (const t of TKCS) expect([...processesUnder(dirOf(t)).keys()].sort()).toEqual(before.get(t));
    const t0 = Date.now();
    manager = startManager();
    // Its caches synced, the controller reconciles each Cluster at once and then every 10 s: after
    // 25 s it has had two resyncs in which to start a second copy, were it to.
    await new Promise((r) => setTimeout(r, 25_000));
    expect(manager.exitCode, "the restarted manager runs").toBeNull();
    for (const t of TKCS) {
      const procs = processesUnder(dirOf(t));
      expect([...procs.keys()].sort(), `${t}: the same processes`).toEqual(before.get(t));
      expect([...procs.values()].sort(), `${t}: one of each`).toEqual([
        "etcd",
        "kube-apiserver",
        "kube-controller-manager",
        "kube-scheduler",
      ]);
      expect(guest(t, ["get", "--raw", "/readyz"])).toBe("ok");
      expect(guest(t, ["get", "configmap", "before-kill", "-o", "jsonpath={.data.guest}"])).toBe(t);
    }
    // And the status still follows them.
    for (const t of TKCS) {
      const got = await client.get<TanzuKubernetesCluster>(TanzuKubernetesClusterResource, t, ns);
      const c = got.status?.conditions?.find((x) => x.type === "GuestControlPlaneReady");
      expect(c?.status).toBe("True");
      expect(c?.reason).toBe("Ready"); // v1.37.2: the release is the version the guest reports
      expect(got.status?.guestControlPlane).toEqual({ runtime: "local", version: "v1.37.2" });
    }
    // The restarted manager looks after what it adopted: a guest process that dies is started again.
    const [schedulerPid] =
      [...processesUnder(dirOf("tkc-a"))].find(([, bin]) => bin === "kube-scheduler") ?? [];
    expect(schedulerPid).toBeDefined();
    process.kill(schedulerPid ?? 0, "SIGKILL");
    await eventually(
      "tkc-a's kube-scheduler started again by the restarted manager",
      async () => {
        const procs = [...processesUnder(dirOf("tkc-a"))];
        return (
          procs.length === 4 && procs.some(([pid, bin]) => bin === "kube-scheduler" && pid !== schedulerPid)
        );
      },
      30_000,
      500,
    );
    console.info(
      JSON.stringify({ guestRestart: { guests: TKCS.length, processesEach: 4, afterMs: Date.now() - t0 } }),
    );
  }, 420_000);
});
