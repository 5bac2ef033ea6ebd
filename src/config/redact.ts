/**
 * Config errors go to start-up output and logs; a secret in them leaks to whoever reads
 * those (issue 13 #10: a short JWT_SECRET was echoed in full). Secret settings are shown
 * by length only, URLs with their password masked, and any known secret value that still
 * appears in a message (a zod message quoting the input, a JSON parse excerpt) is replaced.
 */

/** Last path segment or env name that holds a secret: jwtSecret, apiKey, *password*, *token*, WEBUI_SECRET_KEY… */
const SECRET_NAME = /secret|passw(or)?d|token|api_?key|credential|private_?key/i;
/** Settings holding a URL that may carry `user:password@`: redisUrl, databaseUrl, REDIS_URL, DATABASE_URL… */
const URL_NAME = /url$|uri$|dsn$/i;

export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name.replace(/[^A-Za-z0-9_]/g, ''));
}

/** `scheme://user:***@host/…`; the input unchanged when it has no password. */
export function maskUrlPassword(value: string): string {
  try {
    const url = new URL(value);
    if (!url.password) return value;
    url.password = '***';
    return url.toString();
  } catch {
    // Not parseable (that is often why it is in an error): mask whatever sits between :// … : … @.
    return value.replace(/(\/\/[^/@:]*:)[^/@]*@/, '$1***@');
  }
}

/** What an error may show of the value at `path` (its last segment decides). */
export function redactValue(path: string, value: unknown): unknown {
  const name = path.split('.').pop() ?? path;
  if (value === null || value === undefined) return value;
  if (isSecretName(name)) return typeof value === 'string' ? `<redacted, ${value.length} chars>` : '<redacted>';
  if (typeof value === 'string' && URL_NAME.test(name)) return maskUrlPassword(value);
  if (typeof value === 'object') {
    // A whole section in an error ("expected object"): redact inside it too.
    if (Array.isArray(value)) return value.map((v) => redactValue(name, v));
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactValue(k, v)]));
  }
  return value;
}

/**
 * The secret strings of a raw config and its environment: values under secret names and
 * passwords inside URLs. {@link scrub} replaces them in any text.
 */
export function collectSecrets(raw: unknown, env: Readonly<Record<string, string | undefined>>): string[] {
  const found = new Set<string>();
  const visit = (node: unknown, name: string) => {
    if (typeof node === 'string') {
      if (isSecretName(name)) found.add(node);
      else if (URL_NAME.test(name)) {
        for (const password of urlPasswords(node)) found.add(password);
      }
    } else if (node && typeof node === 'object') {
      for (const [k, v] of Object.entries(node)) visit(v, k);
    }
  };
  visit(raw, '');
  for (const [name, value] of Object.entries(env)) if (value) visit(value, name);
  // Very short values ("a") would mangle unrelated words; they are still hidden where they appear as values.
  return [...found].filter((s) => s.length >= 3).sort((a, b) => b.length - a.length);
}

export function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) out = out.split(secret).join('<redacted>');
  return out;
}

/** The password as written in the URL and decoded (either may be quoted in a message). */
function urlPasswords(value: string): string[] {
  const written = /\/\/[^/@:]*:([^/@]*)@/.exec(value)?.[1];
  if (!written) return [];
  try {
    return [written, decodeURIComponent(written)];
  } catch {
    return [written];
  }
}
