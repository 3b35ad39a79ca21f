/** Bearer-token check shared by routes: `Authorization: Bearer T` or `?token=T` (for browsers and WebSockets). */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** The token the request carries, if any. */
export function requestToken(req: FastifyRequest): string | undefined {
  const h = req.headers.authorization;
  if (h?.startsWith('Bearer ')) return h.slice(7).trim();
  const q = (req.query as { token?: unknown } | undefined)?.token;
  return typeof q === 'string' ? q : undefined;
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Constant-time comparison, length included: fixed-size digests are compared, never the strings. */
export function tokenMatches(expected: string, given: string | undefined): boolean {
  if (given === undefined) return false;
  return timingSafeEqual(digest(expected), digest(given));
}

/** An onRequest hook (before any validation, so a stranger learns nothing about schemas) that answers 401 unless the token matches (no-op when no token is configured). */
export function requireToken(token: string | undefined) {
  return async (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    if (token === undefined) return;
    if (!tokenMatches(token, requestToken(req))) {
      return reply.code(401).header('www-authenticate', 'Bearer').header('connection', 'close').send({
        error: 'unauthorized',
        message: 'a valid token is required (Authorization: Bearer TOKEN or ?token=TOKEN)',
      });
    }
  };
}
