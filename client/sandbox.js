// The sandbox transport: the slice of @vonage/client-sdk 2.x's VonageClient the page uses
// (createSession, refreshSession, answer, reject, hangup, on/off and the call events),
// spoken over a WebSocket to `vcall serve` (/sandbox/rtc) instead of to Vonage.
// Messages are described in vcall/sandbox/rtc.py.

export class SandboxClient {
  constructor(config = {}) {
    this.url = config.websocketUrl || `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/sandbox/rtc`;
    this.socket = null;
    this.nextId = 1;
    this.pending = new Map();
    this.listeners = new Map();
    this.closing = false;
  }

  // Like the SDK: on(event, handler) returns an id that off(event, id) removes.
  on(event, handler) {
    if (!this.listeners.has(event)) this.listeners.set(event, new Map());
    const id = `${event}-${this.nextId++}`;
    this.listeners.get(event).set(id, handler);
    return id;
  }

  off(event, id) {
    this.listeners.get(event)?.delete(id);
  }

  emit(event, ...args) {
    for (const handler of this.listeners.get(event)?.values() ?? []) handler(...args);
  }

  async createSession(token) {
    if (!token) throw sessionError("session:error:empty-token", "no token");
    await this.connect();
    const reply = await this.request({ type: "session", token });
    return reply.body.id;
  }

  async refreshSession(token) {
    await this.request({ type: "refresh", token });
  }

  async answer(callId) {
    await this.request({ type: "answer", callId });
  }

  async reject(callId) {
    await this.request({ type: "reject", callId });
  }

  async hangup(callId) {
    await this.request({ type: "hangup", callId });
  }

  connect() {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(this.url);
      this.socket = socket;
      socket.onopen = () => resolve();
      socket.onerror = () => reject(sessionError("session:error:transport", "cannot reach vcall serve"));
      socket.onclose = () => {
        for (const { fail } of this.pending.values()) fail(sessionError("session:error:transport-closed", "connection closed"));
        this.pending.clear();
        if (!this.closing) this.emit("sessionError", "TRANSPORT_CLOSED");
      };
      socket.onmessage = (msg) => this.receive(JSON.parse(msg.data));
    });
  }

  request(message) {
    if (!this.socket || this.socket.readyState !== WebSocket.OPEN) {
      return Promise.reject(sessionError("session:error:no-active-session", "no session"));
    }
    const id = this.nextId++;
    return new Promise((done, fail) => {
      this.pending.set(id, { done, fail });
      this.socket.send(JSON.stringify({ id, ...message }));
    });
  }

  receive(message) {
    if (message.id !== undefined && this.pending.has(message.id)) {
      const { done, fail } = this.pending.get(message.id);
      this.pending.delete(message.id);
      if (message.type === "error") {
        const type = message.code.startsWith("session:") ? "SESSION_ERROR" : "CS_ERROR";
        fail({ type, code: message.code, message: message.message });
      } else {
        done(message);
      }
      return;
    }
    switch (message.type) {
      case "callInvite":
        this.emit("callInvite", message.callId, message.from, message.channelType);
        break;
      case "callInviteCancel":
        this.emit("callInviteCancel", message.callId, message.reason);
        break;
      case "callHangup":
        this.emit("callHangup", message.callId, message.quality, message.reason);
        break;
      case "legStatusUpdate":
        this.emit("legStatusUpdate", message.callId, message.legId, message.status);
        break;
      case "sessionError":
        this.emit("sessionError", message.reason);
        break;
    }
  }
}

function sessionError(code, message) {
  return { type: "SESSION_ERROR", code, message };
}
