/** A throwaway certificate authority and a localhost certificate it signed, made by openssl. */

import { openssl } from "./openssl.ts";

export interface TestCertificates {
  /** The CA certificate to trust (PEM). */
  readonly ca: string;
  /** The server certificate for localhost and 127.0.0.1 (PEM). */
  readonly cert: string;
  /** The server certificate's private key (PEM). */
  readonly key: string;
}

let cached: Promise<TestCertificates> | undefined;

/** Creates the certificates once per test process. */
export function testCertificates(): Promise<TestCertificates> {
  return cached ??= create();
}

async function create(): Promise<TestCertificates> {
  const dir = await Deno.makeTempDir({ prefix: "socketry-tls-" });
  try {
    await openssl(dir, [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-days",
      "2",
      "-subj",
      "/CN=socketry test CA",
      "-keyout",
      "ca.key",
      "-out",
      "ca.pem",
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    await openssl(dir, [
      "req",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-subj",
      "/CN=localhost",
      "-keyout",
      "key.pem",
      "-out",
      "leaf.csr",
    ]);
    await Deno.writeTextFile(
      `${dir}/leaf.ext`,
      "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth,clientAuth\n",
    );
    await openssl(dir, [
      "x509",
      "-req",
      "-in",
      "leaf.csr",
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-days",
      "2",
      "-out",
      "cert.pem",
      "-extfile",
      "leaf.ext",
    ]);
    return {
      ca: await Deno.readTextFile(`${dir}/ca.pem`),
      cert: await Deno.readTextFile(`${dir}/cert.pem`),
      key: await Deno.readTextFile(`${dir}/key.pem`),
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
