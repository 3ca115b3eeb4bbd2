import { describe, expect, it } from "vitest";
import { addressConflict, cidrRange, cidrsOverlap, rangesRemembered } from "./addresses.ts";

const h = (name: string, created: string, podCIDR?: string, managementIP?: string) => ({
  name,
  created,
  podCIDR,
  managementIP,
});

describe("host addresses", () => {
  it("reads CIDR ranges and their overlaps", () => {
    expect(cidrRange("10.0.1.0/24")).toEqual([167772416, 167772671]);
    expect(cidrsOverlap("10.0.0.0/16", "10.0.7.0/24")).toBe(true);
    expect(cidrsOverlap("10.0.1.0/24", "10.0.2.0/24")).toBe(false);
    expect(cidrsOverlap("bad", "10.0.2.0/24")).toBe(false);
  });
  it("refuses the later host's pod CIDR or management IP, never the earlier one's", () => {
    const a = h("a", "2026-01-01T00:00:00Z", "10.9.0.0/24", "172.16.0.2");
    const b = h("b", "2026-01-02T00:00:00Z", "10.9.0.0/25", "172.16.0.3");
    expect(addressConflict(b, [a])?.reason).toBe("PodCIDRConflict");
    expect(addressConflict(b, [a])?.message).toContain("ESXi host a");
    expect(addressConflict(a, [b])).toBeUndefined();
    const c = h("c", "2026-01-02T00:00:00Z", "10.9.1.0/24", "172.16.0.2");
    expect(addressConflict(c, [a])?.reason).toBe("ManagementIPConflict");
    // Same creation second: the name decides, so exactly one of the two is refused.
    const d = h("d", "2026-01-02T00:00:00Z", "10.9.1.0/24");
    expect(addressConflict(d, [c])?.reason).toBe("PodCIDRConflict");
    expect(addressConflict(c, [d])).toBeUndefined();
    expect(
      addressConflict(h("e", "2026-01-03T00:00:00Z", "10.9.2.0/24", "172.16.0.9"), [a, b, c]),
    ).toBeUndefined();
  });
  it("remembers parsed CIDRs within a bound", () => {
    for (let i = 0; i < 60_000; i++) cidrsOverlap(`10.${i >> 8}.${i & 255}.0/24`, "10.255.255.0/24");
    expect(rangesRemembered()).toBeLessThanOrEqual(50_000);
    expect(cidrsOverlap("10.0.0.0/16", "10.0.7.0/24")).toBe(true);
  });
});
