// The DRS-like placement engine shared by vSphere Pods and VirtualMachines. Pure: it gets a view
// of the hosts and a demand, and answers with a host or the reason none fits.
//   filter: connected, schedulable, not in maintenance, zone, free CPU / memory / pod slots;
//   score:  least allocated (kube-scheduler's LeastAllocated: mean free fraction of CPU and memory
//           after placement);
//   tie:    fewest objects placed, then the name — deterministic, and an even spread of
//           zero-request pods.
import type { Resources } from "../quantity.ts";

export interface HostView {
  name: string;
  zone: string;
  connected: boolean;
  /** False when cordoned (Node unschedulable). */
  schedulable: boolean;
  inMaintenance: boolean;
  allocatable: Resources;
  /** Requested by pods and reserved by VMs already on the host. */
  allocated: Resources;
  /** Pods and VMs on the host. */
  objects: number;
}

export interface Demand {
  resources: Resources;
  zone?: string;
  /** Only this host (a pinned VSpherePod). */
  host?: string;
  /** Never these hosts (the one a VM is migrating away from). */
  exclude?: string[];
}

export type Placement =
  | { ok: true; host: string }
  | { ok: false; reason: "InsufficientCapacity" | "NoHosts" | "HostNotFound"; message: string };

/** Why `host` cannot take `demand`, or undefined when it can. */
export function unfit(h: HostView, d: Demand): string | undefined {
  if (!h.connected) return "not responding";
  if (h.inMaintenance) return "in maintenance mode";
  if (!h.schedulable) return "unschedulable";
  if (d.zone && h.zone !== d.zone) return `in zone ${h.zone}`;
  const free = {
    cpuMilli: h.allocatable.cpuMilli - h.allocated.cpuMilli,
    memory: h.allocatable.memory - h.allocated.memory,
    pods: h.allocatable.pods - h.allocated.pods,
  };
  const short: string[] = [];
  if (d.resources.cpuMilli > free.cpuMilli) short.push("cpu");
  if (d.resources.memory > free.memory) short.push("memory");
  if (d.resources.pods > free.pods) short.push("pods");
  return short.length ? `insufficient ${short.join(", ")}` : undefined;
}

/** LeastAllocated: 0..100, higher is emptier after placing `d`. */
export function score(h: HostView, d: Demand): number {
  const frac = (alloc: number, used: number) => (alloc <= 0 ? 0 : Math.max(0, (alloc - used) / alloc));
  const cpu = frac(h.allocatable.cpuMilli, h.allocated.cpuMilli + d.resources.cpuMilli);
  const mem = frac(h.allocatable.memory, h.allocated.memory + d.resources.memory);
  return Math.round(((cpu + mem) / 2) * 100);
}

export function place(hosts: HostView[], d: Demand): Placement {
  if (hosts.length === 0) return { ok: false, reason: "NoHosts", message: "there are no ESXi hosts" };
  let candidates = hosts.filter((h) => !d.exclude?.includes(h.name));
  if (d.host) {
    candidates = candidates.filter((h) => h.name === d.host);
    if (candidates.length === 0)
      return { ok: false, reason: "HostNotFound", message: `ESXi host ${d.host} does not exist` };
  }
  const reasons = new Map<string, number>();
  const fit: HostView[] = [];
  for (const h of candidates) {
    const why = unfit(h, d);
    if (why) reasons.set(why, (reasons.get(why) ?? 0) + 1);
    else fit.push(h);
  }
  if (fit.length === 0) {
    // Like the scheduler's "0/3 nodes are available: 2 insufficient cpu, 1 in maintenance mode."
    const detail = [...reasons].map(([why, n]) => `${n} ${why}`).join(", ");
    return {
      ok: false,
      reason: "InsufficientCapacity",
      message: `0/${candidates.length} hosts can run it (cpu ${d.resources.cpuMilli}m, memory ${d.resources.memory} bytes): ${detail}`,
    };
  }
  fit.sort(
    (a, b) =>
      score(b, d) - score(a, d) || a.objects - b.objects || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  );
  const [best] = fit;
  return best ? { ok: true, host: best.name } : { ok: false, reason: "NoHosts", message: "no host fits" };
}
