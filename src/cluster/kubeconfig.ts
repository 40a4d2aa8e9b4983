/**
 * Kubeconfig resolution, in kubectl's order: --kubeconfig, $KUBECONFIG (a path list), ~/.kube/config,
 * then the in-cluster service account. --context picks a context; otherwise current-context.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { KubeConfig, type Cluster, type Context, type User } from '@kubernetes/client-node';
import { UsageError } from '../model/errors.js';

export interface KubeconfigOptions {
  kubeconfig?: string;
  context?: string;
  /** Injected for tests; default process.env. */
  env?: Record<string, string | undefined>;
  /** Injected for tests; default os.homedir(). */
  home?: string;
  /** Injected for tests; default /var/run/secrets/kubernetes.io/serviceaccount. */
  serviceAccountDir?: string;
}

export interface ResolvedKubeconfig {
  config: KubeConfig;
  context: string;
  server: string;
  /** The context's namespace, or "default". */
  namespace: string;
  /** Where it came from: file path(s) or "in-cluster". */
  source: string;
}

const serviceAccountDir = '/var/run/secrets/kubernetes.io/serviceaccount';
const OTHER_FILE = 'point --kubeconfig or KUBECONFIG at the kubeconfig your cluster tool wrote';

export function resolveKubeconfig(options: KubeconfigOptions = {}): ResolvedKubeconfig {
  const env = options.env ?? process.env;
  const home = options.home ?? homedir();
  const { config, source } = loadConfig(options.kubeconfig, env, home, options.serviceAccountDir ?? serviceAccountDir);

  if (config.getContexts().length === 0) {
    throw new UsageError(`kubeconfig ${source} defines no contexts`, {
      hint: `add one (\`kubectl config set-context NAME --cluster=... --user=...\`), or ${OTHER_FILE}`,
    });
  }
  const contextName = options.context ?? config.getCurrentContext();
  if (!contextName) {
    throw new UsageError(`kubeconfig ${source} sets no current-context`, {
      hint: `pass --context NAME (available: ${listContexts(config)}), or run \`kubectl config use-context NAME\``,
    });
  }
  const context = config.getContextObject(contextName);
  if (!context) {
    const what = options.context !== undefined ? `--context ${contextName}` : `current-context "${contextName}"`;
    throw new UsageError(`${what}: kubeconfig ${source} defines no context of that name`, {
      hint: `available contexts: ${listContexts(config)}; pass --context NAME${options.context !== undefined ? '' : ', or run `kubectl config use-context NAME`'}`,
    });
  }
  config.setCurrentContext(contextName);
  const cluster = config.getCurrentCluster();
  if (!cluster) {
    throw new UsageError(`context "${contextName}" names cluster "${context.cluster}", which ${source} does not define`);
  }
  return { config, context: contextName, server: cluster.server, namespace: context.namespace ?? 'default', source };
}

function listContexts(config: KubeConfig): string {
  const names = config.getContexts().map((c) => c.name).sort();
  return names.length > 0 ? names.join(', ') : '(none)';
}

function loadConfig(
  explicit: string | undefined,
  env: Record<string, string | undefined>,
  home: string,
  accountDir: string,
): { config: KubeConfig; source: string } {
  if (explicit !== undefined) {
    if (!existsSync(explicit)) throw new UsageError(`kubeconfig ${explicit} does not exist`, { hint: `check the path, or ${OTHER_FILE}` });
    return { config: loadFiles([explicit]), source: explicit };
  }
  const fromEnv = env['KUBECONFIG'];
  if (fromEnv) {
    // kubectl skips list entries that do not exist.
    const files = fromEnv.split(delimiter).filter((f) => f !== '' && existsSync(f));
    if (files.length === 0) throw new UsageError(`none of the files in KUBECONFIG (${fromEnv}) exists`, { hint: `check the path, or ${OTHER_FILE}` });
    return { config: loadFiles(files), source: files.join(delimiter) };
  }
  const defaultFile = join(home, '.kube', 'config');
  if (existsSync(defaultFile)) return { config: loadFiles([defaultFile]), source: defaultFile };
  const host = env['KUBERNETES_SERVICE_HOST'];
  if (host && existsSync(join(accountDir, 'token'))) {
    return { config: inClusterConfig(host, env['KUBERNETES_SERVICE_PORT'] ?? '443', accountDir), source: 'in-cluster service account' };
  }
  throw new UsageError('no kubeconfig found', {
    hint: 'pass --kubeconfig FILE, set KUBECONFIG, create ~/.kube/config, or run inside a cluster',
  });
}

/**
 * The pod's service account, as client-go's rest.InClusterConfig builds it. The token is read through
 * client-node's tokenFile provider, which re-reads it: bound tokens rotate while a long run goes on.
 */
function inClusterConfig(host: string, port: string, accountDir: string): KubeConfig {
  const server = `https://${isIPv6(host) ? `[${host}]` : host}:${port}`;
  const namespaceFile = join(accountDir, 'namespace');
  const namespace = existsSync(namespaceFile) ? readFileSync(namespaceFile, 'utf8').trim() : undefined;
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: [{ name: 'in-cluster', server, caFile: join(accountDir, 'ca.crt'), skipTLSVerify: false }],
    users: [{ name: 'in-cluster', authProvider: { name: 'tokenFile', config: { tokenFile: join(accountDir, 'token') } } }],
    contexts: [{ name: 'in-cluster', cluster: 'in-cluster', user: 'in-cluster', ...(namespace ? { namespace } : {}) }],
    currentContext: 'in-cluster',
  });
  return config;
}

/** One kubeconfig file, undefined when empty (kubectl skips those in a list). Every failure names the file. */
function loadFile(file: string): KubeConfig | undefined {
  const one = new KubeConfig();
  let text: string;
  try {
    if (statSync(file).isDirectory()) {
      throw new UsageError(`kubeconfig ${file} is a directory; name the file in it (e.g. ${join(file, 'config')})`);
    }
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if (error instanceof UsageError) throw error;
    const reason = (error as NodeJS.ErrnoException).code === 'EACCES' ? 'permission denied' : error instanceof Error ? error.message : String(error);
    throw new UsageError(`kubeconfig ${file} cannot be read: ${reason}`, { cause: error });
  }
  // client-node reads an empty document as `undefined` and fails with "reading 'clusters'".
  if (text.trim() === '') return undefined;
  try {
    one.loadFromString(text);
  } catch (error) {
    // js-yaml's YAMLException: reason and a 0-based mark; its message spans several lines with a code frame.
    const yamlError = error as { name?: string; reason?: string; mark?: { line: number; column: number } };
    if (yamlError.name === 'YAMLException' && yamlError.mark) {
      throw new UsageError(`kubeconfig ${file}:${yamlError.mark.line + 1}:${yamlError.mark.column + 1}: not valid YAML: ${yamlError.reason ?? 'syntax error'}`, {
        hint: OTHER_FILE,
        cause: error,
      });
    }
    const firstLine = (error instanceof Error ? error.message : String(error)).split('\n')[0];
    throw new UsageError(`kubeconfig ${file} is not a valid kubeconfig: ${firstLine}`, { hint: OTHER_FILE, cause: error });
  }
  return one;
}

/** Merge like kubectl: the first file to define a name (or current-context) wins. */
function loadFiles(files: string[]): KubeConfig {
  const clusters = new Map<string, Cluster>();
  const users = new Map<string, User>();
  const contexts = new Map<string, Context>();
  let currentContext = '';
  let empty = 0;
  for (const file of files) {
    const one = loadFile(file);
    if (one === undefined) {
      empty++;
      continue;
    }
    for (const c of one.getClusters()) if (!clusters.has(c.name)) clusters.set(c.name, c);
    for (const u of one.getUsers()) if (!users.has(u.name)) users.set(u.name, u);
    for (const c of one.getContexts()) if (!contexts.has(c.name)) contexts.set(c.name, c);
    if (!currentContext && one.getCurrentContext()) currentContext = one.getCurrentContext();
  }
  if (empty === files.length) {
    throw new UsageError(`kubeconfig ${files.join(delimiter)} ${files.length === 1 ? 'is' : 'are'} empty`, { hint: OTHER_FILE });
  }
  const merged = new KubeConfig();
  merged.loadFromOptions({
    clusters: [...clusters.values()],
    users: [...users.values()],
    contexts: [...contexts.values()],
    currentContext,
  });
  return merged;
}
