const SECRET_KEY = /pass|token|secret|authori|cookie|credential/i;
/** A key naming an identifier (`credential_id`) holds no secret, whatever its stem: an admin needs to see which one. */
const ID_KEY = /_id$/i;
const IN_TEXT: [RegExp, string][] = [
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi, '$1 [redacted]'],
  [/([?&](?:access_token|token|password)=)[^&\s#]*/gi, '$1[redacted]'],
  // A JWT anywhere in a string (three base64url parts, the first a JSON header).
  [/eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g, '[redacted-jwt]'],
  // The password of a URL (`[cluster] database_url = "postgres://user:password@host/db"`).
  [/(\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@]*:)[^\s@/]+@/gi, '$1[redacted]@'],
];

const REDACTED = '[redacted]';

/** Masks secrets inside free text: bearer/basic credentials, token query parameters, JWTs, URL passwords. */
export function redactText(s: string): string {
  return IN_TEXT.reduce((acc, [re, by]) => acc.replace(re, by), s);
}

/** A copy of fields with every secret-named key masked and secrets in strings masked, at any depth. */
export function redactFields(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return redactText(value);
  if (depth > 8 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return { name: value.name, message: redactText(value.message) };
  if (Array.isArray(value)) return value.map((v) => redactFields(v, depth + 1));
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [
      k,
      SECRET_KEY.test(k) && !ID_KEY.test(k) ? REDACTED : redactFields(v, depth + 1),
    ]),
  );
}
