// Kubernetes resource quantities (k8s.io/apimachinery/pkg/api/resource) as plain numbers:
// CPU in millicores, everything else in base units (bytes, counts). Pure; unit-tested.
import { deepEqual } from "../runtime/patch.ts";

const binary: Record<string, number> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};
const decimal: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  "": 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};
const pattern = /^([+-]?[0-9.]+)(?:([eE][+-]?[0-9]+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?)$/;

/** The value of a quantity in base units; throws on something that is not a quantity. */
export function parseQuantity(q: string | number | undefined): number {
  if (q === undefined || q === "") return 0;
  if (typeof q === "number") return q;
  const m = pattern.exec(q.trim());
  if (!m) throw new Error(`not a quantity: ${JSON.stringify(q)}`);
  const n = Number(m[1]);
  if (Number.isNaN(n)) throw new Error(`not a quantity: ${JSON.stringify(q)}`);
  if (m[2]) return n * 10 ** Number(m[2].slice(1));
  const suffix = m[3] ?? "";
  return n * (binary[suffix] ?? decimal[suffix] ?? Number.NaN);
}

/** CPU in millicores, rounded up as the API server does ("0.1" → 100, "1" → 1000). */
export function cpuMilli(q: string | number | undefined): number {
  return Math.ceil(Math.round(parseQuantity(q) * 1e6) / 1e3);
}

/** Bytes (or any integer quantity), rounded up. */
export function bytes(q: string | number | undefined): number {
  return Math.ceil(parseQuantity(q));
}

/** Millicores as a quantity string: whole cores plainly ("4"), else millicores ("1500m"). */
export function formatCpu(milli: number): string {
  return milli % 1000 === 0 ? String(milli / 1000) : `${milli}m`;
}

/** Bytes as a quantity string in the largest binary unit that divides it exactly ("64Gi", "1536Mi"). */
export function formatBytes(n: number): string {
  for (const [suffix, factor] of Object.entries(binary).reverse()) {
    if (n !== 0 && n % factor === 0) return `${n / factor}${suffix}`;
  }
  return String(n);
}

export interface Resources {
  cpuMilli: number;
  memory: number;
  pods: number;
}

export const zeroResources: Resources = { cpuMilli: 0, memory: 0, pods: 0 };

export function addResources(a: Resources, b: Resources): Resources {
  return { cpuMilli: a.cpuMilli + b.cpuMilli, memory: a.memory + b.memory, pods: a.pods + b.pods };
}

export function subResources(a: Resources, b: Resources): Resources {
  return { cpuMilli: a.cpuMilli - b.cpuMilli, memory: a.memory - b.memory, pods: a.pods - b.pods };
}

interface ContainerLike {
  resources?: { requests?: Record<string, string | number>; limits?: Record<string, string | number> };
}
interface PodSpecLike {
  containers?: ContainerLike[];
  initContainers?: ContainerLike[];
  overhead?: Record<string, string | number>;
}

/** A container's request of `name`; a limit without a request counts as the request (API defaulting). */
function request(c: ContainerLike, name: string): string | number | undefined {
  return c.resources?.requests?.[name] ?? c.resources?.limits?.[name];
}

/**
 * What a pod asks of its node, as the scheduler and kubelet count it: the larger of the sum of its
 * containers and the largest init container, plus overhead; one pod slot.
 */
export function podRequests(spec: PodSpecLike | undefined): Resources {
  const sum = (name: string, conv: (q: string | number | undefined) => number) => {
    const main = (spec?.containers ?? []).reduce((acc, c) => acc + conv(request(c, name)), 0);
    const init = Math.max(0, ...(spec?.initContainers ?? []).map((c) => conv(request(c, name))));
    return Math.max(main, init) + conv(spec?.overhead?.[name]);
  };
  return { cpuMilli: sum("cpu", cpuMilli), memory: sum("memory", bytes), pods: 1 };
}

/** Equal as quantities ("1000m" and "1" are), so server canonicalisation is no reason to write. */
export function sameQuantities(
  a: Record<string, string> | undefined,
  b: Record<string, string> | undefined,
): boolean {
  const ka = Object.keys(a ?? {}).sort();
  const kb = Object.keys(b ?? {}).sort();
  if (!deepEqual(ka, kb)) return false;
  return ka.every((k) => {
    try {
      return parseQuantity(a?.[k] ?? "") === parseQuantity(b?.[k] ?? "");
    } catch {
      return a?.[k] === b?.[k];
    }
  });
}
