import * as http from 'node:http';
import type { NestApplicationOptions } from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';
import type { Express } from 'express';

/**
 * Nest's Express adapter, with Node's HTTP server creating each request and response with Express's
 * prototypes already in place.
 *
 * Express gives every request and response its prototypes with `Object.setPrototypeOf` (app.handle).
 * V8 then keeps every request's objects alive through the next minor GC: each scavenge copies ~16 KB
 * per request served since the last one and promotes it, so scavenges took 5–9 ms (2.7 ms with
 * this adapter) and the old generation filled with dead requests (measured: a bare Express app shows
 * it, a bare `http` server does not; bench/README.md, transparency). When the object already has the
 * prototype, V8's setPrototypeOf returns at once, and Express's own call changes nothing.
 */
export class BrokerHttpAdapter extends ExpressAdapter {
  override initHttpServer(options: NestApplicationOptions): void {
    if (options?.httpsOptions || options?.forceCloseConnections || !isPlainFunction(http.IncomingMessage) || !isPlainFunction(http.ServerResponse)) {
      return super.initHttpServer(options);
    }
    const app = this.getInstance<Express>();
    this.httpServer = http.createServer(
      {
        IncomingMessage: constructedWith(http.IncomingMessage as never, app.request) as typeof http.IncomingMessage,
        ServerResponse: constructedWith(http.ServerResponse as never, app.response) as typeof http.ServerResponse,
      },
      app,
    );
  }
}

/**
 * A constructor building `base` objects whose prototype is `prototype` (which inherits from base's).
 * It calls `base` as a function, as Node's own subclasses of these do: `Reflect.construct` with another
 * new.target gave every object a map of its own here, which was slower than before.
 */
function constructedWith(base: (...args: never[]) => void, prototype: object): unknown {
  function Constructed(this: object, ...args: never[]): void {
    base.apply(this, args);
  }
  Constructed.prototype = prototype;
  return Constructed;
}

/** Node 20's IncomingMessage and ServerResponse are functions; if a later Node makes them classes, this adapter steps aside. */
function isPlainFunction(value: unknown): value is (...args: never[]) => void {
  return typeof value === 'function' && !Function.prototype.toString.call(value).startsWith('class');
}
