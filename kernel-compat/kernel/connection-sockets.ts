// The service socket of a connection (specs/services.md "Connections"; docs/services.md): what the
// service table asks of the service sockets. Stand-in until kernel/sockets.ts (the socks branch) is
// merged: it gives each side an identifier of its own and remembers the closed state, carrying no
// message yet (OPEN_SERV_SOCK & co. are that branch's).

import { Handles } from "./handles.js";
import type { KProcess } from "./process.js";
import type { Connection, ConnectionSockets } from "./services.js";

/** One connection's socket as the stand-in knows it. */
interface StandInSocket {
  state: "open" | "proper" | "brutal";
}

export class StandInSockets implements ConnectionSockets {
  readonly ids = new Handles<StandInSocket>();

  async open(service: KProcess, client: KProcess): Promise<{ service: bigint; client: bigint }> {
    const s: StandInSocket = { state: "open" };
    return { service: this.ids.add(service.pid, s), client: this.ids.add(client.pid, s) };
  }

  close(c: Connection, brutal: boolean): void {
    const s = this.ids.get(c.client.pid, c.clientSocket);
    if (s !== undefined && s.state === "open") s.state = brutal ? "brutal" : "proper";
    // The identifiers go with the connection's end: neither side may use the socket again.
    this.ids.remove(c.client.pid, c.clientSocket);
    this.ids.remove(c.service.pid, c.serviceSocket);
  }
}
