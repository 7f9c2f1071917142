/* lk-hub.c: fan-out of events to WebSocket connections on every listener thread
 *
 * Each subscription keeps a reference on its connection and on the GMainContext that owns it.
 * Publishing appends a shared, reference-counted copy of the text to each matching
 * subscription's queue and, when no flush is pending, attaches one idle source to that
 * subscription's context. The flush runs on the owning thread, so a connection is only ever
 * written from its own thread, and because every message goes through the queue, each
 * connection sees messages in publication order even when several threads publish at once.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "lingka-hub"

#include "config.h"

#include "lk-hub.h"

typedef struct
{
  gatomicrefcount          ref_count;
  guint                    id;
  GWeakRef                 hub;
  SoupWebsocketConnection *connection;
  GMainContext            *context;
  LkHubChannel             channel;
  gint64                   school_id;
  char                    *key;
  gulong                   closed_handler;

  /* Protected by the hub's mutex. */
  gboolean                 active;
  gboolean                 flush_pending;
  GQueue                   outbox;   /* of GRefString */
} Subscription;

struct _LkHub
{
  GObject     parent_instance;

  GMutex      mutex;
  guint       next_id;
  GHashTable *subscriptions;   /* id → Subscription (owns one reference) */
  GHashTable *index;           /* index key → GPtrArray of Subscription (borrowed) */
  guint       counts[LK_HUB_APPLICATION + 1];
};

G_DEFINE_FINAL_TYPE (LkHub, lk_hub, G_TYPE_OBJECT)

static Subscription *
subscription_ref (Subscription *sub)
{
  g_atomic_ref_count_inc (&sub->ref_count);
  return sub;
}

static void
subscription_unref (Subscription *sub)
{
  if (!g_atomic_ref_count_dec (&sub->ref_count))
    return;

  g_queue_clear_full (&sub->outbox, (GDestroyNotify) g_ref_string_release);
  g_weak_ref_clear (&sub->hub);
  g_clear_object (&sub->connection);
  g_clear_pointer (&sub->context, g_main_context_unref);
  g_free (sub->key);
  g_free (sub);
}

static void
subscription_closure_notify (gpointer  data,
                             GClosure *closure)
{
  subscription_unref (data);
}

/* The index keys a subscription is listed under. At most two (a kiosk: its school and SN). */
static guint
subscription_index_keys (LkHubChannel  channel,
                         gint64        school_id,
                         const char   *key,
                         char         *keys[2])
{
  switch (channel)
    {
    case LK_HUB_KIOSK:
      keys[0] = g_strdup_printf ("k:%" G_GINT64_FORMAT, school_id);
      if (key != NULL && *key != '\0')
        {
          keys[1] = g_strdup_printf ("n:%s", key);
          return 2;
        }
      return 1;

    case LK_HUB_STAFF:
      keys[0] = g_strdup_printf ("t:%" G_GINT64_FORMAT, school_id);
      return 1;

    case LK_HUB_APPLICATION:
      keys[0] = g_strdup_printf ("a:%s", key);
      return 1;

    default:
      g_assert_not_reached ();
    }
}

/* Runs on the subscription's own context. */
static gboolean
subscription_flush_cb (gpointer data)
{
  Subscription *sub = data;
  g_autoptr(LkHub) hub = g_weak_ref_get (&sub->hub);
  GQueue pending = G_QUEUE_INIT;
  GRefString *text;

  if (hub != NULL)
    {
      g_mutex_lock (&hub->mutex);
      sub->flush_pending = FALSE;
      if (sub->active)
        pending = sub->outbox;
      else
        g_queue_clear_full (&sub->outbox, (GDestroyNotify) g_ref_string_release);
      g_queue_init (&sub->outbox);
      g_mutex_unlock (&hub->mutex);
    }

  while ((text = g_queue_pop_head (&pending)) != NULL)
    {
      if (soup_websocket_connection_get_state (sub->connection) == SOUP_WEBSOCKET_STATE_OPEN)
        soup_websocket_connection_send_text (sub->connection, text);
      g_ref_string_release (text);
    }

  return G_SOURCE_REMOVE;
}

static void
on_connection_closed_cb (SoupWebsocketConnection *connection,
                         gpointer                 data)
{
  Subscription *sub = data;
  g_autoptr(LkHub) hub = g_weak_ref_get (&sub->hub);

  if (hub != NULL)
    lk_hub_unsubscribe (hub, sub->id);
  else if (sub->closed_handler != 0)
    g_clear_signal_handler (&sub->closed_handler, connection);
}

/* Called with the mutex held. Returns the subscriptions that need a flush scheduled (with a
 * reference each), which the caller attaches after unlocking. */
static void
enqueue_locked (LkHub      *self,
                const char *index_key,
                GRefString *text,
                GPtrArray  *to_schedule)
{
  GPtrArray *subs = g_hash_table_lookup (self->index, index_key);

  if (subs == NULL)
    return;

  for (guint i = 0; i < subs->len; i++)
    {
      Subscription *sub = g_ptr_array_index (subs, i);

      if (!sub->active)
        continue;
      g_queue_push_tail (&sub->outbox, g_ref_string_acquire (text));
      if (!sub->flush_pending)
        {
          sub->flush_pending = TRUE;
          g_ptr_array_add (to_schedule, subscription_ref (sub));
        }
    }
}

static void
schedule_flushes (GPtrArray *to_schedule)
{
  for (guint i = 0; i < to_schedule->len; i++)
    {
      Subscription *sub = g_ptr_array_index (to_schedule, i);
      g_autoptr(GSource) source = g_idle_source_new ();

      /* Never invoked in place, even from the owning thread: a handler that publishes must
       * not see its own connection written re-entrantly, and the queue keeps the order. */
      g_source_set_priority (source, G_PRIORITY_DEFAULT);
      g_source_set_callback (source, subscription_flush_cb, subscription_ref (sub),
                             (GDestroyNotify) subscription_unref);
      g_source_set_static_name (source, "[lingka] hub flush");
      g_source_attach (source, sub->context);
    }
}

static void
publish (LkHub       *self,
         const char  *key1,
         const char  *key2,
         const char  *json)
{
  g_autoptr(GPtrArray) to_schedule = g_ptr_array_new_with_free_func ((GDestroyNotify) subscription_unref);
  GRefString *text = g_ref_string_new (json);

  g_mutex_lock (&self->mutex);
  enqueue_locked (self, key1, text, to_schedule);
  if (key2 != NULL && g_strcmp0 (key1, key2) != 0)
    enqueue_locked (self, key2, text, to_schedule);
  g_mutex_unlock (&self->mutex);

  g_ref_string_release (text);
  schedule_flushes (to_schedule);
}

static void
lk_hub_finalize (GObject *object)
{
  LkHub *self = (LkHub *) object;
  GHashTableIter iter;
  gpointer value;

  /* Connections still open keep their "closed" handler; it finds the hub gone (the weak
   * reference is already cleared) and disconnects itself. */
  g_hash_table_iter_init (&iter, self->subscriptions);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      Subscription *sub = value;
      sub->active = FALSE;
    }

  g_clear_pointer (&self->index, g_hash_table_unref);
  g_clear_pointer (&self->subscriptions, g_hash_table_unref);
  g_mutex_clear (&self->mutex);

  G_OBJECT_CLASS (lk_hub_parent_class)->finalize (object);
}

static void
lk_hub_class_init (LkHubClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = lk_hub_finalize;
}

static void
lk_hub_init (LkHub *self)
{
  g_mutex_init (&self->mutex);
  self->next_id = 1;
  self->subscriptions = g_hash_table_new_full (NULL, NULL, NULL,
                                               (GDestroyNotify) subscription_unref);
  self->index = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                       (GDestroyNotify) g_ptr_array_unref);
}

LkHub *
lk_hub_new (void)
{
  return g_object_new (LK_TYPE_HUB, NULL);
}

guint
lk_hub_subscribe (LkHub                   *self,
                  SoupWebsocketConnection *connection,
                  LkHubChannel             channel,
                  gint64                   school_id,
                  const char              *key)
{
  Subscription *sub;
  char *keys[2] = { NULL, NULL };
  guint n_keys;
  guint id;

  g_return_val_if_fail (LK_IS_HUB (self), 0);
  g_return_val_if_fail (SOUP_IS_WEBSOCKET_CONNECTION (connection), 0);
  g_return_val_if_fail (channel <= LK_HUB_APPLICATION, 0);
  g_return_val_if_fail (channel != LK_HUB_APPLICATION || key != NULL, 0);

  sub = g_new0 (Subscription, 1);
  g_atomic_ref_count_init (&sub->ref_count);
  g_weak_ref_init (&sub->hub, self);
  sub->connection = g_object_ref (connection);
  sub->context = g_main_context_ref_thread_default ();
  sub->channel = channel;
  sub->school_id = school_id;
  sub->key = g_strdup (key);
  sub->active = TRUE;
  g_queue_init (&sub->outbox);

  n_keys = subscription_index_keys (channel, school_id, key, keys);

  g_mutex_lock (&self->mutex);
  id = self->next_id++;
  if (self->next_id == 0)
    self->next_id = 1;
  sub->id = id;
  g_hash_table_insert (self->subscriptions, GUINT_TO_POINTER (id), sub);
  for (guint i = 0; i < n_keys; i++)
    {
      GPtrArray *subs = g_hash_table_lookup (self->index, keys[i]);

      if (subs == NULL)
        {
          subs = g_ptr_array_new ();
          g_hash_table_insert (self->index, g_steal_pointer (&keys[i]), subs);
        }
      else
        g_clear_pointer (&keys[i], g_free);
      g_ptr_array_add (subs, sub);
    }
  self->counts[channel]++;
  g_mutex_unlock (&self->mutex);

  /* Connected after the subscription is registered, so that a close cannot slip in between.
   * The handler's closure holds its own reference on the subscription. */
  sub->closed_handler = g_signal_connect_data (connection, "closed",
                                               G_CALLBACK (on_connection_closed_cb),
                                               subscription_ref (sub),
                                               subscription_closure_notify, 0);

  /* A connection that closed before we connected the handler will not emit again. */
  if (soup_websocket_connection_get_state (connection) == SOUP_WEBSOCKET_STATE_CLOSED)
    lk_hub_unsubscribe (self, id);

  return id;
}

void
lk_hub_unsubscribe (LkHub *self,
                    guint  subscription_id)
{
  Subscription *sub;
  char *keys[2] = { NULL, NULL };
  guint n_keys;
  gulong handler;

  g_return_if_fail (LK_IS_HUB (self));

  g_mutex_lock (&self->mutex);
  if (!g_hash_table_steal_extended (self->subscriptions, GUINT_TO_POINTER (subscription_id),
                                    NULL, (gpointer *) &sub))
    {
      g_mutex_unlock (&self->mutex);
      return;
    }

  n_keys = subscription_index_keys (sub->channel, sub->school_id, sub->key, keys);
  for (guint i = 0; i < n_keys; i++)
    {
      GPtrArray *subs = g_hash_table_lookup (self->index, keys[i]);

      if (subs != NULL)
        {
          g_ptr_array_remove_fast (subs, sub);
          if (subs->len == 0)
            g_hash_table_remove (self->index, keys[i]);
        }
      g_free (keys[i]);
    }

  sub->active = FALSE;
  g_queue_clear_full (&sub->outbox, (GDestroyNotify) g_ref_string_release);
  g_queue_init (&sub->outbox);
  self->counts[sub->channel]--;
  handler = sub->closed_handler;
  sub->closed_handler = 0;
  g_mutex_unlock (&self->mutex);

  /* Drops the closure's reference on the subscription. */
  if (handler != 0)
    g_signal_handler_disconnect (sub->connection, handler);

  subscription_unref (sub);
}

void
lk_hub_publish_to_kiosks (LkHub      *self,
                          gint64      school_id,
                          const char *json)
{
  g_autofree char *key = NULL;

  g_return_if_fail (LK_IS_HUB (self));
  g_return_if_fail (json != NULL);

  key = g_strdup_printf ("k:%" G_GINT64_FORMAT, school_id);
  publish (self, key, NULL, json);
}

void
lk_hub_publish_to_kiosk (LkHub      *self,
                         const char *sn,
                         const char *json)
{
  g_autofree char *key = NULL;

  g_return_if_fail (LK_IS_HUB (self));
  g_return_if_fail (sn != NULL);
  g_return_if_fail (json != NULL);

  key = g_strdup_printf ("n:%s", sn);
  publish (self, key, NULL, json);
}

void
lk_hub_publish_to_staff (LkHub      *self,
                         gint64      school_id,
                         const char *json)
{
  g_autofree char *key = NULL;

  g_return_if_fail (LK_IS_HUB (self));
  g_return_if_fail (json != NULL);

  key = g_strdup_printf ("t:%" G_GINT64_FORMAT, school_id);
  /* Operators (school 0) see every school's events. */
  publish (self, key, "t:0", json);
}

void
lk_hub_publish_to_application (LkHub      *self,
                               const char *application_id,
                               const char *json)
{
  g_autofree char *key = NULL;

  g_return_if_fail (LK_IS_HUB (self));
  g_return_if_fail (application_id != NULL);
  g_return_if_fail (json != NULL);

  key = g_strdup_printf ("a:%s", application_id);
  publish (self, key, NULL, json);
}

guint
lk_hub_count (LkHub        *self,
              LkHubChannel  channel)
{
  guint count;

  g_return_val_if_fail (LK_IS_HUB (self), 0);
  g_return_val_if_fail (channel <= LK_HUB_APPLICATION, 0);

  g_mutex_lock (&self->mutex);
  count = self->counts[channel];
  g_mutex_unlock (&self->mutex);

  return count;
}
