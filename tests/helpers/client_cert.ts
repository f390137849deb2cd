/**
 * Certificates for mutual TLS and certificate failures, made by openssl in a
 * temporary directory that is removed before the promise settles: a CA, a
 * server certificate for localhost and 127.0.0.1, a client certificate the CA
 * signed, a client certificate another CA signed, a self-signed server
 * certificate and a CA-signed server certificate for another name.
 *
 * @module
 */

import { openssl } from "./openssl.ts";

/** A certificate chain and its private key, both PEM. */
export interface KeyPair {
  readonly cert: string;
  readonly key: string;
}

/** The set {@linkcode mutualTlsCertificates} makes. */
export interface MutualTlsCertificates {
  /** The CA that signed `server`, `client` and `wrongName` (PEM). */
  readonly ca: string;
  /** For `localhost` and `127.0.0.1`, signed by `ca`, serverAuth. */
  readonly server: KeyPair;
  /** CN=socketry test client, signed by `ca`, clientAuth. */
  readonly client: KeyPair;
  /** A client certificate signed by a second CA nobody trusts. */
  readonly strangerClient: KeyPair;
  /** A self-signed certificate for `localhost` and `127.0.0.1`. */
  readonly selfSigned: KeyPair;
  /** For `other.test` only, signed by `ca`. */
  readonly wrongName: KeyPair;
}

let cached: Promise<MutualTlsCertificates> | undefined;

/** Creates the certificates once per test process. */
export function mutualTlsCertificates(): Promise<MutualTlsCertificates> {
  return cached ??= create();
}

const EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];

async function makeCa(dir: string, name: string, cn: string): Promise<void> {
  await openssl(dir, [
    "req",
    "-x509",
    ...EC_KEY,
    "-nodes",
    "-days",
    "2",
    "-subj",
    `/CN=${cn}`,
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.pem`,
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ]);
}

async function makeLeaf(
  dir: string,
  name: string,
  ca: string,
  cn: string,
  extensions: string,
): Promise<KeyPair> {
  await openssl(dir, [
    "req",
    ...EC_KEY,
    "-nodes",
    "-subj",
    `/CN=${cn}`,
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.csr`,
  ]);
  await Deno.writeTextFile(`${dir}/${name}.ext`, extensions);
  await openssl(dir, [
    "x509",
    "-req",
    "-in",
    `${name}.csr`,
    "-CA",
    `${ca}.pem`,
    "-CAkey",
    `${ca}.key`,
    "-CAcreateserial",
    "-days",
    "2",
    "-out",
    `${name}.pem`,
    "-extfile",
    `${name}.ext`,
  ]);
  return read(dir, name);
}

async function read(dir: string, name: string): Promise<KeyPair> {
  return {
    cert: await Deno.readTextFile(`${dir}/${name}.pem`),
    key: await Deno.readTextFile(`${dir}/${name}.key`),
  };
}

const SERVER_EXT =
  "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n";
const CLIENT_EXT =
  "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n";

async function create(): Promise<MutualTlsCertificates> {
  const dir = await Deno.makeTempDir({ prefix: "socketry-mtls-" });
  try {
    await makeCa(dir, "ca", "socketry mTLS test CA");
    await makeCa(dir, "stranger", "socketry stranger CA");
    const server = await makeLeaf(dir, "server", "ca", "localhost", SERVER_EXT);
    const client = await makeLeaf(
      dir,
      "client",
      "ca",
      "socketry test client",
      CLIENT_EXT,
    );
    const strangerClient = await makeLeaf(
      dir,
      "stranger-client",
      "stranger",
      "socketry stranger client",
      CLIENT_EXT,
    );
    const wrongName = await makeLeaf(
      dir,
      "wrong-name",
      "ca",
      "other.test",
      SERVER_EXT.replace("DNS:localhost,IP:127.0.0.1", "DNS:other.test"),
    );
    await openssl(dir, [
      "req",
      "-x509",
      ...EC_KEY,
      "-nodes",
      "-days",
      "2",
      "-subj",
      "/CN=localhost",
      "-keyout",
      "self.key",
      "-out",
      "self.pem",
      "-addext",
      "subjectAltName=DNS:localhost,IP:127.0.0.1",
    ]);
    return {
      ca: await Deno.readTextFile(`${dir}/ca.pem`),
      server,
      client,
      strangerClient,
      selfSigned: await read(dir, "self"),
      wrongName,
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
