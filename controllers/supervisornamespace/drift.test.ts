// What counts as drift of a child: only what Pacific means, compared as the API server stores it.
import type { V1LimitRange } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import type { SupervisorNamespace } from "../api/vsphere/supervisornamespace.ts";
import { desiredLimitRange } from "./children.ts";
import { limitRangeDiff, sameLimits, withServerDefaults } from "./drift.ts";

const svns: SupervisorNamespace = {
  metadata: { name: "dev", uid: "u" },
  spec: {
    networkIsolation: true,
    podSecurity: "restricted",
    encryption: false,
    limits: { cpu: 20, memory: "64Gi" },
  },
};

/** The LimitRange as kube-apiserver returns it after create: default requests filled from the limits. */
const asStored = (lr: V1LimitRange): V1LimitRange =>
  ({
    ...lr,
    spec: {
      limits: [
        {
          type: "Container",
          default: { cpu: "500m", memory: "512Mi" },
          defaultRequest: { cpu: "500m", memory: "512Mi" },
        },
      ],
    },
  }) as unknown as V1LimitRange;

describe("limitRangeDiff", () => {
  it("finds no drift in the LimitRange the API server stored (default requests defaulted from the limits)", () => {
    const want = desiredLimitRange(svns) as V1LimitRange;
    expect(limitRangeDiff(asStored(want), want)).toBeUndefined();
  });

  it("still puts back a default changed by hand", () => {
    const want = desiredLimitRange(svns) as V1LimitRange;
    const edited = asStored(want);
    const limits = (edited.spec as unknown as { limits: { default: Record<string, string> }[] }).limits;
    for (const l of limits) l.default.cpu = "2";
    expect(limitRangeDiff(edited, want)).toEqual({ spec: want.spec });
  });

  it("defaults only what has no request of its own, and only for Container items", () => {
    expect(
      withServerDefaults({
        type: "Container",
        default: { cpu: "1", memory: "1Gi" },
        defaultRequest: { cpu: "100m" },
      }),
    ).toEqual({
      type: "Container",
      default: { cpu: "1", memory: "1Gi" },
      defaultRequest: { cpu: "100m", memory: "1Gi" },
    });
    expect(withServerDefaults({ type: "Pod", default: { cpu: "1" } })).toEqual({
      type: "Pod",
      default: { cpu: "1" },
    });
    expect(
      sameLimits(
        { limits: [{ type: "Container", defaultRequest: { cpu: "100m" } }] },
        { limits: [{ type: "Container", defaultRequest: { cpu: "0.1" } }] },
      ),
    ).toBe(true);
  });
});
