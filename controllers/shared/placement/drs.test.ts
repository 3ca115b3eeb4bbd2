import { describe, expect, it } from "vitest";
import { must } from "../../runtime/must.js";
import type { Resources } from "../quantity.ts";
import { type HostView, place } from "./drs.ts";

const GiB = 2 ** 30;
const host = (name: string, over: Partial<HostView> = {}): HostView => ({
  name,
  zone: "zone-1",
  connected: true,
  schedulable: true,
  inMaintenance: false,
  allocatable: { cpuMilli: 8000, memory: 32 * GiB, pods: 110 },
  allocated: { cpuMilli: 0, memory: 0, pods: 0 },
  objects: 0,
  ...over,
});
const want = (cpuMilli: number, memGiB: number): Resources => ({ cpuMilli, memory: memGiB * GiB, pods: 1 });

describe("DRS placement", () => {
  it("prefers the least allocated host", () => {
    const hosts = [
      host("a", { allocated: want(4000, 8), objects: 1 }),
      host("b", { allocated: want(1000, 2), objects: 1 }),
    ];
    expect(place(hosts, { resources: want(500, 1) })).toEqual({ ok: true, host: "b" });
  });

  it("filters out hosts not responding, in maintenance, cordoned, in another zone or full", () => {
    const hosts = [
      host("down", { connected: false }),
      host("mm", { inMaintenance: true }),
      host("cordoned", { schedulable: false }),
      host("other", { zone: "zone-2" }),
      host("full", { allocated: want(7900, 1) }),
      host("ok", { allocated: want(6000, 30) }),
    ];
    expect(place(hosts, { resources: want(500, 1), zone: "zone-1" })).toEqual({ ok: true, host: "ok" });
  });

  it("says why nothing fits, counting hosts per reason", () => {
    const r = place(
      [
        host("a", { allocated: want(8000, 0) }),
        host("b", { inMaintenance: true }),
        host("c", { allocated: want(8000, 0) }),
      ],
      {
        resources: want(1000, 1),
      },
    );
    expect(r).toMatchObject({ ok: false, reason: "InsufficientCapacity" });
    expect(!r.ok && r.message).toContain("0/3 hosts can run it");
    expect(!r.ok && r.message).toContain("2 insufficient cpu");
    expect(!r.ok && r.message).toContain("1 in maintenance mode");
  });

  it("counts pod slots", () => {
    const r = place(
      [
        host("a", {
          allocatable: { cpuMilli: 8000, memory: GiB, pods: 1 },
          allocated: { cpuMilli: 0, memory: 0, pods: 1 },
        }),
      ],
      {
        resources: want(0, 0),
      },
    );
    expect(r).toMatchObject({ ok: false, reason: "InsufficientCapacity" });
    expect(!r.ok && r.message).toContain("insufficient pods");
  });

  it("spreads zero-request pods evenly with a deterministic tie-break", () => {
    const hosts = [host("c"), host("a"), host("b")];
    const placed: string[] = [];
    for (let i = 0; i < 30; i++) {
      const r = place(hosts, { resources: want(0, 0) });
      if (!r.ok) throw new Error(r.message);
      placed.push(r.host);
      const h = must(
        hosts.find((x) => x.name === r.host),
        "placed host",
      );
      h.objects++;
      h.allocated = { ...h.allocated, pods: h.allocated.pods + 1 };
    }
    expect(placed.slice(0, 3)).toEqual(["a", "b", "c"]);
    const counts = ["a", "b", "c"].map((n) => placed.filter((p) => p === n).length);
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
  });

  it("honours a pinned host and exclusions", () => {
    const hosts = [host("a"), host("b")];
    expect(place(hosts, { resources: want(0, 0), host: "b" })).toEqual({ ok: true, host: "b" });
    expect(place(hosts, { resources: want(0, 0), host: "zz" })).toMatchObject({
      ok: false,
      reason: "HostNotFound",
    });
    expect(place(hosts, { resources: want(0, 0), exclude: ["a"] })).toEqual({ ok: true, host: "b" });
    expect(place([], { resources: want(0, 0) })).toMatchObject({ ok: false, reason: "NoHosts" });
  });
});
