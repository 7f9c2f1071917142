/* lk-rate-limit.c: token buckets per key
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "lk-rate-limit.h"

/* Full buckets are dropped when the table grows past this, so it cannot grow without bound. */
#define PRUNE_ABOVE 4096

typedef struct
{
  gdouble tokens;
  gint64  updated_us;
} Bucket;

struct _LkRateLimit
{
  gatomicrefcount  ref_count;
  GMutex           lock;
  GHashTable      *buckets;  /* key → Bucket */
  gdouble          burst;
  gdouble          refill_s;
};

LkRateLimit *
lk_rate_limit_new (guint   burst,
                   gdouble refill_s)
{
  LkRateLimit *self = g_new0 (LkRateLimit, 1);

  g_atomic_ref_count_init (&self->ref_count);
  g_mutex_init (&self->lock);
  self->buckets = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->burst = MAX (burst, 1);
  self->refill_s = MAX (refill_s, 0.000001);
  return self;
}

LkRateLimit *
lk_rate_limit_ref (LkRateLimit *self)
{
  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

void
lk_rate_limit_unref (LkRateLimit *self)
{
  if (!g_atomic_ref_count_dec (&self->ref_count))
    return;
  g_hash_table_unref (self->buckets);
  g_mutex_clear (&self->lock);
  g_free (self);
}

static void
refill (LkRateLimit *self,
        Bucket      *bucket,
        gint64       now_us)
{
  gdouble elapsed_s = (now_us - bucket->updated_us) / (gdouble) G_USEC_PER_SEC;

  if (elapsed_s > 0)
    bucket->tokens = MIN (self->burst, bucket->tokens + elapsed_s / self->refill_s);
  bucket->updated_us = now_us;
}

static void
prune_locked (LkRateLimit *self,
              gint64       now_us)
{
  GHashTableIter iter;
  Bucket *bucket;

  g_hash_table_iter_init (&iter, self->buckets);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &bucket))
    {
      refill (self, bucket, now_us);
      if (bucket->tokens >= self->burst)
        g_hash_table_iter_remove (&iter);
    }
}

static gboolean
spend (LkRateLimit *self,
       const char  *key,
       gboolean     take)
{
  gint64 now_us = g_get_monotonic_time ();
  Bucket *bucket;
  gboolean allowed;

  g_mutex_lock (&self->lock);
  bucket = g_hash_table_lookup (self->buckets, key);
  if (bucket == NULL)
    {
      if (!take)
        {
          g_mutex_unlock (&self->lock);
          return TRUE;
        }
      if (g_hash_table_size (self->buckets) >= PRUNE_ABOVE)
        prune_locked (self, now_us);
      bucket = g_new0 (Bucket, 1);
      bucket->tokens = self->burst;
      bucket->updated_us = now_us;
      g_hash_table_insert (self->buckets, g_strdup (key), bucket);
    }
  refill (self, bucket, now_us);
  allowed = bucket->tokens >= 1.0;
  if (allowed && take)
    bucket->tokens -= 1.0;
  g_mutex_unlock (&self->lock);
  return allowed;
}

gboolean
lk_rate_limit_check (LkRateLimit *self,
                     const char  *key)
{
  return spend (self, key, FALSE);
}

gboolean
lk_rate_limit_take (LkRateLimit *self,
                    const char  *key)
{
  return spend (self, key, TRUE);
}

void
lk_rate_limit_reset (LkRateLimit *self,
                     const char  *key)
{
  g_mutex_lock (&self->lock);
  g_hash_table_remove (self->buckets, key);
  g_mutex_unlock (&self->lock);
}
