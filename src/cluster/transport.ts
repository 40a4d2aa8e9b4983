/**
 * HTTP to the API server: kubeconfig authentication from @kubernetes/client-node, requests over
 * node:http(s) so that every request has a timeout and an AbortSignal, transient failures are retried
 * with bounded backoff, and watch streams are read line by line.
 */
import { setMaxListeners } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import type { IncomingMessage } from 'node:http';
import { KubeConfig } from '@kubernetes/client-node';
import { ClusterError } from '../model/errors.js';
import {
  errorFromStatus,
  timeoutError,
  tlsError,
  unreachableError,
  type ApiStatus,
  type RequestSubject,
  type ServerIdentity,
} from './api-errors.js';
import type { ResolvedKubeconfig } from './kubeconfig.js';

export interface ApiRequest extends RequestSubject {
  method: 'GET' | 'POST' | 'DELETE' | 'PATCH';
  path: string;
  /** The body's media type (default application/json; a PATCH names its patch type). */
  contentType?: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  signal?: AbortSignal;
}

export interface RetryPolicy {
  /** Total attempts, including the first. */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const defaultRetryPolicy: RetryPolicy = { attempts: 4, baseDelayMs: 200, maxDelayMs: 2_000 };

/** Connection-level failures worth another attempt. */
const transientCodes = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ECONNABORTED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'UND_ERR_SOCKET']);
const retryableStatus = new Set([429, 500, 502, 503, 504]);

class RetryableFailure extends Error {
  constructor(
    readonly error: ClusterError,
    readonly retryAfterMs?: number,
  ) {
    super(error.message);
  }
}

export class Transport {
  readonly identity: ServerIdentity;
  private readonly config: KubeConfig;
  private readonly base: URL;
  /** Server clock minus local clock, from the Date header of the last 2xx response. */
  private clockOffsetMs: number | undefined;

  constructor(
    resolved: ResolvedKubeconfig,
    private readonly requestTimeoutMs: number,
    private readonly retry: RetryPolicy = defaultRetryPolicy,
  ) {
    this.identity = { server: resolved.server, context: resolved.context };
    this.base = new URL(resolved.server);
    this.config = plainHttpCompatible(resolved.config, this.base);
  }

  /**
   * The API server's clock, as of the last successful response (the Date header: 1 s resolution), or
   * undefined before any. Pod timestamps are written by that clock; comparing them with this machine's
   * would let a few minutes of skew sweep live pods or keep dead ones.
   */
  serverNow(): Date | undefined {
    return this.clockOffsetMs === undefined ? undefined : new Date(Date.now() + this.clockOffsetMs);
  }

  private noteServerDate(res: IncomingMessage): void {
    const date = Date.parse(res.headers.date ?? '');
    // Date is truncated to the second: add half a second so the offset is unbiased.
    if (Number.isFinite(date)) this.clockOffsetMs = date + 500 - Date.now();
  }

  /** A JSON request; retried on transient failures. */
  async json<T>(req: ApiRequest): Promise<T> {
    const body = await this.text(req);
    try {
      return JSON.parse(body) as T;
    } catch (error) {
      throw new ClusterError(`the API server ${this.identity.server} sent a response that is not JSON`, { ...req, reason: 'BadResponse' }, { cause: error });
    }
  }

  /** A text request (pod logs). The timeout covers reading the whole body. */
  async text(req: ApiRequest): Promise<string> {
    return this.withRetries(req, async () => {
      const { res, timeout, clear } = await this.send(req);
      try {
        return await readBody(res);
      } catch (error) {
        if (req.signal?.aborted) throw req.signal.reason;
        const mapped = timeout.aborted
          ? timeoutError(this.requestTimeoutMs, req, this.identity)
          : unreachableError(errorCode(error), req, this.identity, error);
        throw new RetryableFailure(mapped);
      } finally {
        clear();
      }
    });
  }

  /**
   * A streaming request (watch): resolves with the open response once the server answered 2xx.
   * Connection failures before that are retried; the caller reads the stream and reconnects.
   */
  async stream(req: ApiRequest): Promise<IncomingMessage> {
    return this.withRetries(req, async () => {
      const { res, clear } = await this.send(req);
      clear();
      return res;
    });
  }

  private async withRetries<T>(req: ApiRequest, attempt: () => Promise<T>): Promise<T> {
    let last: ClusterError | undefined;
    let lastRetryAfter: number | undefined;
    for (let i = 0; i < this.retry.attempts; i++) {
      req.signal?.throwIfAborted();
      if (i > 0) {
        const backoff = Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** (i - 1));
        const jittered = backoff / 2 + Math.random() * (backoff / 2);
        await sleep(Math.min(this.retry.maxDelayMs, Math.max(jittered, lastRetryAfter ?? 0)), req.signal);
      }
      try {
        return await attempt();
      } catch (error) {
        if (!(error instanceof RetryableFailure)) throw error;
        last = error.error;
        lastRetryAfter = error.retryAfterMs;
      }
    }
    throw last ?? new ClusterError('no attempt was made', { reason: 'Internal' });
  }

  /**
   * One attempt: resolves with a 2xx response, throws RetryableFailure or a final ClusterError.
   * The timeout keeps running until the caller calls `clear` (after the body, or at once for streams).
   */
  private async send(req: ApiRequest): Promise<{ res: IncomingMessage; timeout: AbortSignal; clear: () => void }> {
    const url = new URL(this.base.href.replace(/\/$/, '') + req.path);
    for (const [k, v] of Object.entries(req.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const options: https.RequestOptions = {};
    try {
      await this.config.applyToHTTPSOptions(options);
    } catch (error) {
      // Exec plugins (aws, gke-gcloud-auth-plugin, ...) and unreadable cert files fail here.
      throw new ClusterError(
        `cannot get credentials for context ${this.identity.context}: ${error instanceof Error ? error.message : String(error)}`,
        { verb: req.verb, resource: req.resource, namespace: req.namespace, reason: 'Credentials' },
        { hint: 'check the user entry of this context in your kubeconfig', cause: error },
      );
    }
    const payload = req.body === undefined ? undefined : Buffer.from(JSON.stringify(req.body));
    const headers: Record<string, string | number> = {
      ...(options.headers as Record<string, string> | undefined),
      Accept: 'application/json',
    };
    if (options.auth) {
      headers['Authorization'] = `Basic ${Buffer.from(options.auth).toString('base64')}`;
      delete options.auth;
    }
    if (payload) {
      headers['Content-Type'] = req.contentType ?? 'application/json';
      headers['Content-Length'] = payload.length;
    }
    const timeoutController = new AbortController();
    const timer = setTimeout(() => timeoutController.abort(), this.requestTimeoutMs);
    const clear = (): void => clearTimeout(timer);
    const timeout = timeoutController.signal;
    // Every request in flight listens on the caller's signal (one per run, shared by every pod's watch and log
    // read): dozens at once are expected, not a leak, so Node's 10-listener warning would only alarm users.
    if (req.signal) setMaxListeners(0, req.signal);
    const signal = req.signal ? AbortSignal.any([req.signal, timeout]) : timeout;
    const lib = url.protocol === 'http:' ? http : https;

    let res: IncomingMessage;
    try {
      res = await new Promise<IncomingMessage>((resolve, reject) => {
        const r = lib.request(url, { ...options, method: req.method, headers, signal }, resolve);
        r.on('error', reject);
        r.end(payload);
      });
    } catch (error) {
      clear();
      if (req.signal?.aborted) throw req.signal.reason;
      if (timeout.aborted) throw new RetryableFailure(timeoutError(this.requestTimeoutMs, req, this.identity));
      const code = errorCode(error);
      if (/CERT|TLS|SSL|SIGNATURE/i.test(code)) throw tlsError(code, req, this.identity, error);
      const mapped = unreachableError(code, req, this.identity, error);
      if (transientCodes.has(code) || code === 'socket hang up') throw new RetryableFailure(mapped);
      throw mapped;
    }
    const status = res.statusCode ?? 0;
    if (status >= 200 && status < 300) {
      this.noteServerDate(res);
      return { res, timeout, clear };
    }

    let body = '';
    try {
      body = await readBody(res);
    } catch {
      // The error status alone still says enough.
    } finally {
      clear();
    }
    const mapped = errorFromStatus(status, parseStatus(body), req, this.identity);
    if (retryableStatus.has(status)) throw new RetryableFailure(mapped, retryAfterMs(res));
    throw mapped;
  }
}

/**
 * client-node refuses plain-http servers unless skipTLSVerify is set (there is no TLS to verify anyway);
 * local API servers (such as the tests' API double, test/cluster/api-double.ts) may speak plain http.
 */
function plainHttpCompatible(config: KubeConfig, base: URL): KubeConfig {
  const cluster = config.getCurrentCluster();
  if (base.protocol !== 'http:' || !cluster || cluster.skipTLSVerify) return config;
  const copy = new KubeConfig();
  copy.loadFromOptions({
    clusters: config.getClusters().map((c) => (c.name === cluster.name ? { ...c, skipTLSVerify: true } : c)),
    users: config.getUsers(),
    contexts: config.getContexts(),
    currentContext: config.getCurrentContext(),
  });
  return copy;
}

async function readBody(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function parseStatus(body: string): ApiStatus | undefined {
  try {
    const parsed = JSON.parse(body) as unknown;
    return typeof parsed === 'object' && parsed !== null ? (parsed as ApiStatus) : undefined;
  } catch {
    return body.trim() === '' ? undefined : { message: body.trim().slice(0, 300) };
  }
}

function retryAfterMs(res: IncomingMessage): number | undefined {
  const header = res.headers['retry-after'];
  const seconds = typeof header === 'string' ? Number(header) : NaN;
  return Number.isFinite(seconds) ? seconds * 1000 : undefined;
}

function errorCode(error: unknown): string {
  if (typeof error === 'object' && error !== null) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    const message = (error as { message?: unknown }).message;
    if (typeof message === 'string') return message;
  }
  return String(error);
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
