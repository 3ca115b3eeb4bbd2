import { describe, expect, it } from "vitest";
import { IpPool, intToIp, ipToInt, lowestFree, parsePool, poolSize } from "./ipam.ts";

describe("ipam", () => {
  it("parses CIDRs (without network and broadcast) and ranges", () => {
    const c = parsePool("192.168.100.0/24");
    expect([intToIp(c.first), intToIp(c.last), poolSize(c)]).toEqual([
      "192.168.100.1",
      "192.168.100.254",
      254,
    ]);
    const r = parsePool("10.0.0.10-10.0.0.12");
    expect(poolSize(r)).toBe(3);
    expect(intToIp(ipToInt("10.1.2.3"))).toBe("10.1.2.3");
    expect(() => parsePool("10.0.0.0/33")).toThrow(/not an address pool/);
    expect(() => parsePool("lots")).toThrow(/use a CIDR/);
    expect(() => parsePool("10.0.0.9-10.0.0.1")).toThrow(/ends before it starts/);
  });

  it("hands out the lowest free address, so a released one is reused first", () => {
    const r = parsePool("10.0.0.10-10.0.0.12");
    expect(lowestFree(r, new Set())).toBe("10.0.0.10");
    expect(lowestFree(r, new Set(["10.0.0.10", "10.0.0.12"]))).toBe("10.0.0.11");
    expect(lowestFree(r, new Set(["10.0.0.10", "10.0.0.11", "10.0.0.12"]))).toBeUndefined();
  });

  it("never gives two owners the same address before the cache shows the first", () => {
    const seen: string[] = [];
    const pool = new IpPool("vip", "10.0.0.10-10.0.0.11", () => seen);
    const a = pool.allocate("a");
    const b = pool.allocate("b");
    expect(a).toBe("10.0.0.10");
    expect(b).toBe("10.0.0.11");
    expect(pool.allocate("a")).toBe(a); // idempotent per owner
    expect(pool.allocate("c")).toBeUndefined(); // exhausted
    pool.release("b");
    expect(pool.allocate("c")).toBe("10.0.0.11");
    seen.push("10.0.0.10"); // a's write observed
    expect(pool.usage()).toEqual({ used: 1, size: 2 });
  });

  it("gives a requested address only when nobody holds it, of either kind", () => {
    const seen = ["10.0.0.10"]; // a VirtualMachineService's VIP, in its status
    const pool = new IpPool("vip", "10.0.0.10-10.0.0.12", () => seen);
    expect(pool.claim("svc/x", "10.0.0.10")).toBeUndefined();
    expect(pool.claim("svc/x", "10.0.0.99")).toBeUndefined(); // outside the pool
    expect(pool.claim("svc/x", "10.0.0.11")).toBe("10.0.0.11");
    expect(pool.claim("svc/x", "10.0.0.11")).toBe("10.0.0.11"); // idempotent
    expect(pool.claim("svc/y", "10.0.0.11")).toBeUndefined(); // handed out a moment ago
    expect(pool.allocate("svc/z")).toBe("10.0.0.12");
  });
});
