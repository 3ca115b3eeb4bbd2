// How a KubeadmControlPlane or a MachineDeployment moves its Machines toward the desired count and
// template, as one pure step: Cluster API's rolling update with maxSurge 1 and maxUnavailable 0 —
// one new machine at a time, an old one deleted only once the new one runs. Names are deterministic
// (<owner>-<template hash>-<ordinal>), so a step repeated after a crash, or on a stale cache,
// creates nothing twice.

export interface MachineView {
  name: string;
  /** The template hash the machine was made from. */
  hash: string;
  ordinal: number;
  running: boolean;
  deleting: boolean;
}

export interface RolloutStep {
  create: string[];
  delete: string[];
  /** Why nothing else happens yet (for logs and conditions), when something waits. */
  waiting?: string;
}

export function machineName(owner: string, hash: string, ordinal: number): string {
  return `${owner}-${hash}-${ordinal}`;
}

/** The lowest ordinals not used by `machines` of this hash. */
function freeOrdinals(machines: MachineView[], hash: string, n: number): number[] {
  const used = new Set(machines.filter((m) => m.hash === hash).map((m) => m.ordinal));
  const out: number[] = [];
  for (let i = 0; out.length < n; i++) if (!used.has(i)) out.push(i);
  return out;
}

/** Newest first by ordinal: the machines a scale-down removes. */
const byOrdinalDesc = (a: MachineView, b: MachineView) => b.ordinal - a.ordinal || (a.name < b.name ? 1 : -1);

/**
 * The next step for `owner` with `replicas` machines of template `hash`.
 * `oneAtATime`: the control plane adds and removes one member at a time (etcd quorum).
 */
export function planRollout(
  owner: string,
  replicas: number,
  hash: string,
  machines: MachineView[],
  oneAtATime: boolean,
): RolloutStep {
  const live = machines.filter((m) => !m.deleting);
  const current = live.filter((m) => m.hash === hash);
  const outdated = live.filter((m) => m.hash !== hash);
  const deleting = machines.filter((m) => m.deleting);
  const create = (n: number) => freeOrdinals(machines, hash, n).map((i) => machineName(owner, hash, i));

  if (outdated.length === 0) {
    if (current.length < replicas) {
      if (oneAtATime && current.some((m) => !m.running))
        return { create: [], delete: [], waiting: "a new control-plane machine is starting" };
      return { create: create(oneAtATime ? 1 : replicas - current.length), delete: [] };
    }
    if (current.length > replicas) {
      if (oneAtATime && deleting.length > 0)
        return { create: [], delete: [], waiting: "a control-plane machine is being deleted" };
      const extra = [...current].sort(byOrdinalDesc).slice(0, oneAtATime ? 1 : current.length - replicas);
      return { create: [], delete: extra.map((m) => m.name) };
    }
    return { create: [], delete: [] };
  }

  // Rolling update: surge one new machine, then retire one old machine once it runs.
  if (deleting.length > 0) return { create: [], delete: [], waiting: "an old machine is being deleted" };
  if (current.some((m) => !m.running))
    return { create: [], delete: [], waiting: "a new machine is starting" };
  if (live.length > replicas) {
    const old = [...outdated].sort(byOrdinalDesc)[0];
    return { create: [], delete: old ? [old.name] : [] };
  }
  return { create: create(1), delete: [] };
}

/** A short stable hash of a machine template (version, class, storage class, image). */
export function templateHash(parts: Array<string | undefined>): string {
  let h = 0x811c9dc5;
  const s = parts.map((p) => p ?? "").join("\u0000");
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  // base36 of 5 chars, lower case: a DNS-label-safe name part.
  return ((h >>> 0) % 36 ** 5).toString(36).padStart(5, "0");
}
