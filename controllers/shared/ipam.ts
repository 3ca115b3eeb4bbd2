// IP address management for the simulated networks: the load balancer's VIP pool (the Network
// Service) and the VMs' workload network. A pool is a CIDR or a range ("192.168.100.10-192.168.100.250").
// What is in use is read from the caches (status fields), never from a private counter, so a
// restart recomputes it; the pool only remembers addresses it handed out but has not yet seen in
// a cache (kube-scheduler's assume), so two allocations in a row never get the same address.

export interface AddressRange {
  first: number;
  last: number;
}

export function ipToInt(ip: string): number {
  const parts = ip.split(".").map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255))
    throw new Error(`not an IPv4 address: ${JSON.stringify(ip)}`);
  return parts.reduce((n, p) => n * 256 + p, 0);
}

export function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

/**
 * "10.0.0.0/24" → its usable hosts (network and broadcast addresses left out for /30 and wider);
 * "a.b.c.d-e.f.g.h" → that range. Throws with an example on anything else.
 */
export function parsePool(text: string): AddressRange {
  const t = text.trim();
  const dash = t.indexOf("-");
  if (dash > 0) {
    const first = ipToInt(t.slice(0, dash).trim());
    const last = ipToInt(t.slice(dash + 1).trim());
    if (last < first) throw new Error(`address range ${t} ends before it starts`);
    return { first, last };
  }
  const m = /^([0-9.]+)\/([0-9]{1,2})$/.exec(t);
  if (!m || Number(m[2]) > 32)
    throw new Error(
      `not an address pool: ${JSON.stringify(text)} (use a CIDR such as 192.168.100.0/24 or a range a.b.c.d-a.b.c.e)`,
    );
  const bits = Number(m[2]);
  const size = 2 ** (32 - bits);
  const base = Math.floor(ipToInt(m[1] ?? "") / size) * size;
  return size >= 4 ? { first: base + 1, last: base + size - 2 } : { first: base, last: base + size - 1 };
}

export function poolSize(r: AddressRange): number {
  return r.last - r.first + 1;
}

/** The lowest address of `range` not in `used` (so a released address is the first reused), or undefined. */
export function lowestFree(range: AddressRange, used: ReadonlySet<string>): string | undefined {
  for (let n = range.first; n <= range.last; n++) {
    const ip = intToIp(n);
    if (!used.has(ip)) return ip;
  }
  return undefined;
}

/** A pool over addresses in use as the caches report them, plus the ones handed out and not yet seen. */
export class IpPool {
  readonly range: AddressRange;
  /** owner key → address handed out, until the cache shows it (or it expires). */
  private readonly pending = new Map<string, { ip: string; at: number }>();

  constructor(
    readonly name: string,
    pool: string,
    private readonly inUse: () => Iterable<string>,
    private readonly ttlMs = 30_000,
  ) {
    this.range = parsePool(pool);
  }

  /** An address for `owner`: the one already pending for it, else the lowest free; undefined when exhausted. */
  allocate(owner: string): string | undefined {
    const now = Date.now();
    const used = new Set(this.inUse());
    for (const [k, p] of this.pending) {
      if (now - p.at > this.ttlMs || used.has(p.ip)) this.pending.delete(k);
    }
    const mine = this.pending.get(owner);
    if (mine) return mine.ip;
    for (const p of this.pending.values()) used.add(p.ip);
    const ip = lowestFree(this.range, used);
    if (ip) this.pending.set(owner, { ip, at: now });
    return ip;
  }

  /**
   * A specific address for `owner` (a Service's loadBalancerIP): only when it is in the pool and
   * nobody holds it, of either kind, in a cache or handed out a moment ago; undefined otherwise.
   */
  claim(owner: string, ip: string): string | undefined {
    if (!this.contains(ip)) return undefined;
    const now = Date.now();
    const used = new Set(this.inUse());
    for (const [k, p] of this.pending) {
      if (now - p.at > this.ttlMs || used.has(p.ip)) this.pending.delete(k);
    }
    const mine = this.pending.get(owner);
    if (mine?.ip === ip) return ip;
    if (used.has(ip) || [...this.pending.values()].some((p) => p.ip === ip)) return undefined;
    this.pending.set(owner, { ip, at: now });
    return ip;
  }

  /** The owner's write failed or it no longer needs the address. */
  release(owner: string): void {
    this.pending.delete(owner);
  }

  contains(ip: string): boolean {
    try {
      const n = ipToInt(ip);
      return n >= this.range.first && n <= this.range.last;
    } catch {
      return false;
    }
  }

  /** Addresses in use within the pool, and its size (for metrics and the exhausted message). */
  usage(): { used: number; size: number } {
    let used = 0;
    for (const ip of new Set(this.inUse())) if (this.contains(ip)) used++;
    return { used, size: poolSize(this.range) };
  }
}
