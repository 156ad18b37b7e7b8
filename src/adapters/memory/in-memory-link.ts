/** The connection between the server and one simulated agent; both ends see it drop at once. */
export class InMemoryLink {
  private isUp = true;
  private reason = '';
  private readonly listeners = new Set<(reason: string) => void>();

  get up(): boolean {
    return this.isUp;
  }

  get downReason(): string {
    return this.reason;
  }

  disconnect(reason = 'connection lost'): void {
    if (!this.isUp) return;
    this.isUp = false;
    this.reason = reason;
    for (const l of [...this.listeners]) l(reason);
  }

  reconnect(): void {
    this.isUp = true;
    this.reason = '';
  }

  onDown(listener: (reason: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
