// Who may read /metrics when it is served securely: as controller-runtime's
// WithAuthenticationAndAuthorization (kubebuilder v4's default), the bearer token is checked with a
// TokenReview and its user with a SubjectAccessReview for `get` on the non-resource URL /metrics.
// Answers are kept a minute per token, so a Prometheus scraping every 15 s costs 2 API calls a minute.
import { createHash } from "node:crypto";
import type { KubeClient } from "./client.ts";
import type { ResourceType } from "./resource.ts";

const TokenReviews: ResourceType = {
  group: "authentication.k8s.io",
  version: "v1",
  plural: "tokenreviews",
  kind: "TokenReview",
  namespaced: false,
};
const SubjectAccessReviews: ResourceType = {
  group: "authorization.k8s.io",
  version: "v1",
  plural: "subjectaccessreviews",
  kind: "SubjectAccessReview",
  namespaced: false,
};

interface TokenReview {
  apiVersion: string;
  kind: string;
  metadata: object;
  spec: { token: string };
  status?: {
    authenticated?: boolean;
    user?: { username?: string; uid?: string; groups?: string[]; extra?: Record<string, string[]> };
    error?: string;
  };
}

interface SubjectAccessReview {
  apiVersion: string;
  kind: string;
  metadata: object;
  spec: {
    user?: string;
    uid?: string;
    groups?: string[];
    extra?: Record<string, string[]>;
    nonResourceAttributes: { path: string; verb: string };
  };
  status?: { allowed?: boolean; reason?: string };
}

export interface Verdict {
  code: 200 | 401 | 403;
  message: string;
}

export class MetricsAuthorizer {
  private readonly cache = new Map<string, { verdict: Verdict; at: number }>();

  constructor(
    private readonly client: KubeClient,
    private readonly path = "/metrics",
    private readonly ttlMs = 60_000,
  ) {}

  /** The verdict on a request's Authorization header. */
  async authorize(authorization: string | undefined): Promise<Verdict> {
    const m = /^Bearer\s+(\S+)$/i.exec(authorization ?? "");
    if (!m) return { code: 401, message: "Unauthorized: a bearer token is required" };
    const key = createHash("sha256").update(m[1]!).digest("hex");
    const hit = this.cache.get(key);
    if (hit && Date.now() - hit.at < this.ttlMs) return hit.verdict;
    const verdict = await this.review(m[1]!);
    if (this.cache.size > 1000) this.cache.clear();
    this.cache.set(key, { verdict, at: Date.now() });
    return verdict;
  }

  private async review(token: string): Promise<Verdict> {
    const tr = await this.client.create<TokenReview>(TokenReviews, {
      apiVersion: "authentication.k8s.io/v1",
      kind: "TokenReview",
      metadata: {},
      spec: { token },
    });
    const user = tr.status?.user;
    if (!tr.status?.authenticated || !user?.username)
      return { code: 401, message: `Unauthorized: ${tr.status?.error ?? "the token is not valid"}` };
    const sar = await this.client.create<SubjectAccessReview>(SubjectAccessReviews, {
      apiVersion: "authorization.k8s.io/v1",
      kind: "SubjectAccessReview",
      metadata: {},
      spec: {
        user: user.username,
        uid: user.uid,
        groups: user.groups,
        extra: user.extra,
        nonResourceAttributes: { path: this.path, verb: "get" },
      },
    });
    return sar.status?.allowed
      ? { code: 200, message: "" }
      : { code: 403, message: `Forbidden: ${user.username} may not get ${this.path}` };
  }
}
