/**
 * The server the broker's own database lives on, with rights to create roles: the embedded
 * server's superuser, or DATABASE_URL. Used by `adminUrl: embedded` (the demo postgres target).
 */
export abstract class BrokerDatabaseServer {
  abstract readonly adminUrl: string;
}
