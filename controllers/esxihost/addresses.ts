// Pod CIDRs and management IPs are the host's own: two hosts sharing one would give two pods the
// same IP (issue 19, finding 14). The later host (by creation, then name) is the one refused: it
// registers no Node and reports why. Pure; unit-tested.

export interface HostAddresses {
  name: string;
  /** RFC 3339 creation time: the older host keeps its addresses. */
  created: string;
  podCIDR?: string;
  managementIP?: string;
}

export interface AddressConflict {
  reason: "PodCIDRConflict" | "ManagementIPConflict";
  message: string;
}

function ipv4(ip: string): number | undefined {
  const parts = ip.split(".");
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    const o = Number(p);
    if (!/^\d{1,3}$/.test(p) || o > 255) return undefined;
    n = n * 256 + o;
  }
  return n;
}

/** The first and last address of an IPv4 CIDR, or undefined when it is none. */
export function cidrRange(cidr: string): [number, number] | undefined {
  const [base, bits] = cidr.split("/");
  const start = ipv4(base ?? "");
  const prefix = Number(bits);
  if (start === undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > 32) return undefined;
  const size = 2 ** (32 - prefix);
  const first = start - (start % size);
  return [first, first + size - 1];
}

/**
 * cidrRange of the CIDRs seen, remembered: a registering host is checked against every other
 * host's CIDR, so at 5,000 hosts parsing them again each time was most of the manager's CPU
 * (bench hosts-5k). Bounded: forgotten in one go past MEMO_LIMIT entries.
 */
const ranges = new Map<string, [number, number] | undefined>();
const MEMO_LIMIT = 50_000;
function rangeOf(cidr: string): [number, number] | undefined {
  if (ranges.has(cidr)) return ranges.get(cidr);
  if (ranges.size >= MEMO_LIMIT) ranges.clear();
  const r = cidrRange(cidr);
  ranges.set(cidr, r);
  return r;
}

/** Entries remembered by rangeOf (for the bound's test). */
export const rangesRemembered = (): number => ranges.size;

export function cidrsOverlap(a: string, b: string): boolean {
  const x = rangeOf(a);
  const y = rangeOf(b);
  return !!x && !!y && x[0] <= y[1] && y[0] <= x[1];
}

const older = (a: HostAddresses, b: HostAddresses) =>
  a.created < b.created || (a.created === b.created && a.name < b.name);

/** Why `host` may not use its addresses: an older host already has them. */
export function addressConflict(host: HostAddresses, others: HostAddresses[]): AddressConflict | undefined {
  for (const o of others) {
    if (o.name === host.name || !older(o, host)) continue;
    if (host.podCIDR && o.podCIDR && cidrsOverlap(host.podCIDR, o.podCIDR))
      return {
        reason: "PodCIDRConflict",
        message: `pod CIDR ${host.podCIDR} overlaps ${o.podCIDR} of ESXi host ${o.name}: pods would share addresses; give this host another spec.podCIDR`,
      };
    if (host.managementIP && host.managementIP === o.managementIP)
      return {
        reason: "ManagementIPConflict",
        message: `management IP ${host.managementIP} is ESXi host ${o.name}'s; give this host another spec.managementIP`,
      };
  }
  return undefined;
}
