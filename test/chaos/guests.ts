// The chaos suite's guest clusters (runtime `local`, docs/guest-clusters.md): their processes as
// /proc shows them, the fault that SIGKILLs one of them, the invariants a converged cluster's guests
// hold, and the cleanup that leaves none behind. Processes are found by their command lines (every
// guest process names its guest's directory <stateDir>/<namespace>/<name>/), never by the pid files
// the manager writes: the checks must not trust what they check.
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { V1Node, V1Secret } from "@kubernetes/client-node";
import * as k8s from "@kubernetes/client-node";
import { ClusterResource } from "../../controllers/api/cluster/cluster.ts";
import { type Machine, MachineResource } from "../../controllers/api/cluster/machine.ts";
import { CapiLabels } from "../../controllers/api/contracts.ts";
import {
  type TanzuKubernetesCluster,
  TanzuKubernetesClusterResource,
} from "../../controllers/api/run/tanzukubernetescluster.ts";
import {
  type VirtualMachine,
  VirtualMachineResource,
} from "../../controllers/api/vmoperator/virtualmachine.ts";
import {
  DEFAULT_DRAIN_TIMEOUT_MS,
  GUEST_NODE_LABEL,
  nodeNameOf,
} from "../../controllers/guestnode/desired.ts";
import { KubeClient, type KubeObject } from "../../controllers/runtime/client.ts";
import { Nodes, Secrets } from "../../controllers/runtime/resource.ts";
import type { Verdict } from "./invariants.ts";

export const GUEST_COMPONENTS = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"];

export interface GuestProc {
  pid: number;
  /** `<namespace>/<name>` of the guest whose directory its command line names. */
  guest: string;
  /** The binary's base name (etcd, kube-apiserver, …). */
  component: string;
}

/** Which guest a command line belongs to (its first argument under `stateDir`), if any. Pure. */
export function guestOfArgv(argv: string[], stateDir: string): Omit<GuestProc, "pid"> | undefined {
  const prefix = `${stateDir.replace(/\/+$/, "")}/`;
  for (const a of argv) {
    const at = a.indexOf(prefix);
    if (at < 0) continue;
    const [ns, name] = a.slice(at + prefix.length).split("/");
    if (ns && name) return { guest: `${ns}/${name}`, component: argv[0]?.split("/").pop() ?? "" };
  }
  return undefined;
}

/** Every live process whose command line names a guest directory under `stateDir`. */
export function scanGuestProcesses(stateDir: string): GuestProc[] {
  const out: GuestProc[] = [];
  for (const p of readdirSync("/proc").filter((x) => /^\d+$/.test(x))) {
    try {
      // A zombie's cmdline is empty: it is dead, whatever its parent has not reaped yet.
      const argv = readFileSync(`/proc/${p}/cmdline`, "utf8").split("\0").filter(Boolean);
      const g = guestOfArgv(argv, stateDir);
      if (g) out.push({ pid: Number(p), ...g });
    } catch {} // gone meanwhile
  }
  return out;
}

/** The guest directories on disk (`<namespace>/<name>`). */
export function guestDirs(stateDir: string): string[] {
  if (!existsSync(stateDir)) return [];
  return readdirSync(stateDir).flatMap((ns) => {
    try {
      return readdirSync(join(stateDir, ns)).map((name) => `${ns}/${name}`);
    } catch {
      return [];
    }
  });
}

/** The IPv4 addresses and ports in LISTEN state in a /proc/net/tcp text. Pure. */
export function listeningSockets(procNetTcp: string): Array<{ ip: string; port: number }> {
  const out: Array<{ ip: string; port: number }> = [];
  for (const line of procNetTcp.split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f[3] !== "0A") continue; // TCP_LISTEN
    const [hexIp, hexPort] = (f[1] ?? "").split(":");
    if (hexIp?.length !== 8 || !hexPort) continue;
    // Little-endian on x86 and arm64: the first byte of the address is the last pair.
    const bytes = [6, 4, 2, 0].map((i) => Number.parseInt(hexIp.slice(i, i + 2), 16));
    out.push({ ip: bytes.join("."), port: Number.parseInt(hexPort, 16) });
  }
  return out;
}

/**
 * One process set per guest: no component twice for a guest, all four for a guest that should run
 * (`running`), none for a guest whose TKC is gone (`existing` holds those that exist). Pure.
 */
export function processSetViolations(
  procs: GuestProc[],
  running: Set<string>,
  existing: Set<string>,
): string[] {
  const byGuest = new Map<string, Map<string, number[]>>();
  for (const p of procs) {
    const g = byGuest.get(p.guest) ?? new Map<string, number[]>();
    g.set(p.component, [...(g.get(p.component) ?? []), p.pid]);
    byGuest.set(p.guest, g);
  }
  const out: string[] = [];
  for (const [guest, comps] of byGuest) {
    if (!existing.has(guest)) {
      out.push(`${guest}: TKC gone, processes left: ${[...comps].map(([c, ps]) => `${c} ${ps}`).join(", ")}`);
      continue;
    }
    for (const [c, ps] of comps)
      if (ps.length > 1) out.push(`${guest}: ${ps.length} ${c} (pids ${ps.join(" ")})`);
  }
  for (const guest of running)
    for (const c of GUEST_COMPONENTS) if (!byGuest.get(guest)?.has(c)) out.push(`${guest}: no ${c} running`);
  return out;
}

/**
 * A guest's Nodes as its powered-on Machines want them: exactly the `expected` names, each Ready,
 * and no other Node that Pacific registered (GUEST_NODE_LABEL). Pure.
 */
export function nodeViolations(
  guest: string,
  expected: string[],
  nodes: V1Node[],
  /** Nodes that may still be there: their Machine's drain is under way, or its VM is off and they are not Ready. */
  leaving: ReadonlySet<string> = new Set(),
): string[] {
  const out: string[] = [];
  const names = new Set(expected);
  for (const name of expected) {
    const n = nodes.filter((x) => x.metadata?.name === name);
    if (n.length !== 1) {
      out.push(`${guest}: no Node ${name}`);
      continue;
    }
    const ready = n[0]?.status?.conditions?.find((c) => c.type === "Ready");
    if (ready?.status !== "True") out.push(`${guest}: Node ${name} Ready=${ready?.status ?? "none"}`);
  }
  for (const n of nodes)
    if (
      n.metadata?.labels?.[GUEST_NODE_LABEL] !== undefined &&
      !names.has(n.metadata.name ?? "") &&
      !leaving.has(n.metadata.name ?? "")
    )
      out.push(`${guest}: Node ${n.metadata?.name} without a powered-on Machine`);
  return out;
}

/** Cluster API's nodeDrainTimeout as Pacific defaults it, and a margin. */
const DRAIN_ALLOWANCE_MS = DEFAULT_DRAIN_TIMEOUT_MS + 30_000;

/**
 * Nodes whose absence is not due yet, as the product documents it (docs/guest-nodes.md): a Machine
 * being deleted is drained first (bounded by its drain timeout); a Machine whose VM is not powered
 * on keeps its Node, which stops heartbeating (so it must not be Ready).
 */
function leavingNodes(
  t: TanzuKubernetesCluster,
  machines: Machine[],
  vms: VirtualMachine[],
  nodes: V1Node[],
  now: number,
): Set<string> {
  const out = new Set<string>();
  for (const m of machines) {
    if (m.metadata.namespace !== t.metadata.namespace) continue;
    if (m.metadata.labels?.[CapiLabels.clusterName] !== t.metadata.name) continue;
    const name = nodeNameOf(m);
    const deleting = m.metadata.deletionTimestamp;
    if (deleting) {
      if (now - new Date(deleting as unknown as string).getTime() < DRAIN_ALLOWANCE_MS) out.add(name);
      continue;
    }
    const vm = vms.find((v) => v.metadata.ownerReferences?.some((r) => r.uid === m.metadata.uid));
    const node = nodes.find((n) => n.metadata?.name === name);
    const ready = node?.status?.conditions?.find((c) => c.type === "Ready")?.status === "True";
    if (vm?.status?.powerState !== "PoweredOn" && !ready) out.add(name);
  }
  return out;
}

/** The Machines whose VM is powered on, of each TKC: the Nodes its guest should list. */
function poweredOnMachines(t: TanzuKubernetesCluster, machines: Machine[], vms: VirtualMachine[]): Machine[] {
  return machines
    .filter(
      (m) =>
        m.metadata.namespace === t.metadata.namespace &&
        m.metadata.labels?.[CapiLabels.clusterName] === t.metadata.name &&
        !m.metadata.deletionTimestamp,
    )
    .filter((m) =>
      vms.some(
        (v) =>
          v.metadata.ownerReferences?.some((r) => r.uid === m.metadata.uid) &&
          v.status?.powerState === "PoweredOn",
      ),
    );
}

/** One client per kubeconfig seen (the checks run every 2 s: their kept-alive sockets are reused). */
const guestClients = new Map<string, KubeClient>();

/**
 * What answers through `<tkc>-kubeconfig`: that kubeconfig as a client (its CA verified, no insecure
 * flag), /readyz and the guest's Nodes. A string says why the guest cannot be asked.
 */
async function askGuest(
  supervisor: KubeClient,
  ns: string,
  cluster: string,
): Promise<{ nodes: V1Node[] } | string> {
  const s = await supervisor
    .get<V1Secret & KubeObject>(Secrets, `${cluster}-kubeconfig`, ns)
    .catch(() => undefined);
  const text = Buffer.from(s?.data?.value ?? "", "base64").toString("utf8");
  if (!text) return "no kubeconfig Secret";
  let guest = guestClients.get(text);
  if (!guest) {
    const kc = new k8s.KubeConfig();
    try {
      kc.loadFromString(text);
    } catch (e) {
      return `kubeconfig does not parse: ${(e as Error).message}`;
    }
    const c = kc.getCurrentCluster();
    if (!c?.server.startsWith("https://")) return `kubeconfig server ${c?.server}`;
    if (c.skipTLSVerify) return "kubeconfig skips TLS verification";
    if (!c.caData) return "kubeconfig has no CA";
    guest = new KubeClient(kc, { timeoutMs: 5000 });
    guestClients.set(text, guest);
  }
  try {
    const readyz = await guest.request<string>("GET", "/readyz", { raw: true });
    if (readyz.trim() !== "ok") return `/readyz answered ${readyz.slice(0, 80)}`;
    return { nodes: (await guest.list<V1Node & KubeObject>(Nodes)).items };
  } catch (e) {
    return `does not answer: ${String((e as Error).message ?? e).slice(0, 120)}`;
  }
}

export interface GuestCheckOptions {
  stateDir: string;
  /** The guests' VIPs' prefix (`127.0.147.`): a socket listening there must be a live Cluster's. */
  vipPrefix: string;
}

/** The guest invariants over the whole cluster, as invariants.ts's verdicts. */
export async function checkGuestInvariants(client: KubeClient, o: GuestCheckOptions): Promise<Verdict[]> {
  type ClusterView = KubeObject & { spec?: { controlPlaneEndpoint?: { host?: string } } };
  const [tkcs, clusters, machines, vms] = await Promise.all([
    client.list<TanzuKubernetesCluster>(TanzuKubernetesClusterResource).then((l) => l.items),
    client.list<ClusterView>(ClusterResource).then((l) => l.items),
    client.list<Machine>(MachineResource).then((l) => l.items),
    client.list<VirtualMachine>(VirtualMachineResource).then((l) => l.items),
  ]);
  const keyOf = (x: KubeObject) => `${x.metadata?.namespace}/${x.metadata?.name}`;
  // The TKCs that must have a guest: every running one — and, beyond it, any whose control-plane
  // Machine's VM is powered on (what starts a guest), whatever its phase says: a TKC `failed` by an
  // upgrade the topology refused (a minor version skipped) still has its guest running.
  const live = tkcs.filter((t) => !t.metadata.deletionTimestamp);
  const onOf = new Map(live.map((t) => [keyOf(t), poweredOnMachines(t, machines, vms)]));
  const guested = live.filter(
    (t) =>
      t.status?.phase === "running" ||
      onOf.get(keyOf(t))?.some((m) => m.metadata.labels?.[CapiLabels.controlPlane] !== undefined),
  );
  const verdicts: Verdict[] = [];

  // Each such guest answers through its kubeconfig Secret and lists one Ready Node per powered-on
  // Machine, and no Node of Pacific's beyond them.
  const answers: string[] = [];
  const nodeProblems: string[] = [];
  let nodesChecked = 0;
  await Promise.all(
    guested.map(async (t) => {
      const key = keyOf(t);
      const got = await askGuest(client, t.metadata.namespace ?? "", t.metadata.name ?? "");
      if (typeof got === "string") {
        answers.push(`${key}: ${got}`);
        return;
      }
      const expected = (onOf.get(key) ?? []).map(nodeNameOf);
      nodesChecked += expected.length;
      const leaving = leavingNodes(t, machines, vms, got.nodes, Date.now());
      nodeProblems.push(...nodeViolations(key, expected, got.nodes, leaving));
    }),
  );
  verdicts.push({
    name: "every running TKC's guest answers /readyz through its kubeconfig",
    checked: guested.length,
    violations: answers,
  });
  verdicts.push({
    name: "one Ready guest Node per powered-on Machine, none other",
    checked: nodesChecked,
    violations: nodeProblems,
  });

  // One process set per guest; nothing of a guest whose TKC is gone (processes, directory, port).
  const procs = scanGuestProcesses(o.stateDir);
  const existing = new Set(tkcs.map(keyOf));
  verdicts.push({
    name: "one process set per guest, none for a TKC that is gone",
    checked: procs.length,
    violations: processSetViolations(procs, new Set(guested.map(keyOf)), existing),
  });
  const dirs = guestDirs(o.stateDir);
  const vips = new Set(clusters.map((c) => c.spec?.controlPlaneEndpoint?.host).filter(Boolean));
  const sockets = listeningSockets(readFileSync("/proc/net/tcp", "utf8")).filter((s) =>
    s.ip.startsWith(o.vipPrefix),
  );
  verdicts.push({
    name: "no guest directory or listening port for a TKC that is gone",
    checked: dirs.length + sockets.length,
    violations: [
      ...dirs.filter((d) => !existing.has(d)).map((d) => `${d}: directory left`),
      ...sockets
        .filter((s) => !vips.has(s.ip))
        .map((s) => `${s.ip}:${s.port} listens, no Cluster has that VIP`),
    ],
  });
  return verdicts;
}

/**
 * The fault: SIGKILL one component of one guest whose four processes run, chosen with `r`.
 * Returns the process killed, or undefined when no guest runs whole.
 */
export function killGuestProcess(stateDir: string, r: () => number): GuestProc | undefined {
  const procs = scanGuestProcesses(stateDir);
  const whole = [...new Set(procs.map((p) => p.guest))]
    .filter((g) => GUEST_COMPONENTS.every((c) => procs.some((p) => p.guest === g && p.component === c)))
    .sort();
  const guest = whole[Math.floor(r() * whole.length)];
  if (!guest) return undefined;
  const component = GUEST_COMPONENTS[Math.floor(r() * GUEST_COMPONENTS.length)];
  const victim = procs.find((p) => p.guest === guest && p.component === component);
  if (!victim) return undefined;
  try {
    process.kill(victim.pid, "SIGKILL");
  } catch {
    return undefined;
  }
  return victim;
}

/**
 * Milliseconds until the manager has started `killed`'s component again for its guest (another pid);
 * "gone" when the guest went away meanwhile (its TKC deleted), "timeout" when neither within `timeoutMs`.
 */
export async function restartedWithin(
  stateDir: string,
  killed: GuestProc,
  timeoutMs: number,
): Promise<number | "gone" | "timeout"> {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    const procs = scanGuestProcesses(stateDir);
    if (
      procs.some((p) => p.guest === killed.guest && p.component === killed.component && p.pid !== killed.pid)
    )
      return Date.now() - t0;
    if (!procs.some((p) => p.guest === killed.guest)) return "gone";
    await new Promise((res) => setTimeout(res, 250));
  }
  return "timeout";
}

/** SIGKILLs every process under `stateDir` and removes it: what a run (or a crashed one) left. Synchronous. */
export function killAllGuests(stateDir: string): number {
  const procs = scanGuestProcesses(stateDir);
  for (const p of procs)
    try {
      process.kill(p.pid, "SIGKILL");
    } catch {}
  rmSync(stateDir, { recursive: true, force: true });
  return procs.length;
}
