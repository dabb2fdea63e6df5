import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import type { Logger } from '../logger';

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
}

export interface Mailer {
  /** resolves once the message is accepted (written to the outbox, or accepted by the SMTP server) */
  send(msg: MailMessage): Promise<void>;
  close(): void;
  readonly kind: 'outbox' | 'smtp';
}

export interface MailerOptions {
  from: string;
  /** set ⇒ real SMTP; unset ⇒ .eml files in outboxDir */
  smtpUrl: string | null;
  outboxDir: string;
  log: Logger;
}

export function createMailer({ from, smtpUrl, outboxDir, log }: MailerOptions): Mailer {
  if (smtpUrl) {
    const transport = nodemailer.createTransport(smtpUrl);
    return {
      kind: 'smtp',
      async send(msg) {
        await transport.sendMail({ from, ...msg });
      },
      close: () => transport.close(),
    };
  }
  const transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  let seq = 0;
  return {
    kind: 'outbox',
    async send(msg) {
      const info = await transport.sendMail({ from, ...msg });
      mkdirSync(outboxDir, { recursive: true });
      const file = join(outboxDir, `${Date.now()}-${process.pid}-${++seq}.eml`);
      await Bun.write(file, info.message as Buffer);
      log.info(`mail to ${msg.to} "${msg.subject}" written to ${file}`);
    },
    close: () => transport.close(),
  };
}
