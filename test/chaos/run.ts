// `npm run test:chaos`: a seeded random workload against the real local cluster — hosts added and
// removed, maintenance on and off, hosts failing and recovering, Supervisor Namespaces and bindings
// made and deleted, VSpherePods and TKCs created, scaled, upgraded and deleted — while faults are
// injected: SIGKILL of a manager (and of the leader, two replicas run), kube-apiserver and etcd
// stopped and restarted, the API server stalled (SIGSTOP) longer than the watch watchdog, and a
// second client writing over what Pacific owns. Then it waits for convergence and checks the
// invariants. Prints its seed, the faults, the time to converge and each invariant with its count;
// exits 1 on any violation. It resets the local control plane first (hack/cluster.sh down; up).
//   --seed N   (default: time-based; printed)   --ops N (default 200)
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import * as k8s from "@kubernetes/client-node";
import { TanzuKubernetesClusterResource } from "../../controllers/api/run/tanzukubernetescluster.ts";
import { ESXiHostResource } from "../../controllers/api/vsphere/esxihost.ts";
import { StorageClassBindingResource } from "../../controllers/api/vsphere/storageclassbinding.ts";
import { SupervisorNamespaceResource } from "../../controllers/api/vsphere/supervisornamespace.ts";
import { VSpherePodResource } from "../../controllers/api/vsphere/vspherepod.ts";
import { KubeClient } from "../../controllers/runtime/client.ts";
import { Namespaces, ResourceQuotas } from "../../controllers/runtime/resource.ts";
import { checkInvariants, type Verdict } from "./invariants.ts";
import { ManagerProc } from "./managers.ts";

const root = join(import.meta.dirname, "..", "..");
const { values: args } = parseArgs({
  options: { seed: { type: "string" }, ops: { type: "string", default: "200" } },
});
const seed = Number(args.seed ?? Date.now() % 1_000_000);
const OPS = Number(args.ops);

/** mulberry32: a small seeded generator, so a failing run can be replayed with its seed. */
function rng(s: number): () => number {
  let a = s >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = rng(seed);
// Restart delays draw from their own stream, so the workload's sequence depends on the seed alone.
const restartRand = rng(seed ^ 0x5eed);
const restartDelay = () => Math.floor(restartRand() * 3000);
const pick = <T>(xs: T[]): T | undefined => (xs.length ? xs[Math.floor(rand() * xs.length)] : undefined);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sh = (...a: string[]) => execFileSync("bash", a, { cwd: root, stdio: "pipe", encoding: "utf8" });

// The local control plane is started (or found running) before the kubeconfig is read.
// The faults stop and start its processes, so the suite runs against this cluster whatever
// KUBECONFIG says (helm and the managers inherit it). It starts from a fresh one: the invariants
// are over the whole cluster, and what other suites left in it is not this run's to answer for.
sh("hack/cluster.sh", "down");
sh("hack/cluster.sh", "up");
process.env.KUBECONFIG = join(root, ".cluster", "kubeconfig");
const kc = new k8s.KubeConfig();
kc.loadFromDefault();
const client = new KubeClient(kc);
const STORAGE = "vsan-default-storage-policy";
const RELEASES = [
  "v1.23.8---vmware.3-tkg.1",
  "v1.24.11---vmware.1-fips.1-tkg.1",
  "v1.25.7---vmware.3-fips.1-tkg.1",
];

// What the workload has made (names only; the API server is the truth).
const hosts = new Set<string>();
const failed = new Set<string>();
const namespaces = new Set<string>();
const homes = new Set<string>();
const vpods = new Map<string, string>(); // name → namespace
const tkcs = new Map<string, { ns: string; release: number }>();
let serial = 0;
const faults: Record<string, number> = {};
const fault = (what: string) => {
  faults[what] = (faults[what] ?? 0) + 1;
};
let opsDone = 0;
let opsFailed = 0;
const made = { vspherePods: 0, tkcs: 0 };
const refusals = new Map<string, number>();

const ops: Array<[number, () => Promise<unknown>]> = [
  [
    3,
    async () => {
      const name = `chaos-esx-${serial++}`;
      await client.create(ESXiHostResource, {
        apiVersion: "vsphere.pacific.dev/v1alpha1",
        kind: "ESXiHost",
        metadata: { name },
        spec: {
          clusterName: "chaos",
          zone: `zone-${serial % 2}`,
          capacity: { cpu: 32, memory: "128Gi", pods: 110 },
        },
      });
      hosts.add(name);
    },
  ],
  [
    1,
    async () => {
      if (hosts.size <= 4) return;
      const h = pick([...hosts])!;
      hosts.delete(h);
      failed.delete(h);
      await client.delete(ESXiHostResource, h);
    },
  ],
  [
    2,
    async () => {
      const h = pick([...hosts]);
      if (h) await client.patch(ESXiHostResource, h, undefined, { spec: { maintenanceMode: rand() < 0.5 } });
    },
  ],
  [
    2,
    async () => {
      const h = pick([...hosts]);
      if (!h) return;
      const fail = !failed.has(h) && failed.size < 1 && rand() < 0.5;
      if (fail) failed.add(h);
      else failed.delete(h);
      await client.patch(ESXiHostResource, h, undefined, { spec: { simulation: { heartbeats: !fail } } });
    },
  ],
  [
    2,
    async () => {
      if (namespaces.size >= 4) return;
      await createNamespace();
    },
  ],
  [
    1,
    async () => {
      // The two homes made first stay, so that the end state holds VSpherePods and TKCs to check.
      const ns = pick([...namespaces].filter((n) => !homes.has(n)));
      if (!ns) return;
      namespaces.delete(ns);
      for (const [n, v] of vpods) if (v === ns) vpods.delete(n);
      for (const [n, t] of tkcs) if (t.ns === ns) tkcs.delete(n);
      await client.delete(StorageClassBindingResource, `${ns}-vsan`);
      await client.delete(SupervisorNamespaceResource, ns);
    },
  ],
  [
    5,
    async () => {
      const ns = await readyNamespace();
      if (!ns) return;
      const name = `vpod-${serial++}`;
      await client.create(VSpherePodResource, {
        apiVersion: "vsphere.pacific.dev/v1alpha1",
        kind: "VSpherePod",
        metadata: { name, namespace: ns },
        spec: {
          template: {
            spec: {
              containers: [
                {
                  name: "app",
                  image: "nginx:1.27",
                  resources: { requests: { cpu: "500m", memory: "512Mi" } },
                },
              ],
            },
          },
        },
      });
      vpods.set(name, ns);
      made.vspherePods++;
    },
  ],
  [
    1,
    async () => {
      const name = pick([...vpods.keys()]);
      if (!name) return;
      const ns = vpods.get(name)!;
      vpods.delete(name);
      await client.delete(VSpherePodResource, name, ns);
    },
  ],
  [
    2,
    async () => {
      const ns = await readyNamespace();
      if (!ns || tkcs.size >= 4) return;
      const name = `tkc-${serial++}`;
      await client.create(TanzuKubernetesClusterResource, {
        apiVersion: "run.tanzu.vmware.com/v1alpha3",
        kind: "TanzuKubernetesCluster",
        metadata: { name, namespace: ns },
        spec: {
          topology: {
            controlPlane: {
              replicas: 1,
              vmClass: "best-effort-small",
              storageClass: STORAGE,
              tkr: { reference: { name: RELEASES[0] } },
            },
            nodePools: [
              { name: "workers", replicas: 1, vmClass: "best-effort-small", storageClass: STORAGE },
            ],
          },
        },
      });
      tkcs.set(name, { ns, release: 0 });
      made.tkcs++;
    },
  ],
  [
    2,
    async () => {
      const name = pick([...tkcs.keys()]);
      if (!name) return;
      await client.patch(
        TanzuKubernetesClusterResource,
        name,
        tkcs.get(name)!.ns,
        [{ op: "replace", path: "/spec/topology/nodePools/0/replicas", value: Math.floor(rand() * 4) }],
        { type: "json" },
      );
    },
  ],
  [
    1,
    async () => {
      const name = pick([...tkcs.keys()]);
      if (!name) return;
      const t = tkcs.get(name)!;
      if (t.release + 1 >= RELEASES.length) return;
      await client.patch(TanzuKubernetesClusterResource, name, t.ns, {
        spec: { topology: { controlPlane: { tkr: { reference: { name: RELEASES[t.release + 1] } } } } },
      });
      t.release++;
    },
  ],
  [
    1,
    async () => {
      const name = pick([...tkcs.keys()]);
      if (!name) return;
      const ns = tkcs.get(name)!.ns;
      tkcs.delete(name);
      await client.delete(TanzuKubernetesClusterResource, name, ns);
    },
  ],
  // A second client writing over what Pacific owns: the quota raised by hand.
  [
    1,
    async () => {
      const ns = pick([...namespaces]);
      if (!ns) return;
      fault("conflicting write");
      await client.patch(ResourceQuotas, `pacific-storage-${STORAGE}`, ns, {
        spec: { hard: { [`${STORAGE}.storageclass.storage.k8s.io/requests.storage`]: "999Ti" } },
      });
    },
  ],
];
async function createNamespace(): Promise<string> {
  const ns = `chaos-ns-${serial++}`;
  await client.create(SupervisorNamespaceResource, {
    apiVersion: "vsphere.pacific.dev/v1alpha1",
    kind: "SupervisorNamespace",
    metadata: { name: ns },
    spec: { vmClasses: ["best-effort-small", "best-effort-medium"], podSecurity: "privileged" },
  });
  await client.create(StorageClassBindingResource, {
    apiVersion: "vsphere.pacific.dev/v1alpha1",
    kind: "StorageClassBinding",
    metadata: { name: `${ns}-vsan` },
    spec: { namespace: ns, storageClass: STORAGE, limit: "1Ti" },
  });
  namespaces.add(ns);
  return ns;
}

/** A namespace of the workload that its Supervisor Namespace has already made (else none). */
async function readyNamespace(): Promise<string | undefined> {
  const ns = pick([...namespaces]);
  return ns &&
    (await client.get(Namespaces, ns).then(
      () => true,
      () => false,
    ))
    ? ns
    : undefined;
}

const totalWeight = ops.reduce((n, [w]) => n + w, 0);
function randomOp(): () => Promise<unknown> {
  let r = rand() * totalWeight;
  for (const [w, op] of ops) {
    r -= w;
    if (r <= 0) return op;
  }
  return ops[0]![1];
}

async function main(): Promise<void> {
  const started = Date.now();
  console.log(JSON.stringify({ chaos: "start", seed, ops: OPS }));
  const helmDir = sh("hack/build-tools.sh", "--print-dir", "helm").trim();
  execFileSync(
    join(helmDir, "helm"),
    [
      "upgrade",
      "--install",
      "pacific",
      join(root, "charts", "pacific"),
      "-n",
      "pacific-system",
      "--create-namespace",
      "--set",
      "replicas=0",
      "--wait",
    ],
    { stdio: "pipe" },
  );
  sh("hack/manager.sh", "wait-ready");
  execFileSync("npm", ["run", "--silent", "build"], { cwd: root, stdio: "pipe" });
  const work = mkdtempSync(join(tmpdir(), "pacific-chaos-"));
  const kubeconfig = join(work, "kubeconfig");
  sh("hack/manager.sh", "kubeconfig", kubeconfig);
  const managers = [
    new ManagerProc("a", 18101, root, kubeconfig, join(work, "manager-a.log"), restartDelay),
    new ManagerProc("b", 18102, root, kubeconfig, join(work, "manager-b.log"), restartDelay),
  ];
  for (const m of managers) m.start();
  // Homes for VSpherePods and TKCs from the start (more come and go during the run).
  for (const ns of [await createNamespace(), await createNamespace()]) {
    homes.add(ns);
    const deadline = Date.now() + 60_000;
    while (
      !(await client.get(Namespaces, ns).then(
        () => true,
        () => false,
      )) &&
      Date.now() < deadline
    )
      await sleep(250);
  }

  // Faults at fixed shares of each block of 200 operations (a longer run repeats them), and a kill
  // every 12 operations.
  const BLOCK = Math.min(OPS, 200);
  const killEvery = Math.max(5, Math.floor(BLOCK / 16));
  let killNo = 0;
  const at = (share: number) => Math.floor(BLOCK * share);
  const schedule = new Map<number, () => Promise<void>>([
    [
      at(0.25),
      async () => {
        fault("kube-apiserver restart");
        sh("hack/cluster.sh", "stop", "kube-apiserver");
        await sleep(2000);
        sh("hack/cluster.sh", "up");
      },
    ],
    [
      at(0.45),
      async () => {
        fault("etcd restart");
        sh("hack/cluster.sh", "stop", "etcd");
        await sleep(2000);
        sh("hack/cluster.sh", "up");
      },
    ],
    [
      at(0.6),
      async () => {
        fault("kube-apiserver stalled (SIGSTOP 12 s > watchdog 10 s)");
        const pid = sh("hack/cluster.sh", "pid", "kube-apiserver").trim();
        process.kill(Number(pid), "SIGSTOP");
        await sleep(12_000);
        process.kill(Number(pid), "SIGCONT");
      },
    ],
    [
      at(0.75),
      async () => {
        fault("kube-apiserver restart");
        sh("hack/cluster.sh", "stop", "kube-apiserver");
        await sleep(2000);
        sh("hack/cluster.sh", "up");
      },
    ],
  ]);

  for (let i = 0; i < OPS; i++) {
    if (i > 0 && i % BLOCK === 0)
      console.log(
        JSON.stringify({
          chaos: "progress",
          operations: i,
          done: opsDone,
          faults,
          seconds: Math.round((Date.now() - started) / 1000),
        }),
      );
    const f = schedule.get(i % BLOCK);
    if (f) await f();
    if (i > 0 && i % killEvery === 0) {
      // Every fourth kill takes the leader (a new one leads after the 15 s lease); the others a
      // replica at random, usually the standby. Each is restarted 0-3 s later (its restart policy).
      killNo++;
      // Both may be restarting (a kill a moment ago, or a lease lost in a stall): wait for one.
      for (let w = 0; w < 50 && !managers.some((m) => m.running()); w++) await sleep(100);
      const running = managers.filter((m) => m.running());
      const leader = (await Promise.all(running.map(async (m) => ((await m.leads()) ? m : undefined)))).find(
        Boolean,
      );
      const victim =
        killNo % 4 === 0 && leader ? leader : (pick(running.filter((m) => m !== leader)) ?? pick(running));
      if (victim?.kill()) fault(victim === leader ? "SIGKILL of the leader" : "SIGKILL of the standby");
    }
    try {
      await randomOp()();
      opsDone++;
    } catch (e) {
      opsFailed++; // refused or raced (a fault in progress): the workload goes on
      const msg = String((e as Error).message ?? e).slice(0, 160);
      refusals.set(msg, (refusals.get(msg) ?? 0) + 1);
    }
    await sleep(100 + Math.floor(rand() * 300));
  }

  // The workload stops: failed hosts recover, maintenance ends, both managers run.
  for (const h of hosts)
    await client
      .patch(ESXiHostResource, h, undefined, {
        spec: { maintenanceMode: false, simulation: { heartbeats: true } },
      })
      .catch(() => undefined);
  for (const m of managers) m.start();
  const lastFault = Date.now();
  let verdicts: Verdict[] = [];
  let converged = false;
  const lastViolated = new Map<string, { at: number; first: string }>();
  while (Date.now() - lastFault < 120_000) {
    verdicts = await checkInvariants(client).catch(() => []);
    // Which invariant holds convergence back: the last moment each one was violated.
    for (const v of verdicts)
      if (v.violations.length)
        lastViolated.set(v.name, { at: Date.now() - lastFault, first: v.violations[0]! });
    if (verdicts.length && verdicts.every((v) => v.violations.length === 0)) {
      converged = true;
      break;
    }
    await sleep(2000);
  }
  const convergeSeconds = Math.round((Date.now() - lastFault) / 100) / 10;
  const kills = managers.reduce((n, m) => n + m.kills, 0);
  const selfExits = managers.reduce((n, m) => n + m.selfExits, 0);
  console.log(
    JSON.stringify({
      chaos: "result",
      seed,
      operations: { attempted: OPS, done: opsDone, refusedOrRaced: opsFailed },
      refusals: Object.fromEntries([...refusals].sort((a, b) => b[1] - a[1]).slice(0, 5)),
      made,
      atTheEnd: {
        hosts: hosts.size,
        failedThenRecovered: failed.size,
        namespaces: namespaces.size,
        vspherePods: vpods.size,
        tkcs: tkcs.size,
      },
      faults: { ...faults, managerKills: kills, managerExitsOnTheirOwn: selfExits },
      managerLogs: work,
      convergeSeconds,
      converged,
      heldBackBy: Object.fromEntries(
        [...lastViolated].map(([name, v]) => [
          name,
          { untilSeconds: Math.round(v.at / 100) / 10, example: v.first.slice(0, 160) },
        ]),
      ),
      invariants: verdicts.map((v) => ({
        name: v.name,
        checked: v.checked,
        violations: v.violations.length,
        first: v.violations.slice(0, 3),
      })),
      seconds: Math.round((Date.now() - started) / 1000),
    }),
  );

  // Clean up what the workload made, with the managers still running (finalizers), then stop them.
  for (const [n, t] of tkcs)
    await client.delete(TanzuKubernetesClusterResource, n, t.ns).catch(() => undefined);
  for (const ns of namespaces) {
    await client.delete(StorageClassBindingResource, `${ns}-vsan`).catch(() => undefined);
    await client.delete(SupervisorNamespaceResource, ns).catch(() => undefined);
  }
  for (const h of hosts) await client.delete(ESXiHostResource, h).catch(() => undefined);
  const gone = Date.now() + 60_000;
  while (Date.now() < gone) {
    const left = await client.list(SupervisorNamespaceResource).then(
      (l) => l.items.length,
      () => 0,
    );
    if (left === 0) break;
    await sleep(1000);
  }
  for (const m of managers) await m.stop();
  const ok = converged && convergeSeconds <= 60 && kills >= 10;
  console.log(
    `${ok ? "chaos passed" : "chaos FAILED"}: seed ${seed}, converged in ${convergeSeconds} s, ${kills} manager kills`,
  );
  process.exit(ok ? 0 : 1);
}

await main();
