// Scenario `registry`: the cost of Pacific's token service. Token issuance latency (a real login:
// TokenReview + SubjectAccessReviews per request) and skopeo push/pull of a 50 MiB image through the
// registry with token auth, against the same registry binary and storage layout without auth (a
// second instance, same run, same machine), alternating so drift hits both. Prints one JSON line.
import { type ChildProcess, execFile, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import https from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SupervisorNamespaceResource } from "../../controllers/api/vsphere/supervisornamespace.ts";
import { parseEnvFile, registryConfigFromEnv } from "../../controllers/registry/config.ts";
import { Namespaces, RoleBindings } from "../../controllers/runtime/resource.ts";
import { makeOciImage } from "../e2e/oci.ts";
import { benchClient, environment, kubeConfig, percentile, round } from "./common.ts";
import { installChart, resetCluster, root } from "./simulators.ts";

const TOKENS = Number(process.env.BENCH_REGISTRY_TOKENS ?? 500);
const ROUNDS = Number(process.env.BENCH_REGISTRY_ROUNDS ?? 3);
const IMAGE_MIB = Number(process.env.BENCH_REGISTRY_IMAGE_MIB ?? 50);
const OPEN_PORT = 25001;
const ServiceAccounts = {
  group: "",
  version: "v1",
  plural: "serviceaccounts",
  kind: "ServiceAccount",
  namespaced: true,
};

function skopeo(args: string[]): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve, reject) =>
    execFile(
      "skopeo",
      ["--registries-conf", "/dev/null", ...args],
      { maxBuffer: 16 << 20, timeout: 600_000 },
      (err, _o, stderr) =>
        err ? reject(new Error(`skopeo ${args[0]}: ${stderr}`)) : resolve(performance.now() - t0),
    ),
  );
}

function get(url: string, ca: string, auth: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { ca, headers: { Authorization: auth }, agent: keepAlive }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
    req.end();
  });
}
const keepAlive = new https.Agent({ keepAlive: true, maxSockets: 1 });
const median = (xs: number[]) =>
  percentile(
    [...xs].sort((a, b) => a - b),
    50,
  );

export async function registry(): Promise<void> {
  resetCluster(); // a fresh control plane, and with it a fresh registry (hack/registry.sh)
  const state = process.env.PACIFIC_CLUSTER_DIR ?? join(root, ".cluster");
  const envFile = parseEnvFile(readFileSync(join(state, "registry", "manager.env"), "utf8"));
  const reg = registryConfigFromEnv(envFile)!;
  const ca = readFileSync(reg.caFile!, "utf8");
  const client = benchClient(kubeConfig());
  await installChart();
  let manager: ChildProcess | undefined;
  const scratch = mkdtempSync(join(tmpdir(), "pacific-bench-registry-"));
  const certs = join(scratch, "certs");
  execFileSync("mkdir", ["-p", certs]);
  writeFileSync(join(certs, "ca.crt"), ca);
  try {
    execFileSync(
      "bash",
      [join(root, "hack", "registry.sh"), "start-open", "registry-open", String(OPEN_PORT)],
      { stdio: "ignore" },
    );
    manager = spawn(
      process.execPath,
      [
        join(root, "dist", "controllers", "main.js"),
        "--leader-elect=false",
        "--bind-address=127.0.0.1:18090",
        "--kube-api-qps=0",
        "--log-level=warn",
      ],
      { env: { ...process.env, ...envFile }, stdio: ["ignore", "ignore", "inherit"] },
    );
    for (let i = 0; ; i++) {
      const ok = await fetch("http://127.0.0.1:18090/readyz").then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      if (i > 300) throw new Error("the manager is not ready after 60 s");
      await new Promise((r) => setTimeout(r, 200));
    }
    const project = "bench-ns";
    const people = "bench-people";
    await client.create(SupervisorNamespaceResource, {
      apiVersion: "vsphere.pacific.dev/v1alpha1",
      kind: "SupervisorNamespace",
      metadata: { name: project },
      spec: {},
    });
    await client.create(Namespaces, { apiVersion: "v1", kind: "Namespace", metadata: { name: people } });
    await client.create(ServiceAccounts, {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name: "pusher", namespace: people },
    });
    for (let i = 0; ; i++) {
      const ok = await client.get(Namespaces, project).then(
        () => true,
        () => false,
      );
      if (ok) break;
      if (i > 150) throw new Error("no namespace for the SupervisorNamespace");
      await new Promise((r) => setTimeout(r, 200));
    }
    await client.create(RoleBindings, {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name: "pusher", namespace: project },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "edit" },
      subjects: [{ kind: "ServiceAccount", name: "pusher", namespace: people }],
    });
    const token = (
      await client.request<{ status: { token: string } }>(
        "POST",
        `/api/v1/namespaces/${people}/serviceaccounts/pusher/token`,
        {
          body: {
            apiVersion: "authentication.k8s.io/v1",
            kind: "TokenRequest",
            spec: { expirationSeconds: 3600 },
          },
        },
      )
    ).status.token;
    const auth = `Basic ${Buffer.from(`pusher:${token}`).toString("base64")}`;
    const tokenUrl = `https://${reg.tokenAddress}/service/token?service=${reg.service}&scope=${encodeURIComponent(`repository:${project}/big:pull,push`)}`;
    // Until the RoleBinding is in effect the token grants nothing; wait for a push grant.
    for (let i = 0; ; i++) {
      const body = await new Promise<string>((resolve, reject) =>
        https
          .get(tokenUrl, { ca, headers: { Authorization: auth } }, (res) => {
            let b = "";
            res.on("data", (c: Buffer) => (b += c.toString()));
            res.on("end", () => resolve(b));
          })
          .on("error", reject),
      );
      const t = (JSON.parse(body) as { token?: string }).token ?? "";
      if (t && Buffer.from(t.split(".")[1]!, "base64url").toString().includes('"push"')) break;
      if (i > 100) throw new Error(`no push grant: ${body}`);
      await new Promise((r) => setTimeout(r, 200));
    }

    // Token issuance: sequential, one connection (a login's latency, not throughput).
    const lat: number[] = [];
    for (let i = 0; i < TOKENS; i++) {
      const t0 = performance.now();
      const code = await get(tokenUrl, ca, auth);
      lat.push(performance.now() - t0);
      if (code !== 200) throw new Error(`token request ${i}: ${code}`);
    }
    lat.sort((a, b) => a - b);

    // Push and pull, alternating between the two registries, a fresh image (random bytes) per push.
    const times = {
      auth: { push: [] as number[], pull: [] as number[] },
      open: { push: [] as number[], pull: [] as number[] },
    };
    let layerBytes = 0;
    for (let round_ = 0; round_ < ROUNDS; round_++) {
      const order: Array<"auth" | "open"> = round_ % 2 ? ["open", "auth"] : ["auth", "open"];
      for (const which of order) {
        const image = makeOciImage(IMAGE_MIB * 2 ** 20, "1");
        layerBytes = image.layerBytes;
        const host = which === "auth" ? reg.host : `127.0.0.1:${OPEN_PORT}`;
        const dest = `docker://${host}/${project}/big:${round_}`;
        const credsDest = which === "auth" ? ["--dest-creds", `pusher:${token}`] : [];
        const credsSrc = which === "auth" ? ["--src-creds", `pusher:${token}`] : ["--src-no-creds"];
        times[which].push.push(
          await skopeo(["copy", "--dest-cert-dir", certs, ...credsDest, `oci:${image.dir}:1`, dest]),
        );
        const out = join(scratch, `pull-${which}-${round_}`);
        times[which].pull.push(
          await skopeo(["copy", "--src-cert-dir", certs, ...credsSrc, dest, `oci:${out}:1`]),
        );
        rmSync(out, { recursive: true, force: true });
        image.remove();
      }
    }
    const m = (xs: number[]) => round(median(xs) / 1000, 3);
    console.log(
      JSON.stringify({
        scenario: "registry",
        environment: {
          ...(await environment(client)),
          registry: execFileSync("docker-registry", ["--version"], { encoding: "utf8" }).trim(),
          skopeo: execFileSync("skopeo", ["--version"], { encoding: "utf8" }).trim(),
        },
        tokenIssuance: {
          requests: TOKENS,
          p50Ms: round(percentile(lat, 50)),
          p99Ms: round(percentile(lat, 99)),
          maxMs: round(lat[lat.length - 1]!),
          note: "sequential GET /service/token, Basic <Kubernetes token>: TokenReview + SubjectAccessReviews (pull, push) per request",
        },
        image: { layerMiB: round(layerBytes / 2 ** 20, 1), rounds: ROUNDS },
        pushSeconds: {
          tokenAuth: m(times.auth.push),
          noAuth: m(times.open.push),
          ratio: round(median(times.auth.push) / median(times.open.push), 2),
          all: times,
        },
        pullSeconds: {
          tokenAuth: m(times.auth.pull),
          noAuth: m(times.open.pull),
          ratio: round(median(times.auth.pull) / median(times.open.pull), 2),
        },
      }),
    );
  } finally {
    if (manager && manager.exitCode === null) {
      const exited = new Promise((r) => manager!.once("exit", r));
      manager.kill("SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 35_000))]);
      if (manager.exitCode === null) manager.kill("SIGKILL");
    }
    execFileSync("bash", [join(root, "hack", "registry.sh"), "stop-open", "registry-open"], {
      stdio: "ignore",
    });
    keepAlive.destroy();
    rmSync(scratch, { recursive: true, force: true });
  }
}
