// The benchmarks' arithmetic (the fitted memory slope of the soak).
import { describe, expect, it } from "vitest";
import { slopePer10Min } from "./common.ts";

const every30s = (values: number[]) => values.map((value, i) => ({ atMs: i * 30_000, value }));

describe("slopePer10Min", () => {
  it("fits a straight line: 1 MiB per 30 s is 20 MiB per 10 minutes", () => {
    expect(slopePer10Min(every30s([100, 101, 102, 103]), 1_200_000)).toBeCloseTo(20);
  });

  it("is 0 for a flat series with noise around it, and uses only the window", () => {
    expect(slopePer10Min(every30s([100, 102, 100, 102, 100, 102, 100, 102, 100]), 1_200_000)).toBeCloseTo(
      0,
      0,
    );
    // a start-up ramp outside the last 60 s is ignored
    expect(slopePer10Min(every30s([50, 80, 100, 100, 100]), 60_000)).toBe(0);
  });

  it("needs two samples", () => {
    expect(slopePer10Min(every30s([100]), 1_200_000)).toBeNaN();
  });
});
