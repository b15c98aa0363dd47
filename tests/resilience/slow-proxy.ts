/** A TCP proxy to PostgreSQL that can delay every chunk in both directions (a slow database or network). */
import net from 'node:net';

export interface SlowProxy {
  port: number;
  delayMs: number;
  close(): Promise<void>;
}

export async function startSlowProxy(targetHost: string, targetPort: number): Promise<SlowProxy> {
  const sockets = new Set<net.Socket>();
  const proxy: SlowProxy = { port: 0, delayMs: 0, close: async () => undefined };
  const relay = (from: net.Socket, to: net.Socket) => {
    from.on('data', (chunk) => {
      const d = proxy.delayMs;
      if (d <= 0) to.write(chunk);
      else setTimeout(() => to.writable && to.write(chunk), d);
    });
  };
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, targetHost);
    sockets.add(client);
    sockets.add(upstream);
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    relay(client, upstream);
    relay(upstream, client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.port = (server.address() as net.AddressInfo).port;
  proxy.close = () => {
    for (const s of sockets) s.destroy();
    return new Promise((resolve) => server.close(() => resolve()));
  };
  return proxy;
}
