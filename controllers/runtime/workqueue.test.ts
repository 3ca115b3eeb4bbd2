import { describe, expect, it, vi } from "vitest";
import { must } from "./must.js";
import { ExponentialRateLimiter } from "./ratelimit.ts";
import { WorkQueue } from "./workqueue.ts";

describe("WorkQueue", () => {
  it("de-duplicates keys that are already waiting, in FIFO order", async () => {
    const q = new WorkQueue();
    for (const k of ["a", "b", "a", "c", "b"]) q.add(k);
    expect(q.length).toBe(3);
    expect([await q.get(), await q.get(), await q.get()]).toEqual(["a", "b", "c"]);
  });

  it("never hands a key to two workers: a key added while processing waits for done", async () => {
    const q = new WorkQueue();
    q.add("a");
    const first = await q.get();
    q.add("a"); // while "a" is processing
    expect(q.length).toBe(0);
    let second: string | undefined;
    void q.get().then((k) => {
      second = k;
    });
    await Promise.resolve();
    expect(second).toBeUndefined();
    q.done(must(first, "first key"));
    await Promise.resolve();
    expect(second).toBe("a");
  });

  it("adds once for many adds during processing", async () => {
    const q = new WorkQueue();
    q.add("a");
    await q.get();
    q.add("a");
    q.add("a");
    q.done("a");
    expect(q.length).toBe(1);
  });

  it("wakes a waiting worker on add", async () => {
    const q = new WorkQueue();
    const got = q.get();
    q.add("x");
    expect(await got).toBe("x");
  });

  it("addAfter keeps the earliest deadline", () => {
    vi.useFakeTimers();
    try {
      const q = new WorkQueue();
      q.addAfter("a", 1000);
      q.addAfter("a", 100);
      q.addAfter("a", 5000);
      vi.advanceTimersByTime(100);
      expect(q.length).toBe(1);
      vi.advanceTimersByTime(10_000);
      expect(q.length).toBe(1);
    } finally {
      vi.useRealTimers();
    }
  });

  it("backs off per key on addRateLimited and resets on forget", () => {
    vi.useFakeTimers();
    try {
      const q = new WorkQueue({ rateLimiter: new ExponentialRateLimiter(5, 1000) });
      q.addRateLimited("a"); // 5 ms
      vi.advanceTimersByTime(4);
      expect(q.length).toBe(0);
      vi.advanceTimersByTime(1);
      expect(q.length).toBe(1);
      expect(q.numRequeues("a")).toBe(1);
      q.forget("a");
      expect(q.numRequeues("a")).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it("on shutdown hands out no new work and drains what is in flight", async () => {
    const q = new WorkQueue();
    q.add("a");
    q.add("b");
    const waiting = new WorkQueue();
    const blocked = waiting.get();
    waiting.shutDown();
    expect(await blocked).toBeUndefined();

    const a = await q.get();
    q.shutDown();
    expect(await q.get()).toBeUndefined();
    q.add("c");
    expect(q.length).toBe(1); // "b" stays, "c" is refused
    const drained = q.drain(1000);
    setTimeout(() => q.done(must(a, "key a")), 10);
    expect(await drained).toBe(true);
  });

  it("drain times out when work does not finish", async () => {
    const q = new WorkQueue();
    q.add("a");
    await q.get();
    q.shutDown();
    expect(await q.drain(20)).toBe(false);
  });

  it("reports queue and work durations to its metrics", async () => {
    let now = 0;
    const seen: string[] = [];
    const q = new WorkQueue({
      now: () => now,
      metrics: {
        add: () => seen.push("add"),
        retry: () => seen.push("retry"),
        depth: (n) => seen.push(`depth=${n}`),
        queued: (s) => seen.push(`queued=${s}`),
        worked: (s) => seen.push(`worked=${s}`),
      },
    });
    q.add("a");
    now = 2000;
    await q.get();
    now = 2500;
    expect(q.unfinishedWork()).toEqual({ totalSeconds: 0.5, longestSeconds: 0.5 });
    q.done("a");
    expect(seen).toEqual(["add", "depth=1", "queued=2", "depth=0", "worked=0.5"]);
  });
});
