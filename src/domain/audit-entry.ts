/** One line of the audit log. Never holds a password or a token. */
export interface AuditEntry {
  timestamp: Date;
  /** uploads; clients: the binding of client ids to agent keys (ClientIdentity). */
  application: 'uploads' | 'clients';
  /** uploads: accepted | rejected | failed | success | ignored | error; clients: key-bound | key-mismatch | hello-refused | key-released */
  action: string;
  username: string;
  /** Present for per-client outcomes and client key events. */
  client_id?: string;
  upload_uuid?: string;
  /** Request details, e.g. dest, size, md5, targets, or the rejection. */
  request: Record<string, unknown>;
}
