/** The text body of a single-part RFC 822 message, with its transfer encoding undone. */
export function mailText(raw: string): string {
  const normalized = raw.replace(/\r\n/g, '\n');
  const split = normalized.indexOf('\n\n');
  const head = normalized.slice(0, split);
  const body = normalized.slice(split + 2);
  const encoding = /^content-transfer-encoding:\s*(\S+)/im.exec(head)?.[1].toLowerCase() ?? '7bit';
  if (encoding === 'base64') return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  if (encoding === 'quoted-printable') {
    const bytes = body
      .replace(/=\n/g, '')
      .replace(/=([0-9A-F]{2})/gi, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
    return Buffer.from(bytes, 'latin1').toString('utf8');
  }
  return body;
}

/** The 6-digit reset code in a message. */
export function resetCodeIn(raw: string): string {
  const m = /验证码是：(\d{6})/.exec(mailText(raw));
  if (!m) throw new Error(`no code in mail:\n${raw}`);
  return m[1];
}
