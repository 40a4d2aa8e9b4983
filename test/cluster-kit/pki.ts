/**
 * The test cluster's certificates and kubeconfigs, made fresh at every start with openssl (as kubeadm's
 * `init phase certs` does, with ECDSA P-256 keys: quick to generate, accepted by every component).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand } from './run-command.js';

export interface ClientIdentity {
  /** Certificate CN: the user name the API server sees. */
  user: string;
  /** Certificate O entries: the groups. */
  groups?: string[];
}

export interface Pki {
  dir: string;
  caCert: string;
  caKey: string;
  apiServerCert: string;
  apiServerKey: string;
  /** The API server's own client certificate for kubelets (logs), member of system:masters. */
  kubeletClientCert: string;
  kubeletClientKey: string;
  serviceAccountKey: string;
  serviceAccountPub: string;
  /** Writes a kubeconfig for `identity` at `server` and returns its path. */
  kubeconfig(name: string, identity: ClientIdentity, server: string): Promise<string>;
}

/** What the API server's serving certificate must name: every address a client of this cluster dials. */
export interface ApiServerNames {
  ips: string[];
  dnsNames: string[];
}

async function openssl(args: string[], input?: string): Promise<void> {
  await runCommand(['openssl', ...args], { input });
}

async function newKey(path: string): Promise<void> {
  await openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', path]);
}

function subject(identity: ClientIdentity): string {
  return [...(identity.groups ?? []).map((g) => `/O=${g}`), `/CN=${identity.user}`].join('');
}

/** A key and a certificate signed by the CA, with the given extensions (an openssl config section). */
async function signedPair(dir: string, name: string, subj: string, extensions: string, caCert: string, caKey: string): Promise<{ cert: string; key: string }> {
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const cert = join(dir, `${name}.crt`);
  const ext = join(dir, `${name}.ext`);
  await newKey(key);
  await openssl(['req', '-new', '-key', key, '-subj', subj, '-out', csr]);
  await writeFile(ext, `[v3]\n${extensions}\n`);
  await openssl(['x509', '-req', '-in', csr, '-CA', caCert, '-CAkey', caKey, '-CAcreateserial', '-days', '30', '-sha256', '-extfile', ext, '-extensions', 'v3', '-out', cert]);
  return { cert, key };
}

const CLIENT_EXTENSIONS = 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth';

export async function createPki(dir: string, apiServer: ApiServerNames): Promise<Pki> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const caKey = join(dir, 'ca.key');
  const caCert = join(dir, 'ca.crt');
  await newKey(caKey);
  await openssl(['req', '-x509', '-new', '-key', caKey, '-subj', '/CN=netcheck-test-cluster-ca', '-days', '30', '-sha256', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature', '-out', caCert]);

  const altNames = [...apiServer.ips.map((ip) => `IP:${ip}`), ...apiServer.dnsNames.map((n) => `DNS:${n}`)].join(',');
  const serving = await signedPair(dir, 'apiserver', '/CN=kube-apiserver', `basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=${altNames}`, caCert, caKey);
  const kubeletClient = await signedPair(dir, 'apiserver-kubelet-client', subject({ user: 'kube-apiserver-kubelet-client', groups: ['system:masters'] }), CLIENT_EXTENSIONS, caCert, caKey);

  const serviceAccountKey = join(dir, 'sa.key');
  const serviceAccountPub = join(dir, 'sa.pub');
  await newKey(serviceAccountKey);
  await openssl(['pkey', '-in', serviceAccountKey, '-pubout', '-out', serviceAccountPub]);

  const caData = (await readFile(caCert)).toString('base64');
  return {
    dir,
    caCert,
    caKey,
    apiServerCert: serving.cert,
    apiServerKey: serving.key,
    kubeletClientCert: kubeletClient.cert,
    kubeletClientKey: kubeletClient.key,
    serviceAccountKey,
    serviceAccountPub,
    async kubeconfig(name, identity, server) {
      const pair = await signedPair(dir, name, subject(identity), CLIENT_EXTENSIONS, caCert, caKey);
      const path = join(dir, `${name}.kubeconfig`);
      const [cert, key] = await Promise.all([readFile(pair.cert), readFile(pair.key)]);
      await writeFile(path, renderKubeconfig({ server, caData, certData: cert.toString('base64'), keyData: key.toString('base64'), user: identity.user }), { mode: 0o600 });
      return path;
    },
  };
}

/** A kubeconfig with embedded credentials (kubectl and every component read it unchanged). */
export function renderKubeconfig(c: { server: string; caData: string; certData?: string; keyData?: string; token?: string; user: string }): string {
  const credentials = c.token !== undefined ? `    token: ${c.token}` : `    client-certificate-data: ${c.certData}\n    client-key-data: ${c.keyData}`;
  return `apiVersion: v1
kind: Config
clusters:
- name: netcheck-test
  cluster:
    server: ${c.server}
    certificate-authority-data: ${c.caData}
users:
- name: ${c.user}
  user:
${credentials}
contexts:
- name: netcheck-test
  context: { cluster: netcheck-test, user: ${c.user} }
current-context: netcheck-test
`;
}
