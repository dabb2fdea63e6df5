// OpenAI's error answers, shared by the fakes of its API (test/fakes/openai.ts, test/fakes/moderation.ts): the body
// `{"error":{"message","type","param","code"}}`, and the 401s for a missing or wrong key as OpenAI words them.

export const openaiError = (status: number, message: string, type: string, code: string | null, param: string | null = null, headers: Record<string, string> = {}) =>
  Response.json({ error: { message, type, param, code } }, { status, headers });

/** null when `auth` carries `apiKey`; else OpenAI's 401 (a wrong key is quoted by its start and end, as OpenAI does). */
export function openaiAuthError(auth: string | null, apiKey: string): Response | null {
  if (!auth) {
    return openaiError(
      401,
      "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if you're accessing the API from your browser and are prompted for a username and password. You can obtain an API key from https://platform.openai.com/account/api-keys.",
      'invalid_request_error',
      null,
    );
  }
  const given = auth.replace(/^Bearer\s+/i, '');
  if (given === apiKey) return null;
  const masked = given.length > 8 ? `${given.slice(0, 6)}${'*'.repeat(8)}${given.slice(-4)}` : '***';
  return openaiError(401, `Incorrect API key provided: ${masked}. You can find your API key at https://platform.openai.com/account/api-keys.`, 'invalid_request_error', 'invalid_api_key');
}
