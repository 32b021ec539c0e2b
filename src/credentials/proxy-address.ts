/**
 * Where engineers reach the recording PostgreSQL proxy: `BREAKGLASS_PG_PROXY_PUBLIC`, else the address
 * it listens on (known only once it listens, with port 0 in tests). Set by the proxy, read when a
 * proxy credential is issued.
 */
export class ProxyAddress {
  private address?: { host: string; port: number };

  constructor(private readonly configured: string | null) {}

  listening(host: string, port: number): void {
    this.address = { host, port };
  }

  get(): { host: string; port: number } {
    if (this.configured) {
      const [host, port] = this.configured.split(':');
      return { host, port: port ? Number(port) : (this.address?.port ?? 54330) };
    }
    if (!this.address) throw new Error('the PostgreSQL proxy is not listening');
    return this.address;
  }
}
