import { Redis } from 'ioredis';

/** Deletes every key of a test prefix, so a shared REDIS_URL server is left clean. */
export async function dropPrefix(url: string, prefix: string): Promise<void> {
  const raw = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await raw.connect();
    const keys = await raw.keys(`${prefix}:*`);
    if (keys.length > 0) await raw.del(...keys);
  } finally {
    raw.disconnect();
  }
}
