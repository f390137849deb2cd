/**
 * Formats a socket address as `host:port`, bracketing IPv6 hosts.
 *
 * @module
 */

/**
 * `host:port` (`[::1]:8080` for IPv6), the host alone when the port is
 * unknown, `undefined` when the address is.
 */
export function hostPort(
  address: string | undefined,
  port: number | undefined,
): string | undefined {
  if (address === undefined) return undefined;
  const host = address.includes(":") ? `[${address}]` : address;
  return port === undefined ? host : `${host}:${port}`;
}
