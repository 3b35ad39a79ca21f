/** Bearer-token check shared by routes: `Authorization: Bearer T` or `?token=T` (for browsers and WebSockets). */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** The token the request carries, if any. */
export function requestToken(req: FastifyRequest): string | undefined {
  const h = req.headers.authorization;
  if (h?.startsWith('Bearer ')) return h.slice(7).trim();
  const q = (req.query as { token?: unknown } | undefined)?.token;
  return typeof q === 'string' ? q : undefined;
}

/** Constant-time comparison. */
export function tokenMatches(expected: string, given: string | undefined): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** A preHandler that answers 401 unless the token matches (no-op when no token is configured). */
export function requireToken(token: string | undefined) {
  return async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (token === undefined) return;
    if (!tokenMatches(token, requestToken(req))) {
      await reply.code(401).header('www-authenticate', 'Bearer').send({
        error: 'unauthorized',
        message: 'a valid token is required (Authorization: Bearer TOKEN or ?token=TOKEN)',
      });
    }
  };
}
