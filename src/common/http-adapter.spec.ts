import { type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import { BrokerHttpAdapter } from './http-adapter';

describe('BrokerHttpAdapter', () => {
  let server: Server;
  let app: Express;
  let url: string;

  beforeAll(async () => {
    const adapter = new BrokerHttpAdapter();
    adapter.initHttpServer({});
    app = adapter.getInstance<Express>();
    app.get('/hello', (req, res) => {
      res.json({ path: req.path, secure: req.secure });
    });
    server = adapter.getHttpServer() as Server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("creates requests and responses with Express's prototypes before Express sees them", async () => {
    // A listener ahead of Express's sees the objects as Node's HTTP server made them.
    const seen: { request?: object; response?: object } = {};
    const before = (req: IncomingMessage, res: ServerResponse) => {
      seen.request = Object.getPrototypeOf(req) as object;
      seen.response = Object.getPrototypeOf(res) as object;
    };
    server.prependListener('request', before);
    try {
      const answer = await fetch(`${url}/hello?x=1`);
      expect(answer.status).toBe(200);
      // Express's request and response methods work on them (req.path, res.json).
      expect(await answer.json()).toEqual({ path: '/hello', secure: false });
    } finally {
      server.removeListener('request', before);
    }
    expect(seen.request).toBe(app.request);
    expect(seen.response).toBe(app.response);
  });

  it('answers many keep-alive requests on one connection', async () => {
    for (let i = 0; i < 20; i++) expect((await fetch(`${url}/hello`)).status).toBe(200);
    expect((await fetch(`${url}/missing`)).status).toBe(404);
  });
});
