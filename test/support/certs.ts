/**
 * A throwaway PKI made with openssl for the TLS tests: a CA, a server certificate for localhost and
 * 127.0.0.1, and a client certificate, all PEM (keys unencrypted PKCS#8).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

export interface TestCerts {
  dir: string;
  caFile: string;
  serverCertFile: string;
  serverKeyFile: string;
  clientCertFile: string;
  clientKeyFile: string;
}

/** True when an `openssl` binary answers. */
export async function opensslAvailable(): Promise<boolean> {
  try {
    await exec('openssl', ['version'], { timeout: 5000 });
    return true;
  } catch {
    return false;
  }
}

export async function makeTestCerts(dir: string): Promise<TestCerts> {
  await fs.mkdir(dir, { recursive: true });
  const f = (name: string): string => path.join(dir, name);
  const openssl = (...args: string[]): Promise<unknown> => exec('openssl', args, { cwd: dir, timeout: 30_000 });
  const newKey = (file: string): Promise<unknown> =>
    openssl('genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', f(file));

  await newKey('ca.key');
  await openssl(
    'req',
    '-x509',
    '-new',
    '-key',
    f('ca.key'),
    '-sha256',
    '-days',
    '2',
    '-subj',
    '/CN=picket-test-ca',
    '-out',
    f('ca.crt'),
  );

  const signed = async (name: string, cn: string, ext: string): Promise<void> => {
    await newKey(`${name}.key`);
    await openssl('req', '-new', '-key', f(`${name}.key`), '-subj', `/CN=${cn}`, '-out', f(`${name}.csr`));
    await fs.writeFile(f(`${name}.ext`), ext);
    await openssl(
      'x509',
      '-req',
      '-in',
      f(`${name}.csr`),
      '-CA',
      f('ca.crt'),
      '-CAkey',
      f('ca.key'),
      '-CAcreateserial',
      '-sha256',
      '-days',
      '2',
      '-extfile',
      f(`${name}.ext`),
      '-out',
      f(`${name}.crt`),
    );
  };
  await signed(
    'server',
    'localhost',
    'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\n',
  );
  await signed('client', 'picket', 'extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n');
  return {
    dir,
    caFile: f('ca.crt'),
    serverCertFile: f('server.crt'),
    serverKeyFile: f('server.key'),
    clientCertFile: f('client.crt'),
    clientKeyFile: f('client.key'),
  };
}
