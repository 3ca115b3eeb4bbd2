import { describe, expect, it } from "vitest";
import { markTrue, type WithConditions } from "../runtime/conditions.ts";
import { keepCapiConditionFields } from "./capiconditions.ts";

describe("keepCapiConditionFields", () => {
  it("drops the observedGeneration markTrue stamps (the Cluster API v1beta1 schema prunes it) and keeps the rest", () => {
    const obj = markTrue<WithConditions>(
      { metadata: { generation: 3 }, status: {} },
      "Ready",
      "Ready",
      "all good",
    );
    expect(obj.status?.conditions?.[0]?.observedGeneration).toBe(3);
    keepCapiConditionFields(obj);
    expect(obj.status?.conditions).toEqual([
      {
        type: "Ready",
        status: "True",
        reason: "Ready",
        message: "all good",
        lastTransitionTime: obj.status?.conditions?.[0]?.lastTransitionTime,
      },
    ]);
    expect(obj.status?.conditions?.[0]?.lastTransitionTime).toMatch(/Z$/);
  });

  it("leaves an object without conditions alone", () => {
    expect(keepCapiConditionFields({ metadata: {}, status: { phase: "x" } as never })).toEqual({
      metadata: {},
      status: { phase: "x" },
    });
  });
});
