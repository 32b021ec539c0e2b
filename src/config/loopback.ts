/** A loopback host name or address (IPv4-mapped IPv6 included, as Node reports peers). */
export function isLoopback(host: string): boolean {
  return /^(localhost|127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+)$/.test(host);
}
