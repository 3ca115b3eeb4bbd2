// Pacific as Harbor's core: the token service of the Docker registry token specification.
//   GET /service/token?service=..&scope=..   Basic (user:<Kubernetes token>, or robot$<ns>:<robot
//                                            credential>) or Bearer <Kubernetes token>
//   POST /service/notifications              the registry's events (pushes), with a bearer secret
// A Kubernetes token is authenticated by TokenReview; each repository scope is authorized by a
// SubjectAccessReview as the caller: verbs pull/push on registryprojects.vsphere.pacific.dev in the
// project's namespace (aggregated into edit and view). Robot credentials are JWTs this service
// signed, good for pulling from their own project only. Tokens are RS256 JWTs, audience-bound to the
// registry's service name, living tokenTtlMs. Runs on every replica (the caches are warm everywhere).
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  type KeyObject,
  timingSafeEqual,
  X509Certificate,
} from "node:crypto";
import { readFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import {
  REGISTRY_RBAC_GROUP as RBAC_GROUP,
  REGISTRY_RBAC_RESOURCE as RBAC_RESOURCE,
} from "../api/contracts.ts";
import type { SupervisorNamespace } from "../api/vsphere/supervisornamespace.ts";
import type { KubeClient, KubeObject } from "../runtime/client.ts";
import type { Informer } from "../runtime/informer.ts";
import type { Logger } from "../runtime/log.ts";
import type { ResourceType } from "../runtime/resource.ts";
import { parseQuantity } from "../shared/quantity.ts";
import type { RegistryConfig } from "./config.ts";
import { libtrustKeyId, newJti, signJwt, verifyJwt } from "./jwt.ts";
import type { RegistryMetrics, TokenResult } from "./metrics.ts";
import { type Access, decide, type ProjectRights, parseScopes, projectsOf, resultOf } from "./scope.ts";
export const ROBOT_PREFIX = "robot$";

type TokenReview = KubeObject & {
  spec?: { token: string };
  status?: { authenticated?: boolean; user?: UserInfo };
};
type SubjectAccessReview = KubeObject & { spec?: unknown; status?: { allowed?: boolean } };

const TokenReviews: ResourceType<TokenReview> = {
  group: "authentication.k8s.io",
  version: "v1",
  plural: "tokenreviews",
  kind: "TokenReview",
  namespaced: false,
};
const SubjectAccessReviews: ResourceType<SubjectAccessReview> = {
  group: "authorization.k8s.io",
  version: "v1",
  plural: "subjectaccessreviews",
  kind: "SubjectAccessReview",
  namespaced: false,
};

interface UserInfo {
  username: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
}

type Caller = { kind: "user"; user: UserInfo } | { kind: "robot"; project: string; name: string };

/** The signing key, its key ID and the registry-facing names. */
export class TokenSigner {
  readonly key: KeyObject;
  readonly publicKey: KeyObject;
  readonly kid: string;

  constructor(
    keyPem: string,
    certPem: string,
    readonly issuer: string,
    readonly service: string,
  ) {
    this.key = createPrivateKey(keyPem);
    this.publicKey = createPublicKey(this.key);
    const certKey = new X509Certificate(certPem).publicKey;
    if (libtrustKeyId(certKey) !== libtrustKeyId(this.publicKey))
      throw new Error("the token signing key does not match its certificate (the registry's rootcertbundle)");
    this.kid = libtrustKeyId(this.publicKey);
  }

  static fromFiles(c: RegistryConfig): TokenSigner {
    return new TokenSigner(
      readFileSync(c.signingKeyFile, "utf8"),
      readFileSync(c.signingCertFile, "utf8"),
      c.issuer,
      c.service,
    );
  }

  /** A registry access token (the spec's claim set). */
  accessToken(subject: string, access: Access[], ttlMs: number, now = Date.now()): string {
    const iat = Math.floor(now / 1000);
    return signJwt(
      {
        iss: this.issuer,
        sub: subject,
        aud: this.service,
        exp: iat + Math.ceil(ttlMs / 1000),
        nbf: iat - 5,
        iat,
        jti: newJti(),
        access,
      },
      this.key,
      this.kid,
    );
  }

  /** A robot credential: pulls from `project` (that namespace's uid) until `expiresAt`. */
  robotCredential(project: string, uid: string, expiresAt: Date, now = Date.now()): string {
    return signJwt(
      {
        iss: this.issuer,
        aud: `${this.service}/robot`,
        sub: `${ROBOT_PREFIX}${project}`,
        project,
        uid,
        iat: Math.floor(now / 1000),
        exp: Math.floor(expiresAt.getTime() / 1000),
        jti: newJti(),
      },
      this.key,
      this.kid,
    );
  }

  /** The project a robot credential is for, if it is ours, unexpired and for that uid. */
  verifyRobot(
    username: string,
    credential: string,
    uidOf: (project: string) => string | undefined,
    now = Date.now(),
  ): string | undefined {
    const c = verifyJwt(credential, this.publicKey);
    if (!c || c.iss !== this.issuer || c.aud !== `${this.service}/robot`) return undefined;
    if (typeof c.exp !== "number" || c.exp * 1000 <= now || typeof c.project !== "string") return undefined;
    if (c.sub !== username || username !== `${ROBOT_PREFIX}${c.project}`) return undefined;
    return uidOf(c.project) === c.uid ? c.project : undefined;
  }
}

/** The registry's error document (the distribution spec's errors array). */
function errorBody(code: string, message: string): string {
  return JSON.stringify({ errors: [{ code, message, detail: null }] });
}

export class TokenService {
  private server: http.Server | undefined;
  readonly listening: Promise<void>;
  private readonly notifyToken: string | undefined;

  constructor(
    private readonly config: RegistryConfig,
    readonly signer: TokenSigner,
    private readonly client: KubeClient,
    private readonly svns: Informer<SupervisorNamespace>,
    private readonly metrics: RegistryMetrics,
    private readonly log: Logger,
    /** Called with the project of each pushed manifest. */
    private readonly onPush: (project: string) => void,
  ) {
    this.notifyToken = config.notifyTokenFile
      ? readFileSync(config.notifyTokenFile, "utf8").trim()
      : undefined;
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
      void this.handle(req, res).catch((e: unknown) => {
        this.log.error({ err: String(e) }, "token service failure");
        if (!res.headersSent) res.writeHead(500, { "Content-Type": "application/json" });
        res.end(errorBody("UNKNOWN", "internal error"));
      });
    };
    this.server =
      config.tokenTlsCertFile && config.tokenTlsKeyFile
        ? https.createServer(
            { cert: readFileSync(config.tokenTlsCertFile), key: readFileSync(config.tokenTlsKeyFile) },
            handler,
          )
        : http.createServer(handler);
    const i = config.tokenAddress.lastIndexOf(":");
    const host = config.tokenAddress.slice(0, i) || "0.0.0.0";
    const port = Number(config.tokenAddress.slice(i + 1));
    this.listening = new Promise((resolve, reject) => {
      this.server!.once("error", reject);
      this.server!.listen(port, host, () => {
        this.log.info(
          { address: config.tokenAddress, tls: Boolean(config.tokenTlsCertFile) },
          "registry token service listening",
        );
        resolve();
      });
    });
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    await new Promise<void>((r) => s.close(() => r()));
    s.closeAllConnections();
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://token");
    if (url.pathname === "/service/token" && req.method === "GET") return this.token(req, url, res);
    if (url.pathname === "/service/notifications" && req.method === "POST")
      return this.notifications(req, res);
    res.writeHead(404, { "Content-Type": "text/plain" }).end("not found");
  }

  private async token(req: http.IncomingMessage, url: URL, res: http.ServerResponse): Promise<void> {
    const start = process.hrtime.bigint();
    const finish = (
      result: TokenResult,
      status: number,
      body: string,
      headers: Record<string, string> = {},
    ) => {
      this.metrics.tokenRequests.inc({ result });
      this.metrics.tokenDuration.observe({ result }, Number(process.hrtime.bigint() - start) / 1e9);
      res.writeHead(status, { "Content-Type": "application/json", ...headers }).end(body);
    };
    const unauthorized = (message: string) =>
      finish("unauthorized", 401, errorBody("UNAUTHORIZED", message), {
        "WWW-Authenticate": 'Basic realm="Pacific Registry Service"',
      });
    const service = url.searchParams.get("service");
    if (service && service !== this.config.service)
      return finish(
        "denied",
        400,
        errorBody("DENIED", `this token service serves ${this.config.service}, not ${service}`),
      );
    let caller: Caller | undefined;
    try {
      caller = await this.authenticate(req.headers.authorization);
    } catch (e) {
      this.log.error({ err: String(e) }, "token service: TokenReview failed");
      return finish("error", 500, errorBody("UNKNOWN", "cannot authenticate now; try again"));
    }
    if (!caller)
      return unauthorized(
        "authentication required: log in with a Kubernetes token (vSphere login) or a robot credential",
      );
    const scopes = parseScopes(url.searchParams.getAll("scope"));
    let rights: Map<string, ProjectRights>;
    try {
      rights = await this.rightsOf(caller, scopes);
    } catch (e) {
      this.log.error({ err: String(e) }, "token service: SubjectAccessReview failed");
      return finish("error", 500, errorBody("UNKNOWN", "cannot authorize now; try again"));
    }
    const decision = decide(
      scopes,
      (p) => rights.get(p) ?? { pull: false, push: false },
      (p) => this.svns.store.get(p)?.status?.registry?.quotaExceeded === true,
    );
    const subject = caller.kind === "user" ? caller.user.username : caller.name;
    if (decision.denied.length)
      this.log.debug({ subject, denied: decision.denied }, "token service: scopes not granted");
    const now = Date.now();
    const token = this.signer.accessToken(subject, decision.access, this.config.tokenTtlMs, now);
    finish(
      resultOf(scopes, decision),
      200,
      JSON.stringify({
        token,
        access_token: token,
        expires_in: Math.ceil(this.config.tokenTtlMs / 1000),
        issued_at: new Date(now).toISOString(),
      }),
    );
  }

  private async authenticate(header: string | undefined): Promise<Caller | undefined> {
    if (!header) return undefined;
    const [kind, value] = [
      header.slice(0, header.indexOf(" ")).toLowerCase(),
      header.slice(header.indexOf(" ") + 1).trim(),
    ];
    let username: string | undefined;
    let secret: string;
    if (kind === "basic") {
      const decoded = Buffer.from(value, "base64").toString("utf8");
      const i = decoded.indexOf(":");
      if (i < 0) return undefined;
      username = decoded.slice(0, i);
      secret = decoded.slice(i + 1);
    } else if (kind === "bearer") secret = value;
    else return undefined;
    if (!secret) return undefined;
    if (username?.startsWith(ROBOT_PREFIX)) {
      const project = this.signer.verifyRobot(username, secret, (p) => {
        const s = this.svns.store.get(p);
        return s && !s.metadata.deletionTimestamp ? s.metadata.uid : undefined;
      });
      return project ? { kind: "robot", project, name: username } : undefined;
    }
    const review = await this.client.create(TokenReviews, {
      apiVersion: "authentication.k8s.io/v1",
      kind: "TokenReview",
      spec: { token: secret },
    } as never);
    const user = review.status?.authenticated ? review.status.user : undefined;
    return user?.username ? { kind: "user", user } : undefined;
  }

  /** The caller's rights in each project the scopes name (only the actions asked for are reviewed). */
  private async rightsOf(
    caller: Caller,
    scopes: ReturnType<typeof parseScopes>,
  ): Promise<Map<string, ProjectRights>> {
    const out = new Map<string, ProjectRights>();
    await Promise.all(
      projectsOf(scopes).map(async (project) => {
        const svns = this.svns.store.get(project);
        if (!svns || svns.metadata.deletionTimestamp) return; // no project, nothing to grant
        if (caller.kind === "robot") {
          out.set(project, { pull: caller.project === project, push: false });
          return;
        }
        const asked = new Set(
          scopes
            .filter((s) => s.type === "repository" && s.name.startsWith(`${project}/`))
            .flatMap((s) => s.actions),
        );
        const [pull, push] = await Promise.all(
          (["pull", "push"] as const).map((verb) =>
            asked.has(verb) ? this.allowed(caller.user, project, verb) : false,
          ),
        );
        out.set(project, { pull: pull!, push: push! });
      }),
    );
    return out;
  }

  private async allowed(user: UserInfo, namespace: string, verb: "pull" | "push"): Promise<boolean> {
    const r = await this.client.create(SubjectAccessReviews, {
      apiVersion: "authorization.k8s.io/v1",
      kind: "SubjectAccessReview",
      spec: {
        user: user.username,
        uid: user.uid,
        groups: user.groups,
        extra: user.extra,
        resourceAttributes: { namespace, verb, group: RBAC_GROUP, resource: RBAC_RESOURCE, name: namespace },
      },
    });
    return r.status?.allowed === true;
  }

  private async notifications(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const auth = req.headers.authorization ?? "";
    if (!this.notifyToken || !sameSecret(auth, `Bearer ${this.notifyToken}`)) {
      res.writeHead(401).end();
      return;
    }
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    let events: Array<{ action?: string; target?: { mediaType?: string; repository?: string } }> = [];
    try {
      events =
        (JSON.parse(Buffer.concat(chunks).toString("utf8")) as { events?: typeof events }).events ?? [];
    } catch {
      res.writeHead(400).end();
      return;
    }
    for (const e of events) {
      const mt = e.target?.mediaType ?? "";
      const repo = e.target?.repository ?? "";
      const project = repo.includes("/") ? repo.slice(0, repo.indexOf("/")) : undefined;
      if (e.action === "push" && project && /manifest|image\.index/.test(mt)) {
        this.metrics.pushes.inc({ project });
        this.onPush(project);
      }
    }
    res.writeHead(200).end();
  }
}

/** Constant-time comparison of two secrets (of their hashes, so lengths do not leak either). */
function sameSecret(a: string, b: string): boolean {
  const ha = createHash("sha256").update(a).digest();
  const hb = createHash("sha256").update(b).digest();
  return timingSafeEqual(ha, hb);
}

/** Bytes of a quota quantity, or undefined. */
export function quotaBytes(q: string | number | undefined): number | undefined {
  return q === undefined ? undefined : parseQuantity(q);
}
