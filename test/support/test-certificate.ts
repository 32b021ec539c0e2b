import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

/** A self-signed certificate for 127.0.0.1 made with openssl, shared by the whole test run. */
export function testCertificate(): { cert: Buffer; key: Buffer; certFile: string; keyFile: string } {
  const dir = path.join(process.env.BREAKGLASS_TEST_ROOT ?? '/tmp', 'tls');
  const certFile = path.join(dir, 'cert.pem');
  const keyFile = path.join(dir, 'key.pem');
  if (!existsSync(certFile)) {
    mkdirSync(dir, { recursive: true });
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '2',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1,DNS:localhost',
        '-keyout',
        `${keyFile}.tmp`,
        '-out',
        `${certFile}.tmp`,
      ],
      { stdio: 'ignore' },
    );
    execFileSync('mv', [`${keyFile}.tmp`, keyFile]);
    execFileSync('mv', [`${certFile}.tmp`, certFile]);
  }
  return { cert: readFileSync(certFile), key: readFileSync(keyFile), certFile, keyFile };
}
