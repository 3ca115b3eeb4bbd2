// The multi-cluster runtime without an API server: clusters engaged and disengaged by name, their
// controllers and runnables started once caches sync and stopped with the cluster, and their
// `cluster`-labelled metric series gone with them.
import { KubeConfig } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { type Cluster, ClusterSet } from "./cluster.ts";
import { Controller } from "./controller.ts";
import { newLogger } from "./log.ts";
import { Metrics } from "./metrics.ts";

function kubeConfig(server: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "c", server }],
    users: [{ name: "u" }],
    contexts: [{ name: "x", cluster: "c", user: "u" }],
    currentContext: "x",
  });
  return kc;
}

const until = async (what: () => boolean) => {
  for (let i = 0; i < 200 && !what(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(what()).toBe(true);
};

describe("ClusterSet", () => {
  it("runs each cluster's controllers and runnables, and stopping one removes only its series", async () => {
    const metrics = new Metrics(false);
    const reconciled: string[] = [];
    const runnables = new Map<string, { started: boolean; stopped: boolean }>();
    const controllers = new Map<string, Controller>();
    const setup = (c: Cluster) => {
      const ctl = new Controller("agent", c, [], {
        reconcile: async (req) => {
          reconciled.push(`${c.name}/${req.name}`);
          return undefined;
        },
      });
      c.add(ctl);
      controllers.set(c.name, ctl);
      const r = { started: false, stopped: false };
      runnables.set(c.name, r);
      c.addRunnable({
        start: () => {
          r.started = true;
        },
        stop: () => {
          r.stopped = true;
        },
      });
    };
    const set = new ClusterSet(metrics, newLogger("test", "silent"), setup);
    const a = await set.engage("a", kubeConfig("https://127.0.0.1:1"), "v1");
    await set.engage("b", kubeConfig("https://127.0.0.1:2"), "v1");
    await until(() => a.running && runnables.get("b")?.started === true);
    controllers.get("a")?.enqueue({ name: "x" });
    controllers.get("b")?.enqueue({ name: "y" });
    await until(() => reconciled.length === 2);
    expect(reconciled.sort()).toEqual(["a/x", "b/y"]);

    let text = await metrics.registry.metrics();
    expect(text).toContain(
      'controller_runtime_reconcile_total{cluster="a",controller="agent",result="success"} 1',
    );
    expect(text).toContain('workqueue_adds_total{cluster="b",name="agent",controller="agent"} 1');

    expect(await set.engage("a", kubeConfig("https://127.0.0.1:1"), "v1")).toBe(a); // same: kept
    await set.disengage("a");
    expect(set.names()).toEqual(["b"]);
    expect(runnables.get("a")?.stopped).toBe(true);
    expect(a.running).toBe(false);
    text = await metrics.registry.metrics();
    expect(text).not.toContain('cluster="a"');
    expect(text).toContain(
      'controller_runtime_reconcile_total{cluster="b",controller="agent",result="success"} 1',
    );

    // New credentials replace the cluster: the old one is stopped first.
    const b1 = set.get("b");
    const b2 = await set.engage("b", kubeConfig("https://127.0.0.1:2"), "v2");
    expect(b2).not.toBe(b1);
    expect(runnables.get("b")?.stopped).toBe(false); // the new one's
    await set.stopAll();
    expect(set.names()).toEqual([]);
    expect(await metrics.registry.metrics()).not.toContain("cluster=");
  });

  it("a cluster whose API server never answers stops cleanly (informers not synced, nothing started)", async () => {
    const metrics = new Metrics(false);
    let started = false;
    const set = new ClusterSet(metrics, newLogger("test", "silent"), (c) => {
      c.informer({ group: "", version: "v1", plural: "nodes", kind: "Node", namespaced: false });
      c.addRunnable({
        start: () => {
          started = true;
        },
        stop: () => undefined,
      });
    });
    const c = await set.engage("down", kubeConfig("https://127.0.0.1:1"));
    await new Promise((r) => setTimeout(r, 50));
    expect(c.notReadyReason()).toContain("nodes");
    await set.disengage("down");
    expect(started).toBe(false);
    expect(c.notReadyReason()).toBe("stopped");
  });
});
