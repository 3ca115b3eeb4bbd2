import { describe, expect, it } from "vitest";
import { type MachineView, machineName, planRollout, templateHash } from "./rollout.ts";

const m = (hash: string, ordinal: number, running = true, deleting = false): MachineView => ({
  name: machineName("md", hash, ordinal),
  hash,
  ordinal,
  running,
  deleting,
});

describe("planRollout", () => {
  it("creates what is missing with the lowest free ordinals (all at once for workers)", () => {
    expect(planRollout("md", 3, "a", [], false).create).toEqual(["md-a-0", "md-a-1", "md-a-2"]);
    expect(planRollout("md", 3, "a", [m("a", 1)], false).create).toEqual(["md-a-0", "md-a-2"]);
  });

  it("is idempotent: the same view gives the same names (no duplicates after a crash)", () => {
    const view = [m("a", 0)];
    expect(planRollout("md", 3, "a", view, false)).toEqual(planRollout("md", 3, "a", view, false));
  });

  it("adds control-plane members one at a time, each once the previous runs", () => {
    expect(planRollout("cp", 3, "a", [], true).create).toEqual(["cp-a-0"]);
    expect(planRollout("cp", 3, "a", [m("a", 0, false)], true)).toMatchObject({
      create: [],
      waiting: expect.any(String),
    });
    expect(planRollout("cp", 3, "a", [m("a", 0)], true).create).toEqual(["cp-a-1"]);
  });

  it("scales down newest first", () => {
    const five = [0, 1, 2, 3, 4].map((i) => m("a", i));
    expect(planRollout("md", 2, "a", five, false).delete).toEqual(["md-a-4", "md-a-3", "md-a-2"]);
    expect(planRollout("cp", 1, "a", five.slice(0, 3), true).delete).toEqual(["md-a-2"]);
  });

  it("rolls one surge machine at a time: create new, wait until it runs, delete one old", () => {
    const old = [m("a", 0), m("a", 1), m("a", 2)];
    expect(planRollout("md", 3, "b", old, false)).toEqual({ create: ["md-b-0"], delete: [] });
    const surged = [...old, m("b", 0, false)];
    expect(planRollout("md", 3, "b", surged, false).waiting).toBeDefined();
    const running = [...old, m("b", 0)];
    expect(planRollout("md", 3, "b", running, false)).toEqual({ create: [], delete: ["md-a-2"] });
    const deleting = [m("a", 0), m("a", 1), m("a", 2, true, true), m("b", 0)];
    expect(planRollout("md", 3, "b", deleting, false).waiting).toBeDefined();
    const next = [m("a", 0), m("a", 1), m("b", 0)];
    expect(planRollout("md", 3, "b", next, false)).toEqual({ create: ["md-b-1"], delete: [] });
    const done = [m("b", 0), m("b", 1), m("b", 2)];
    expect(planRollout("md", 3, "b", done, false)).toEqual({ create: [], delete: [] });
  });

  it("never has more than replicas + 1 machines during a rollout", () => {
    let machines: MachineView[] = [0, 1, 2].map((i) => m("a", i));
    for (let step = 0; step < 20; step++) {
      const s = planRollout("md", 3, "b", machines, false);
      machines = machines.filter((x) => !s.delete.includes(x.name));
      for (const name of s.create) machines.push({ ...m("b", Number(name.split("-").pop())), name });
      expect(machines.length).toBeLessThanOrEqual(4);
    }
    expect(machines.every((x) => x.hash === "b")).toBe(true);
    expect(machines).toHaveLength(3);
  });

  it("hashes templates stably into a DNS-safe part", () => {
    expect(templateHash(["v1.23.8", "best-effort-medium"])).toBe(
      templateHash(["v1.23.8", "best-effort-medium"]),
    );
    expect(templateHash(["v1.24.11", "best-effort-medium"])).not.toBe(
      templateHash(["v1.23.8", "best-effort-medium"]),
    );
    expect(templateHash(["x"])).toMatch(/^[0-9a-z]{5}$/);
  });
});
