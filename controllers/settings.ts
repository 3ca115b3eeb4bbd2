// Simulation settings: one place for every knob. Sources, later wins: built-in defaults, the
// settings ConfigMap (chart values → pacific-settings, keys as in `settingKeys`), the manager's
// environment (PACIFIC_*, for local runs). Per-object annotations override some of them.
// Tests and benchmarks default to zero delay.

import { parsePool } from "./shared/ipam.ts";

export interface SimulationSettings {
  /** Bound → Running for a pod on an ESXi host. */
  podStartDelayMs: number;
  /** Up to this much extra start delay, chosen per pod from its uid (restart-safe, no state). */
  podStartJitterMs: number;
  /** Spherelet Lease renewal period (a quarter of the lease duration, as the kubelet does). */
  heartbeatIntervalMs: number;
  leaseDurationSeconds: number;
  /** Node status is posted on change, or at the latest this often (the kubelet's 5 minutes). */
  nodeStatusMaxIntervalMs: number;
  /** VirtualMachine power-on delay and jitter. */
  vmBootDelayMs: number;
  vmBootJitterMs: number;
  /** Datastore capacity per storage policy: "10Ti" or "10Ti,gold=1Ti,silver=500Gi". */
  datastoreCapacity: string;
  /** The load balancer's VIP pool (the Network Service): a CIDR or a range a.b.c.d-a.b.c.e. */
  vipPool: string;
  /** The workload network VMs get their primary IPv4 address from. */
  vmNetwork: string;
  /**
   * What serves a TKC's guest control plane: `local` (processes of the upstream binaries on this
   * machine, docs/guest-clusters.md), `pods` (a hosted control plane per guest: a StatefulSet, for
   * clusters with kubelets) or `none` (no control plane).
   */
  guestClustersRuntime: "local" | "pods" | "none";
}

export const defaultSettings: SimulationSettings = {
  podStartDelayMs: 0,
  podStartJitterMs: 0,
  heartbeatIntervalMs: 10_000,
  leaseDurationSeconds: 40,
  nodeStatusMaxIntervalMs: 300_000,
  vmBootDelayMs: 0,
  vmBootJitterMs: 0,
  datastoreCapacity: "10Ti",
  vipPool: "192.168.128.0/24",
  vmNetwork: "10.244.0.0/16",
  guestClustersRuntime: "none",
};

/** ConfigMap key → environment variable, for each setting. */
export const settingKeys = {
  podStartDelay: "PACIFIC_POD_START_DELAY",
  podStartJitter: "PACIFIC_POD_START_JITTER",
  heartbeatInterval: "PACIFIC_HEARTBEAT_INTERVAL",
  leaseDuration: "PACIFIC_LEASE_DURATION",
  nodeStatusMaxInterval: "PACIFIC_NODE_STATUS_MAX_INTERVAL",
  vmBootDelay: "PACIFIC_VM_BOOT_DELAY",
  vmBootJitter: "PACIFIC_VM_BOOT_JITTER",
  datastoreCapacity: "PACIFIC_DATASTORE_CAPACITY",
  vipPool: "PACIFIC_VIP_POOL",
  vmNetwork: "PACIFIC_VM_NETWORK",
  guestClustersRuntime: "PACIFIC_GUEST_CLUSTERS_RUNTIME",
} as const;

const durationPart = /([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)/g;
const unitMs: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** "1m30s" → 90000, "500ms" → 500, "2" → 2000 (plain numbers are seconds). */
export function parseDuration(s: string): number {
  const t = s.trim();
  if (/^[0-9]+(\.[0-9]+)?$/.test(t)) return Number(t) * 1000;
  let total = 0;
  let matched = "";
  for (const m of t.matchAll(durationPart)) {
    total += Number(m[1]) * (unitMs[m[2] ?? ""] ?? Number.NaN);
    matched += m[0];
  }
  if (!t || matched !== t)
    throw new Error(`not a duration: ${JSON.stringify(s)} (use e.g. 500ms, 2s, 1m30s)`);
  return Math.round(total);
}

/**
 * Settings from the settings ConfigMap's data and the environment, over the defaults. Throws on a
 * malformed value, naming its key: a typo in the chart's values must not silently mean "default".
 */
export function loadSettings(
  env: NodeJS.ProcessEnv = process.env,
  data: Record<string, string> = {},
): SimulationSettings {
  const raw = (key: keyof typeof settingKeys) => env[settingKeys[key]] || data[key] || undefined;
  const d = (key: keyof typeof settingKeys, fallback: number) => {
    const v = raw(key);
    if (v === undefined) return fallback;
    try {
      return parseDuration(v);
    } catch (e) {
      throw new Error(`setting ${key}: ${(e as Error).message}`);
    }
  };
  const settings: SimulationSettings = {
    podStartDelayMs: d("podStartDelay", defaultSettings.podStartDelayMs),
    podStartJitterMs: d("podStartJitter", defaultSettings.podStartJitterMs),
    heartbeatIntervalMs: d("heartbeatInterval", defaultSettings.heartbeatIntervalMs),
    leaseDurationSeconds: Math.round(d("leaseDuration", defaultSettings.leaseDurationSeconds * 1000) / 1000),
    nodeStatusMaxIntervalMs: d("nodeStatusMaxInterval", defaultSettings.nodeStatusMaxIntervalMs),
    vmBootDelayMs: d("vmBootDelay", defaultSettings.vmBootDelayMs),
    vmBootJitterMs: d("vmBootJitter", defaultSettings.vmBootJitterMs),
    datastoreCapacity: raw("datastoreCapacity") ?? defaultSettings.datastoreCapacity,
    vipPool: raw("vipPool") ?? defaultSettings.vipPool,
    vmNetwork: raw("vmNetwork") ?? defaultSettings.vmNetwork,
    guestClustersRuntime: guestRuntime(raw("guestClustersRuntime") ?? defaultSettings.guestClustersRuntime),
  };
  for (const key of ["vipPool", "vmNetwork"] as const) {
    try {
      parsePool(settings[key]);
    } catch (e) {
      throw new Error(`setting ${key}: ${(e as Error).message}`);
    }
  }
  if (settings.heartbeatIntervalMs >= settings.leaseDurationSeconds * 1000)
    throw new Error(
      `setting heartbeatInterval (${settings.heartbeatIntervalMs} ms) must be shorter than leaseDuration (${settings.leaseDurationSeconds} s)`,
    );
  try {
    datastoreCapacities(settings.datastoreCapacity);
  } catch (e) {
    throw new Error(`setting datastoreCapacity: ${(e as Error).message}`);
  }
  return settings;
}

function guestRuntime(v: string): SimulationSettings["guestClustersRuntime"] {
  if (v === "local" || v === "pods" || v === "none") return v;
  throw new Error(`setting guestClustersRuntime: ${JSON.stringify(v)} is not one of local, pods, none`);
}

/** A stable 32-bit hash of a string: FNV-1a, then murmur3's finaliser so similar strings spread. */
export function stableHash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A stable fraction in [0, 1) from a string: deterministic jitter without stored state. */
export function stableFraction(s: string): number {
  return stableHash(s) / 2 ** 32;
}

/** delay + jitter·fraction(seed), with per-object annotation overrides already resolved by the caller. */
export function delayWithJitter(delayMs: number, jitterMs: number, seed: string): number {
  return delayMs + Math.floor(jitterMs * stableFraction(seed));
}

/** The duration in `text`, or `fallback` when it is absent or malformed (a bad annotation never wedges a loop). */
export function durationOr(text: string | undefined, fallback: number): number {
  if (!text) return fallback;
  try {
    return parseDuration(text);
  } catch {
    return fallback;
  }
}

/**
 * Datastore capacity of each storage policy: a default ("10Ti") and per-policy entries
 * ("10Ti,gold=1Ti,silver=500Gi").
 */
export function datastoreCapacities(text: string): { default: string; policies: Record<string, string> } {
  const out = { default: "10Ti", policies: {} as Record<string, string> };
  for (const part of text
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean)) {
    const i = part.indexOf("=");
    const value = i < 0 ? part : part.slice(i + 1).trim();
    if (!/^[0-9]+(\.[0-9]+)?([KMGTPE]i?)?$/.test(value))
      throw new Error(`not a capacity: ${JSON.stringify(value)} (use e.g. 10Ti, 500Gi)`);
    if (i < 0) out.default = value;
    else out.policies[part.slice(0, i).trim()] = value;
  }
  return out;
}
