import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { SupervisorNamespace } from "../api/vsphere/supervisornamespace.ts";
import { parseEnvFile, registryConfigFromEnv } from "./config.ts";
import { base32, libtrustKeyId, signJwt, verifyJwt } from "./jwt.ts";
import { allowedRegistries, imageAllowed, normalizeImage } from "./policy.ts";
import { needsRotation, PULL_SECRET_NAME, pullSecret, withPullSecret } from "./pullsecret.ts";
import { decide, parseScopes, projectOf, resultOf } from "./scope.ts";
import { repositoriesOf, storageOf } from "./usage.ts";

const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });

describe("jwt", () => {
  it("base32 is RFC 4648 without padding", () => {
    expect(base32(Buffer.from("foobar"))).toBe("MZXW6YTBOI");
    expect(base32(Buffer.from("f"))).toBe("MY");
  });
  it("the key ID is libtrust's: 12 groups of 4 base32 characters", () => {
    expect(libtrustKeyId(publicKey)).toMatch(/^([A-Z2-7]{4}:){11}[A-Z2-7]{4}$/);
  });
  it("signs RS256 and verifies; a changed payload or another key fails", () => {
    const t = signJwt({ sub: "a", n: 1 }, privateKey, "kid");
    expect(verifyJwt(t, publicKey)).toEqual({ sub: "a", n: 1 });
    const [h, , s] = t.split(".");
    const forged = `${h}.${Buffer.from(JSON.stringify({ sub: "b", n: 1 })).toString("base64url")}.${s}`;
    expect(verifyJwt(forged, publicKey)).toBeUndefined();
    const other = generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey;
    expect(verifyJwt(t, other)).toBeUndefined();
    expect(verifyJwt("not.a.jwt", publicKey)).toBeUndefined();
  });
  it("refuses alg none", () => {
    const none = `${Buffer.from('{"alg":"none"}').toString("base64url")}.${Buffer.from("{}").toString("base64url")}.`;
    expect(verifyJwt(none, publicKey)).toBeUndefined();
  });
});

describe("scopes", () => {
  it("parses repository scopes, several per value, ports in names excluded", () => {
    expect(
      parseScopes(["repository:dev-ns/app:pull,push repository:dev-ns/x/y:pull", "registry:catalog:*"]),
    ).toEqual([
      { type: "repository", name: "dev-ns/app", actions: ["pull", "push"] },
      { type: "repository", name: "dev-ns/x/y", actions: ["pull"] },
      { type: "registry", name: "catalog", actions: ["*"] },
    ]);
    expect(parseScopes(["garbage"])).toEqual([]);
  });
  it("the project is the first path component, a DNS label", () => {
    expect(projectOf("dev-ns/app")).toBe("dev-ns");
    expect(projectOf("app")).toBeUndefined();
    expect(projectOf("Dev/app")).toBeUndefined();
  });
  it("grants what the rights allow, never the catalog or *, no push over quota", () => {
    const scopes = parseScopes([
      "repository:dev/app:pull,push",
      "repository:other/app:pull",
      "registry:catalog:*",
      "repository:dev/app:*",
    ]);
    const rights = (p: string) => (p === "dev" ? { pull: true, push: true } : { pull: false, push: false });
    const d = decide(scopes, rights, () => false);
    expect(d.access).toEqual([{ type: "repository", name: "dev/app", actions: ["pull", "push"] }]);
    expect(d.denied).toEqual(["repository:other/app:pull", "registry:catalog:*", "repository:dev/app:*"]);
    expect(resultOf(scopes, d)).toBe("partial");
    const over = decide(parseScopes(["repository:dev/app:pull,push"]), rights, () => true);
    expect(over.access).toEqual([{ type: "repository", name: "dev/app", actions: ["pull"] }]);
    const none = decide(parseScopes(["repository:other/app:pull"]), rights, () => false);
    expect(resultOf(parseScopes(["repository:other/app:pull"]), none)).toBe("denied");
    expect(
      resultOf(
        [],
        decide([], rights, () => false),
      ),
    ).toBe("granted");
  });
});

describe("image policy", () => {
  const svns = (allowed?: string[]) =>
    ({ metadata: { name: "dev" }, spec: { allowedRegistries: allowed } }) as unknown as SupervisorNamespace;
  it("no list: no annotation (any registry)", () => {
    expect(allowedRegistries(svns(), "reg:5000")).toBeUndefined();
  });
  it("the own project first, then the admin's list without trailing slashes", () => {
    expect(allowedRegistries(svns(["docker.io", "ghcr.io/acme/"]), "reg:5000")).toBe(
      "reg:5000/dev,docker.io,ghcr.io/acme",
    );
    expect(allowedRegistries(svns([]), "reg:5000")).toBe("reg:5000/dev");
    expect(allowedRegistries(svns([]), undefined)).toBe("");
  });
  it("normalizes as a container runtime does", () => {
    expect(normalizeImage("nginx")).toBe("docker.io/library/nginx");
    expect(normalizeImage("acme/app:1")).toBe("docker.io/acme/app:1");
    expect(normalizeImage("ghcr.io/acme/app")).toBe("ghcr.io/acme/app");
    expect(normalizeImage("localhost/app")).toBe("localhost/app");
    expect(normalizeImage("127.0.0.1:25000/dev/app:1")).toBe("127.0.0.1:25000/dev/app:1");
  });
  it("allows by prefix on a path boundary only", () => {
    const a = "reg:5000/dev,docker.io,ghcr.io/acme";
    expect(imageAllowed("reg:5000/dev/app:1", a)).toBe(true);
    expect(imageAllowed("reg:5000/devil/app:1", a)).toBe(false);
    expect(imageAllowed("reg:5000/other/app:1", a)).toBe(false);
    expect(imageAllowed("nginx", a)).toBe(true);
    expect(imageAllowed("ghcr.io/acme/x@sha256:00", a)).toBe(true);
    expect(imageAllowed("ghcr.io/acmeevil/x", a)).toBe(false);
    expect(imageAllowed("quay.io/x", undefined)).toBe(true);
  });
});

describe("pull secret", () => {
  const now = new Date("2026-01-01T00:00:00Z");
  const day = 86_400_000;
  const s = pullSecret("dev", "reg:5000", "robot$dev", "cred", new Date(now.getTime() + day), "uid-1");
  it("is a dockerconfigjson for the registry with the robot credential", () => {
    expect(s.type).toBe("kubernetes.io/dockerconfigjson");
    const cfg = JSON.parse(Buffer.from(s.data![".dockerconfigjson"]!, "base64").toString()) as {
      auths: Record<string, { auth: string }>;
    };
    expect(Buffer.from(cfg.auths["reg:5000"]!.auth, "base64").toString()).toBe("robot$dev:cred");
  });
  it("is rotated when a third of its lifetime is left, or for another registry or namespace", () => {
    expect(needsRotation(s, "reg:5000", "uid-1", day, now)).toBe(false);
    expect(needsRotation(s, "reg:5000", "uid-1", day, new Date(now.getTime() + (2 * day) / 3 + 1))).toBe(
      true,
    );
    expect(needsRotation(s, "other:5000", "uid-1", day, now)).toBe(true);
    expect(needsRotation(s, "reg:5000", "uid-2", day, now)).toBe(true);
    expect(needsRotation(undefined, "reg:5000", "uid-1", day, now)).toBe(true);
  });
  it("is added to the ServiceAccount's imagePullSecrets once, keeping the others", () => {
    expect(withPullSecret({ imagePullSecrets: [{ name: "mine" }] })).toEqual([
      { name: "mine" },
      { name: PULL_SECRET_NAME },
    ]);
    expect(withPullSecret({ imagePullSecrets: [{ name: PULL_SECRET_NAME }] })).toBeUndefined();
  });
});

describe("usage", () => {
  it("counts each blob once across manifests", () => {
    const m = (digest: string, layers: string[]) => ({
      digest,
      size: 100,
      manifest: {
        config: { digest: `c-${digest}`, size: 10 },
        layers: layers.map((d) => ({ digest: d, size: 1000 })),
      },
    });
    expect(storageOf([m("a", ["l1", "l2"]), m("b", ["l1"])])).toBe(100 + 10 + 2000 + 100 + 10);
    expect(repositoriesOf(["dev/a", "dev/b/c", "devil/a", "x"], "dev")).toEqual(["dev/a", "dev/b/c"]);
  });
});

describe("config", () => {
  it("is absent without a registry host, and needs the signing key with one", () => {
    expect(registryConfigFromEnv({})).toBeUndefined();
    expect(() => registryConfigFromEnv({ PACIFIC_REGISTRY_HOST: "reg:5000" })).toThrow(/SIGNING_KEY/);
    expect(() => registryConfigFromEnv({ PACIFIC_REGISTRY_HOST: "https://reg" })).toThrow(/host\[:port\]/);
  });
  it("reads hack/registry.sh's manager.env", () => {
    const env = parseEnvFile(
      'PACIFIC_REGISTRY_HOST=127.0.0.1:25000\nPACIFIC_REGISTRY_GC_COMMAND="bash x.sh gc"\n',
    );
    const c = registryConfigFromEnv({
      ...env,
      PACIFIC_REGISTRY_SIGNING_KEY_FILE: "k",
      PACIFIC_REGISTRY_SIGNING_CERT_FILE: "c",
    });
    expect(c?.gcCommand).toEqual(["bash", "x.sh", "gc"]);
    expect(c?.tokenTtlMs).toBe(300_000);
  });
});
