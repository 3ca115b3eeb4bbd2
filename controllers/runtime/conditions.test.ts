import { describe, expect, it } from "vitest";
import { findCondition, microTime, setCondition, summarizeReady } from "./conditions.ts";

const t1 = new Date("2026-01-01T00:00:00.123Z");
const t2 = new Date("2026-01-01T00:05:00.456Z");

describe("setCondition", () => {
  it("adds a new condition with lastTransitionTime now", () => {
    const c = setCondition(
      undefined,
      { type: "Ready", status: "Unknown", reason: "Pending", message: "" },
      t1,
    );
    expect(c).toEqual([
      {
        type: "Ready",
        status: "Unknown",
        reason: "Pending",
        message: "",
        lastTransitionTime: "2026-01-01T00:00:00Z",
      },
    ]);
  });

  it("keeps lastTransitionTime when only reason or message change", () => {
    const a = setCondition(undefined, { type: "Ready", status: "False", reason: "A", message: "a" }, t1);
    const b = setCondition(
      a,
      { type: "Ready", status: "False", reason: "B", message: "b", observedGeneration: 2 },
      t2,
    );
    expect(b[0]).toMatchObject({
      reason: "B",
      message: "b",
      observedGeneration: 2,
      lastTransitionTime: "2026-01-01T00:00:00Z",
    });
    expect(a[0]?.reason).toBe("A"); // input untouched
  });

  it("moves lastTransitionTime when the status flips", () => {
    const a = setCondition(undefined, { type: "Ready", status: "False", reason: "A", message: "" }, t1);
    const b = setCondition(a, { type: "Ready", status: "True", reason: "Ready", message: "" }, t2);
    expect(findCondition(b, "Ready")?.lastTransitionTime).toBe("2026-01-01T00:05:00Z");
  });

  it("rejects a reason the API server would reject", () => {
    expect(() => setCondition([], { type: "Ready", status: "True", reason: "not ok", message: "" })).toThrow(
      /invalid condition reason/,
    );
    expect(() =>
      setCondition([], { type: "Ready", status: "True", reason: "Out_of:cpu,1", message: "" }),
    ).not.toThrow();
  });
});

describe("summarizeReady", () => {
  const cs = (...pairs: Array<[string, "True" | "False" | "Unknown", string]>) =>
    pairs.map(([type, status, reason]) => ({
      type,
      status,
      reason,
      message: `${type} says ${reason}`,
      lastTransitionTime: "",
    }));

  it("is True when every summarised condition is True", () => {
    expect(summarizeReady(cs(["A", "True", "Ok"], ["B", "True", "Ok"]), ["A", "B"], 3)).toMatchObject({
      status: "True",
      reason: "Ready",
      observedGeneration: 3,
    });
  });
  it("takes the first False over an Unknown", () => {
    expect(summarizeReady(cs(["A", "Unknown", "Wait"], ["B", "False", "Broken"]), ["A", "B"])).toMatchObject({
      status: "False",
      reason: "Broken",
      message: "B says Broken",
    });
  });
  it("is Unknown while a condition is missing", () => {
    expect(summarizeReady(cs(["A", "True", "Ok"]), ["A", "B"])).toMatchObject({
      status: "Unknown",
      reason: "Pending",
      message: "waiting for B",
    });
  });
});

describe("microTime", () => {
  it("has six fractional digits, as metav1.MicroTime requires", () => {
    expect(microTime(t1)).toBe("2026-01-01T00:00:00.123000Z");
  });
});
