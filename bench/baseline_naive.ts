/**
 * The naive baseline of the benchmark: a `Set` of sockets and a `send` loop that broadcasts
 * each text to every other socket. No rooms, no protocol, no coalescing. `PORT` (default 8001)
 * and `HOST` (default 127.0.0.1) choose where it listens.
 *
 * @example
 * ```sh
 * PORT=8001 deno run --allow-net --allow-env bench/baseline_naive.ts
 * ```
 *
 * @module
 */

const sockets = new Set<WebSocket>();

Deno.serve({
  port: Number(Deno.env.get("PORT") ?? 8001),
  hostname: Deno.env.get("HOST") ?? "127.0.0.1",
  onListen: ({ port }) => console.log(`baseline listening on ${port}`),
}, (req) => {
  if (req.headers.get("upgrade") !== "websocket") return new Response("naive baseline\n");
  const { socket, response } = Deno.upgradeWebSocket(req);
  socket.onopen = () => sockets.add(socket);
  socket.onclose = () => sockets.delete(socket);
  socket.onerror = () => sockets.delete(socket);
  socket.onmessage = (event) => {
    for (const other of sockets) {
      if (other !== socket && other.readyState === WebSocket.OPEN) other.send(event.data);
    }
  };
  return response;
});
