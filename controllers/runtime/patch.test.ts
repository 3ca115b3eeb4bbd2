import { describe, expect, it } from "vitest";
import { deepEqual, mergePatch, overlayPatch, snapshot } from "./patch.ts";

describe("mergePatch", () => {
  it("is undefined when nothing changed", () => {
    expect(mergePatch({ a: 1, b: { c: [1, 2] } }, { b: { c: [1, 2] }, a: 1 })).toBeUndefined();
  });
  it("holds only the changed fields, nested", () => {
    expect(mergePatch({ spec: { a: 1, b: 2 }, x: "same" }, { spec: { a: 1, b: 3 }, x: "same" })).toEqual({
      spec: { b: 3 },
    });
  });
  it("sets removed fields to null", () => {
    expect(
      mergePatch({ metadata: { labels: { a: "1", b: "2" } } }, { metadata: { labels: { a: "1" } } }),
    ).toEqual({
      metadata: { labels: { b: null } },
    });
  });
  it("replaces arrays whole (merge patch has no list merge)", () => {
    expect(mergePatch({ f: ["a", "b"] }, { f: ["a"] })).toEqual({ f: ["a"] });
  });
  it("treats undefined like an absent field", () => {
    expect(mergePatch({ a: 1, b: undefined }, { a: 1 })).toBeUndefined();
    expect(mergePatch({ a: 1 }, { a: 1, b: undefined })).toBeUndefined();
  });
  it("applied to the old object, yields the new one (RFC 7386 round trip)", () => {
    const before = { spec: { replicas: 1, pools: [{ n: 1 }] }, status: { x: 1 } };
    const after = { spec: { replicas: 3, pools: [{ n: 2 }], paused: true } };
    const apply = (t: unknown, p: unknown): unknown => {
      if (typeof p !== "object" || p === null || Array.isArray(p)) return p;
      const out: Record<string, unknown> =
        typeof t === "object" && t !== null && !Array.isArray(t) ? { ...(t as object) } : {};
      for (const [k, v] of Object.entries(p)) {
        if (v === null) delete out[k];
        else out[k] = apply(out[k], v);
      }
      return out;
    };
    expect(apply(before, mergePatch(before, after))).toEqual(after);
  });
});

describe("snapshot and deepEqual", () => {
  it("snapshots deeply", () => {
    const o = { a: { b: [1] } };
    const s = snapshot(o);
    o.a.b.push(2);
    expect(s).toEqual({ a: { b: [1] } });
    expect(deepEqual(s, o)).toBe(false);
  });
});

describe("overlayPatch", () => {
  it("sets what differs and leaves foreign fields alone", () => {
    const current = { metadata: { labels: { ours: "old", theirs: "x" } }, spec: { taints: [{ key: "a" }] } };
    const desired = { metadata: { labels: { ours: "new" } }, spec: { taints: [{ key: "a" }] } };
    expect(overlayPatch(current, desired)).toEqual({ metadata: { labels: { ours: "new" } } });
  });
  it("removes a field desired as null, only when present", () => {
    expect(overlayPatch({ spec: { unschedulable: true } }, { spec: { unschedulable: null } })).toEqual({
      spec: { unschedulable: null },
    });
    expect(overlayPatch({ spec: {} }, { spec: { unschedulable: null } })).toBeUndefined();
  });
  it("replaces arrays whole and is undefined when equal", () => {
    expect(overlayPatch({ a: [1, 2] }, { a: [1] })).toEqual({ a: [1] });
    expect(overlayPatch({ a: [1], b: 2 }, { a: [1] })).toBeUndefined();
  });
});
