/** One line of the audit log. Never holds a password or a token. */
export interface AuditEntry {
  timestamp: Date;
  application: 'uploads';
  /** accepted | rejected | failed | success | ignored | error */
  action: string;
  username: string;
  /** Present for per-client outcomes. */
  client_id?: string;
  upload_uuid?: string;
  /** Request details, e.g. dest, size, md5, targets, or the rejection. */
  request: Record<string, unknown>;
}
