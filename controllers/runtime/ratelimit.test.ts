import { describe, expect, it } from "vitest";
import {
  BucketRateLimiter,
  defaultControllerRateLimiter,
  ExponentialRateLimiter,
  MaxOfRateLimiter,
} from "./ratelimit.ts";

describe("ExponentialRateLimiter", () => {
  it("doubles from 5 ms per failure and caps at 1000 s", () => {
    const l = new ExponentialRateLimiter();
    expect([1, 2, 3, 4, 5].map(() => l.when("a"))).toEqual([5, 10, 20, 40, 80]);
    for (let i = 0; i < 100; i++) l.when("a");
    expect(l.when("a")).toBe(1_000_000);
    expect(l.retries("a")).toBe(106);
  });

  it("keeps keys apart and forgets on success", () => {
    const l = new ExponentialRateLimiter();
    l.when("a");
    l.when("a");
    expect(l.when("b")).toBe(5);
    l.forget("a");
    expect(l.retries("a")).toBe(0);
    expect(l.when("a")).toBe(5);
  });
});

describe("BucketRateLimiter", () => {
  it("lets a burst through, then spaces requests at 1/qps", () => {
    let now = 0;
    const l = new BucketRateLimiter(10, 100, () => now);
    for (let i = 0; i < 100; i++) expect(l.when()).toBe(0);
    expect(l.when()).toBeCloseTo(100); // the 101st waits one token: 100 ms at 10 qps
    expect(l.when()).toBeCloseTo(200);
    now += 1000; // ten tokens refill; two were owed
    expect(l.when()).toBeCloseTo(0);
  });
});

describe("defaultControllerRateLimiter", () => {
  it("takes the longer of the per-key backoff and the global bucket", () => {
    const now = 0;
    const l = new MaxOfRateLimiter(
      new ExponentialRateLimiter(5, 1_000_000),
      new BucketRateLimiter(10, 1, () => now),
    );
    expect(l.when("a")).toBe(5); // bucket has a token; backoff wins
    expect(l.when("b")).toBeCloseTo(100); // bucket empty: 100 ms beats 5 ms
    expect(l.retries("a")).toBe(1);
    expect(defaultControllerRateLimiter().when("x")).toBe(5);
  });
});
