/** Whether the node's database answers: what GET /api/v1/health shows and what uploads wait for. */
export interface DatabaseState {
  ok: boolean;
  /** Why it is not ok: the last error, with no password in it. */
  detail?: string;
}

export interface DatabaseHealth {
  readonly kind: 'sqlite' | 'postgres';
  /**
   * The state, probing the database when the last probe is older than the adapter's interval; many
   * callers at once share one probe, so a burst of requests costs at most one query.
   */
  check(): Promise<DatabaseState>;
}
