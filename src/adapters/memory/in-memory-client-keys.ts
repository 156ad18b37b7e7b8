import type { ClaimOutcome, ClientKeyBinding, ClientKeys } from '../../ports/client-keys.ts';

/** Client key bindings in a map (domain tests, the simulation, the SSH adapter's tests). */
export class InMemoryClientKeys implements ClientKeys {
  private readonly byId = new Map<string, ClientKeyBinding>();

  async keyOf(clientId: string): Promise<ClientKeyBinding | undefined> {
    const b = this.byId.get(clientId);
    return b && { ...b };
  }

  async claim(binding: ClientKeyBinding): Promise<{ outcome: ClaimOutcome; binding: ClientKeyBinding }> {
    const existing = this.byId.get(binding.clientId);
    if (!existing) {
      this.byId.set(binding.clientId, { ...binding });
      return { outcome: 'bound', binding: { ...binding } };
    }
    return { outcome: existing.key === binding.key ? 'matched' : 'mismatch', binding: { ...existing } };
  }

  async release(clientId: string): Promise<ClientKeyBinding | undefined> {
    const b = this.byId.get(clientId);
    this.byId.delete(clientId);
    return b;
  }
}
