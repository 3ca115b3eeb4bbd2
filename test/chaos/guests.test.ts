import type { V1Node } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { GUEST_NODE_LABEL } from "../../controllers/guestnode/desired.ts";
import {
  type GuestProc,
  guestOfArgv,
  listeningSockets,
  nodeViolations,
  processSetViolations,
} from "./guests.ts";

const state = "/w/.cluster/chaos-guests";

describe("guestOfArgv", () => {
  it("names the guest of the first argument under the state dir, and the binary", () => {
    expect(
      guestOfArgv(["/bin/etcd", "--name", "t", "--data-dir", `${state}/ns-1/tkc-2/etcd`], state),
    ).toEqual({
      guest: "ns-1/tkc-2",
      component: "etcd",
    });
    expect(guestOfArgv(["/k/kube-apiserver", `--tls-cert-file=${state}/a/b/pki/x.crt`], `${state}/`)).toEqual(
      {
        guest: "a/b",
        component: "kube-apiserver",
      },
    );
  });
  it("ignores processes of other state dirs and the state dir itself", () => {
    expect(guestOfArgv(["/bin/etcd", "--data-dir", "/w/.cluster/guests/a/b/etcd"], state)).toBeUndefined();
    expect(guestOfArgv(["rm", "-rf", `${state}/only-ns`], state)).toBeUndefined();
  });
});

describe("listeningSockets", () => {
  it("decodes LISTEN sockets of /proc/net/tcp (little-endian) and skips the others", () => {
    const text = [
      "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode",
      "   0: 0593007F:192B 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1",
      "   1: 0100007F:1F90 0100007F:A2C4 01 00000000:00000000 00:00000000 00000000     0        0 2",
    ].join("\n");
    expect(listeningSockets(text)).toEqual([{ ip: "127.0.147.5", port: 6443 }]);
  });
});

const proc = (pid: number, guest: string, component: string): GuestProc => ({ pid, guest, component });
const whole = (g: string, from: number) =>
  ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"].map((c, i) => proc(from + i, g, c));

describe("processSetViolations", () => {
  it("passes one set per running guest", () => {
    expect(processSetViolations(whole("n/a", 10), new Set(["n/a"]), new Set(["n/a"]))).toEqual([]);
  });
  it("finds a second etcd, a missing component and a deleted TKC's processes", () => {
    const procs = [
      ...whole("n/a", 10),
      proc(99, "n/a", "etcd"),
      ...whole("n/b", 20).slice(1),
      proc(30, "n/c", "etcd"),
    ];
    expect(processSetViolations(procs, new Set(["n/a", "n/b"]), new Set(["n/a", "n/b"]))).toEqual([
      "n/a: 2 etcd (pids 10 99)",
      "n/c: TKC gone, processes left: etcd 30",
      "n/b: no etcd running",
    ]);
  });
});

const node = (name: string, ready: string, pacific = true): V1Node => ({
  metadata: { name, labels: pacific ? { [GUEST_NODE_LABEL]: name } : {} },
  status: { conditions: [{ type: "Ready", status: ready }] },
});

describe("nodeViolations", () => {
  it("passes exactly the powered-on Machines' Nodes, Ready", () => {
    expect(
      nodeViolations("n/a", ["cp", "w"], [node("cp", "True"), node("w", "True"), node("x", "True", false)]),
    ).toEqual([]);
  });
  it("finds a missing Node, a NotReady one and one Pacific registered without a powered-on Machine", () => {
    expect(nodeViolations("n/a", ["cp", "w"], [node("cp", "Unknown"), node("old", "True")])).toEqual([
      "n/a: Node cp Ready=Unknown",
      "n/a: no Node w",
      "n/a: Node old without a powered-on Machine",
    ]);
    // A Node whose Machine is being drained away (or whose VM is off, not Ready) is not due to go yet.
    expect(
      nodeViolations("n/a", ["cp"], [node("cp", "True"), node("old", "True")], new Set(["old"])),
    ).toEqual([]);
  });
});
