// The usage a Supervisor Namespace reports, before and after kube-controller-manager counts its quota.
import { describe, expect, it } from "vitest";
import { usageOf } from "./status.ts";

const hard = {
  "limits.cpu": "20",
  "limits.memory": "64Gi",
  "requests.storage": "1Ti",
  "services.loadbalancers": "16",
};

describe("usageOf", () => {
  it("a Namespace just made reports 0 of each limit, as the first count will", () => {
    expect(usageOf(undefined, hard, undefined, true)).toEqual({
      cpu: "0",
      memory: "0",
      storage: "0",
      pods: undefined,
    });
  });

  it("a quota not counted yet keeps what was reported (no write to drop it, none to put it back)", () => {
    const previous = { cpu: "0", memory: "0", storage: "0" };
    expect(usageOf({ spec: { hard } }, hard, previous, false)).toBe(previous);
    expect(usageOf(undefined, hard, undefined, false)).toEqual({});
  });

  it("once counted, the quota's figures", () => {
    const quota = {
      spec: { hard },
      status: { used: { "limits.cpu": "1500m", "limits.memory": "2Gi", "requests.storage": "0" } },
    };
    expect(usageOf(quota, hard, { cpu: "0" }, true)).toEqual({
      cpu: "1500m",
      memory: "2Gi",
      storage: "0",
      pods: undefined,
    });
  });

  it("without a quota nothing is counted", () => {
    expect(usageOf(undefined, undefined, { cpu: "1" }, false)).toEqual({});
  });
});
