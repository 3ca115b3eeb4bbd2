// Small pieces the views share: capacity bars, state badges, shallow comparison for list items.
import type { HostState, Usage } from "../../../controllers/ui/model.ts";

/** A vSphere-style usage bar: VM reservations, then pods, of the capacity. */
export function Bar({ label, u, format }: { label: string; u: Usage; format: (n: number) => string }) {
  const pct = (n: number) => (u.capacity > 0 ? Math.min(100, (100 * n) / u.capacity) : 0);
  const used = u.vms + u.pods;
  return (
    <div
      class="bar"
      title={`${label}: VMs ${format(u.vms)}, pods ${format(u.pods)} of ${format(u.capacity)}`}
    >
      <span class="bar-label">{label}</span>
      <span class="bar-track">
        <span class="bar-vms" style={{ width: `${pct(u.vms)}%` }} />
        <span class="bar-pods" style={{ width: `${pct(u.pods)}%` }} />
      </span>
      <span class="bar-text">
        {format(used)} / {format(u.capacity)}
      </span>
    </div>
  );
}

/** A limit bar (namespaces): usage of a limit, red over 90%. */
export function LimitBar({
  label,
  used,
  limit,
  format,
}: {
  label: string;
  used: number;
  limit: number;
  format: (n: number) => string;
}) {
  const pct = limit > 0 ? Math.min(100, (100 * used) / limit) : 0;
  return (
    <div class={`bar ${limit > 0 && used / limit > 0.9 ? "over" : ""}`}>
      <span class="bar-label">{label}</span>
      <span class="bar-track">
        <span class="bar-pods" style={{ width: `${pct}%` }} />
      </span>
      <span class="bar-text">
        {format(used)} / {limit > 0 ? format(limit) : "no limit"}
      </span>
    </div>
  );
}

const STATE_TEXT: Record<HostState, string> = {
  connected: "Connected",
  notResponding: "Not responding",
  disconnected: "Disconnected",
  maintenance: "Maintenance mode",
  enteringMaintenance: "Entering maintenance mode",
};

export function HostBadge({ state }: { state: HostState }) {
  return (
    <span class={`badge state-${state}`} data-testid="host-state">
      {STATE_TEXT[state]}
    </span>
  );
}

export function Phase({ phase }: { phase: string }) {
  return <span class={`badge phase-${phase.toLowerCase()}`}>{phase}</span>;
}

/** Shallow equality of props whose arrays hold the (immutable) rows of the store. */
export function sameProps(a: object, b: object): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) {
    const x = (a as Record<string, unknown>)[k];
    const y = (b as Record<string, unknown>)[k];
    if (x === y) continue;
    if (Array.isArray(x) && Array.isArray(y) && x.length === y.length && x.every((v, i) => v === y[i]))
      continue;
    return false;
  }
  return true;
}
