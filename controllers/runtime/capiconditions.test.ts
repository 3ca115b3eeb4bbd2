import { describe, expect, it } from "vitest";
import {
  markFalse,
  markReadySummary,
  markTrue,
  setV1Beta1Conditions,
  type V1Beta1Condition,
  v1beta1Summary,
} from "./capiconditions.ts";

const t1 = new Date("2026-01-01T00:00:00Z");
const t2 = new Date("2026-01-01T00:01:00Z");

describe("v1beta1 conditions", () => {
  it("never writes an empty reason or message, nor observedGeneration, nor severity unless False", () => {
    const old = [
      { type: "A", status: "True", reason: "", message: "", observedGeneration: 3, lastTransitionTime: "x" },
    ] as unknown as V1Beta1Condition[];
    const out = setV1Beta1Conditions(
      old,
      [
        { type: "B", status: "True", reason: "", message: "" },
        { type: "C", status: "False", severity: "Info", reason: "Waiting", message: "" },
      ],
      t1,
    );
    expect(out).toEqual([
      { type: "A", status: "True", lastTransitionTime: "x" },
      { type: "B", status: "True", lastTransitionTime: "2026-01-01T00:00:00Z" },
      {
        type: "C",
        status: "False",
        severity: "Info",
        reason: "Waiting",
        lastTransitionTime: "2026-01-01T00:00:00Z",
      },
    ]);
    for (const c of out) for (const v of Object.values(c)) expect(v).not.toBe("");
  });

  it("keeps lastTransitionTime while status, severity, reason and message stay; moves it when one changes", () => {
    const a = setV1Beta1Conditions(
      undefined,
      [{ type: "R", status: "False", severity: "Info", reason: "X" }],
      t1,
    );
    const same = setV1Beta1Conditions(a, [{ type: "R", status: "False", severity: "Info", reason: "X" }], t2);
    expect(same[0]?.lastTransitionTime).toBe("2026-01-01T00:00:00Z");
    const worse = setV1Beta1Conditions(
      a,
      [{ type: "R", status: "False", severity: "Error", reason: "X" }],
      t2,
    );
    expect(worse[0]?.lastTransitionTime).toBe("2026-01-01T00:01:00Z");
  });

  it("summarises Ready from the most severe False, else Unknown for what is missing, else True", () => {
    const conds = setV1Beta1Conditions(undefined, [
      { type: "A", status: "False", severity: "Info", reason: "Scaling", message: "1 of 3" },
      { type: "B", status: "False", severity: "Error", reason: "Broken", message: "no room" },
    ]);
    expect(v1beta1Summary(conds, ["A", "B"])).toEqual({
      type: "Ready",
      status: "False",
      severity: "Error",
      reason: "Broken",
      message: "no room",
    });
    expect(v1beta1Summary(conds, ["Z"])).toMatchObject({
      status: "Unknown",
      reason: "Pending",
      message: "waiting for Z",
    });
    const ok = setV1Beta1Conditions(undefined, [{ type: "A", status: "True" }]);
    expect(v1beta1Summary(ok, ["A"])).toEqual({ type: "Ready", status: "True" });
  });

  it("marks an object in place (markTrue, markFalse with severity, markReadySummary)", () => {
    const o: { status?: { conditions?: V1Beta1Condition[] } } = {};
    markTrue(o, "A", undefined, undefined, t1);
    markFalse(o, "B", "Waiting", "Warning", undefined, t1);
    markReadySummary(o, ["A", "B"], t1);
    expect(o.status?.conditions?.map((c) => [c.type, c.status, c.severity ?? "-", c.reason ?? "-"])).toEqual([
      ["A", "True", "-", "-"],
      ["B", "False", "Warning", "Waiting"],
      ["Ready", "False", "Warning", "Waiting"],
    ]);
  });
});
