// Who the viewer is and what they may see, asked of the API server: TokenReview for the bearer
// token the browser logged in with, SubjectAccessReview as that user for every kind the UI shows
// and every action it offers. Answers are cached briefly (TOKEN_TTL_MS, ACCESS_TTL_MS) so that a
// page of 10,000 rows costs a dozen reviews, not one per row, and a revoked right takes effect
// within seconds.
import { createHash } from "node:crypto";
import type { KubeClient } from "../runtime/client.ts";

export interface Viewer {
  user: string;
  groups: string[];
  uid?: string;
  extra?: Record<string, string[]>;
  /** The bearer token: actions are sent with it, so the API server decides as for kubectl. */
  token: string;
}

export interface ResourceAttributes {
  verb: string;
  group: string;
  resource: string;
  namespace?: string;
  name?: string;
}

export interface Authenticator {
  /** The user behind a bearer token, or undefined if the API server does not accept it. */
  authenticate(token: string): Promise<Viewer | undefined>;
}

export interface Authorizer {
  allowed(v: Viewer, a: ResourceAttributes): Promise<boolean>;
}

export const TOKEN_TTL_MS = 60_000;
export const ACCESS_TTL_MS = 10_000;
const MAX_CACHE = 10_000;

interface TokenReviewStatus {
  authenticated?: boolean;
  user?: { username?: string; uid?: string; groups?: string[]; extra?: Record<string, string[]> };
  error?: string;
}

/** TokenReview and SubjectAccessReview through the manager's client (RBAC: create on both). */
export class KubeAuth implements Authenticator, Authorizer {
  private readonly tokens = new Map<string, { viewer: Viewer | undefined; at: number }>();
  private readonly access = new Map<string, { allowed: boolean; at: number }>();
  readonly stats = { tokenReviews: 0, accessReviews: 0 };

  constructor(private readonly client: KubeClient) {}

  async authenticate(token: string): Promise<Viewer | undefined> {
    if (!token) return undefined;
    const key = digest(token);
    const hit = this.tokens.get(key);
    if (hit && Date.now() - hit.at < TOKEN_TTL_MS) return hit.viewer;
    this.stats.tokenReviews++;
    const review = await this.client.request<{ status?: TokenReviewStatus }>(
      "POST",
      "/apis/authentication.k8s.io/v1/tokenreviews",
      { body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenReview", spec: { token } } },
    );
    const s = review.status;
    const viewer =
      s?.authenticated && s.user?.username
        ? {
            user: s.user.username,
            groups: s.user.groups ?? [],
            ...(s.user.uid ? { uid: s.user.uid } : {}),
            ...(s.user.extra ? { extra: s.user.extra } : {}),
            token,
          }
        : undefined;
    remember(this.tokens, key, { viewer, at: Date.now() });
    return viewer;
  }

  async allowed(v: Viewer, a: ResourceAttributes): Promise<boolean> {
    const key = JSON.stringify([
      v.user,
      v.groups,
      a.verb,
      a.group,
      a.resource,
      a.namespace ?? "",
      a.name ?? "",
    ]);
    const hit = this.access.get(key);
    if (hit && Date.now() - hit.at < ACCESS_TTL_MS) return hit.allowed;
    this.stats.accessReviews++;
    const review = await this.client.request<{ status?: { allowed?: boolean } }>(
      "POST",
      "/apis/authorization.k8s.io/v1/subjectaccessreviews",
      {
        body: {
          apiVersion: "authorization.k8s.io/v1",
          kind: "SubjectAccessReview",
          spec: {
            user: v.user,
            groups: v.groups,
            ...(v.uid ? { uid: v.uid } : {}),
            ...(v.extra ? { extra: v.extra } : {}),
            resourceAttributes: a,
          },
        },
      },
    );
    const allowed = review.status?.allowed === true;
    remember(this.access, key, { allowed, at: Date.now() });
    return allowed;
  }
}

export function digest(s: string): string {
  return createHash("sha256").update(s).digest("base64url");
}

function remember<V>(m: Map<string, V>, key: string, v: V): void {
  if (m.size >= MAX_CACHE) m.clear(); // crude, but bounded: entries live seconds anyway
  m.set(key, v);
}
