// Which brokers are alive and how clients reach them. With one broker on the
// embedded default, that is this broker; cluster mode registers brokers in
// the metadata store and fills this from there.

export interface BrokerEndpoint {
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
  readonly rack: string | null;
}

export class Membership {
  constructor(private self: BrokerEndpoint) {}

  get nodeId(): number {
    return this.self.nodeId;
  }

  get localBroker(): BrokerEndpoint {
    return this.self;
  }

  /** Updates the advertised endpoint once the listener knows its port. */
  setLocalEndpoint(host: string, port: number): void {
    this.self = { ...this.self, host, port };
  }

  liveBrokers(): readonly BrokerEndpoint[] {
    return [this.self];
  }

  /** The controller id reported to clients. */
  controllerId(): number {
    return this.self.nodeId;
  }

  /** The broker that leads a partition. Single-node: always this one. */
  leaderOf(_streamId: number): number {
    return this.self.nodeId;
  }
}
