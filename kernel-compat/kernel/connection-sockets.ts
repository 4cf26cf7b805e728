// The service socket of a connection (specs/services.md "Connections"; docs/services.md): what the
// service table asks of the service sockets (kernel/sockets.ts, syscalls/sockets.ts), adapted. A
// connection's socket is opened on ACCEPT_SERVICE_CONN with the default size (multiplier 0: 4 KiB
// messages) and no RECV_SERV_SOCK (CONNECT_SERVICE and ACCEPT_SERVICE_CONN return its identifiers);
// it is closed without SERV_SOCK_CLOSED, the connection's own signals (SERVICE_CLIENT_QUITTED,
// SERVICE_CLIENT_CLOSED, SERVICE_SERVER_QUITTED) being the notice.

import { openSocket } from "../syscalls/sockets.js";
import type { KernelApi } from "./api.js";
import type { KProcess } from "./process.js";
import type { Connection, ConnectionSockets } from "./services.js";

export class ServiceConnectionSockets implements ConnectionSockets {
  constructor(private readonly k: KernelApi) {}

  async open(
    service: KProcess,
    client: KProcess,
    connection?: bigint,
  ): Promise<{ service: bigint; client: bigint } | string> {
    const r = await openSocket(this.k, service, client, {
      multiplier: 0,
      origin: "service-connection",
      ...(connection === undefined ? {} : { connection }),
      notify: false,
      // Its identifiers travel in ACCEPT_SERVICE_CONN's and CONNECT_SERVICE's answers, right after.
      grantsAhead: true,
    });
    if (!r.ok) return `the service socket could not be opened (${r.reason})`;
    return { service: r.serviceId, client: r.clientId };
  }

  close(c: Connection, brutal: boolean): void {
    const end =
      this.k.sockets.end(c.client.pid, c.clientSocket) ??
      this.k.sockets.end(c.service.pid, c.serviceSocket);
    // Both sides close at once; the identifiers stay (READ_SOCK_MSG then answers "closed") until
    // their processes end.
    if (end !== undefined && end.socket.state === "open") this.k.sockets.close(end.socket, brutal);
  }
}
