/* lk-hub.c: fan-out of events to WebSocket connections on every listener thread
 *
 * Each subscription keeps a reference on its connection and on the mailbox of the GMainContext
 * that owns it (one mailbox a listener thread). Publishing appends a shared, reference-counted
 * copy of the text to each matching subscription's queue, lists the subscription in its
 * context's mailbox, and, when that mailbox has no flush pending, attaches one idle source to
 * the context. So a context is woken once for everything published to it meanwhile, however
 * many of its connections it concerns (a claim's code.removed goes to every kiosk of the
 * school, and under load many claims' pushes share one wake-up). The flush runs on the owning
 * thread, so a connection is only ever written from its own thread, and because every message
 * goes through the queue, each connection sees messages in publication order even when several
 * threads publish at once.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "lingka-hub"

#include "config.h"

#include "lk-hub.h"

/* What is waiting for one GMainContext. Every field but the context is protected by the hub's
 * mutex, which the flush takes through its weak reference to the hub. */
typedef struct
{
  GMainContext *context;
  GWeakRef      hub;
  gboolean      flush_pending;
  GQueue        subscriptions;  /* of Subscription (a reference each) with a non-empty outbox */
} Mailbox;

typedef struct
{
  gatomicrefcount          ref_count;
  guint                    id;
  GWeakRef                 hub;
  LkWebsocket             *connection;
  Mailbox                 *mailbox;  /* a reference */
  LkHubChannel             channel;
  gint64                   school_id;
  char                    *key;
  gulong                   closed_handler;

  /* Protected by the hub's mutex. */
  gboolean                 active;
  gboolean                 in_mailbox;
  GQueue                   outbox;   /* of GRefString */
} Subscription;

struct _LkHub
{
  GObject     parent_instance;

  GMutex      mutex;
  guint       next_id;
  GHashTable *subscriptions;   /* id → Subscription (owns one reference) */
  GHashTable *index;           /* index key → GPtrArray of Subscription (borrowed) */
  GHashTable *mailboxes;       /* GMainContext → Mailbox (a reference) */
  guint       counts[LK_HUB_APPLICATION + 1];
};

G_DEFINE_FINAL_TYPE (LkHub, lk_hub, G_TYPE_OBJECT)

static void subscription_unref (gpointer data);

static void
mailbox_clear (gpointer data)
{
  Mailbox *mailbox = data;

  g_queue_clear_full (&mailbox->subscriptions, subscription_unref);
  g_weak_ref_clear (&mailbox->hub);
  g_main_context_unref (mailbox->context);
}

static Mailbox *
mailbox_ref (Mailbox *mailbox)
{
  return g_atomic_rc_box_acquire (mailbox);
}

static void
mailbox_unref (gpointer data)
{
  g_atomic_rc_box_release_full (data, mailbox_clear);
}

static Subscription *
subscription_ref (Subscription *sub)
{
  g_atomic_ref_count_inc (&sub->ref_count);
  return sub;
}

static void
subscription_unref (gpointer data)
{
  Subscription *sub = data;

  if (!g_atomic_ref_count_dec (&sub->ref_count))
    return;

  g_queue_clear_full (&sub->outbox, (GDestroyNotify) g_ref_string_release);
  g_weak_ref_clear (&sub->hub);
  g_clear_object (&sub->connection);
  g_clear_pointer (&sub->mailbox, mailbox_unref);
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

/* Runs on the mailbox's own context: takes everything queued for its connections, then writes
 * it outside the lock. */
static gboolean
mailbox_flush_cb (gpointer data)
{
  Mailbox *mailbox = data;
  g_autoptr(LkHub) hub = g_weak_ref_get (&mailbox->hub);
  GQueue subscriptions = G_QUEUE_INIT;
  GQueue texts = G_QUEUE_INIT;      /* of GRefString, then NULL, per subscription in order */
  g_autoptr(GPtrArray) batch = NULL;
  Subscription *sub;
  GRefString *text;

  if (hub == NULL)
    return G_SOURCE_REMOVE;

  g_mutex_lock (&hub->mutex);
  mailbox->flush_pending = FALSE;
  subscriptions = mailbox->subscriptions;
  g_queue_init (&mailbox->subscriptions);
  for (GList *l = subscriptions.head; l != NULL; l = l->next)
    {
      sub = l->data;
      sub->in_mailbox = FALSE;
      if (sub->active)
        {
          /* Moves the texts over without copying them. */
          while ((text = g_queue_pop_head (&sub->outbox)) != NULL)
            g_queue_push_tail (&texts, text);
        }
      else
        g_queue_clear_full (&sub->outbox, (GDestroyNotify) g_ref_string_release);
      g_queue_push_tail (&texts, NULL);
    }
  g_mutex_unlock (&hub->mutex);

  /* Everything for one connection goes out in one write: under load a kiosk often has two or
   * three pushes waiting (docs/bench-server.md, "Eighth session"). */
  batch = g_ptr_array_new_with_free_func ((GDestroyNotify) g_ref_string_release);
  while ((sub = g_queue_pop_head (&subscriptions)) != NULL)
    {
      while ((text = g_queue_pop_head (&texts)) != NULL)
        g_ptr_array_add (batch, text);
      lk_websocket_send_texts (sub->connection, (const char *const *) batch->pdata, batch->len);
      g_ptr_array_set_size (batch, 0);
      subscription_unref (sub);
    }

  return G_SOURCE_REMOVE;
}

static void
on_connection_closed_cb (LkWebsocket             *connection,
                         gpointer                 data)
{
  Subscription *sub = data;
  g_autoptr(LkHub) hub = g_weak_ref_get (&sub->hub);

  if (hub != NULL)
    lk_hub_unsubscribe (hub, sub->id);
  else if (sub->closed_handler != 0)
    g_clear_signal_handler (&sub->closed_handler, connection);
}

/* Called with the mutex held. Adds to @to_schedule (with a reference each) the mailboxes that
 * need a flush attached, which the caller does after unlocking. */
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
      Mailbox *mailbox = sub->mailbox;

      if (!sub->active)
        continue;
      g_queue_push_tail (&sub->outbox, g_ref_string_acquire (text));
      if (sub->in_mailbox)
        continue;
      sub->in_mailbox = TRUE;
      g_queue_push_tail (&mailbox->subscriptions, subscription_ref (sub));
      if (!mailbox->flush_pending)
        {
          mailbox->flush_pending = TRUE;
          g_ptr_array_add (to_schedule, mailbox_ref (mailbox));
        }
    }
}

static void
schedule_flushes (GPtrArray *to_schedule)
{
  for (guint i = 0; i < to_schedule->len; i++)
    {
      Mailbox *mailbox = g_ptr_array_index (to_schedule, i);
      g_autoptr(GSource) source = g_idle_source_new ();

      /* Never invoked in place, even from the owning thread: a handler that publishes must
       * not see its own connection written re-entrantly, and the queue keeps the order. */
      g_source_set_priority (source, G_PRIORITY_DEFAULT);
      g_source_set_callback (source, mailbox_flush_cb, mailbox_ref (mailbox), mailbox_unref);
      g_source_set_static_name (source, "[lingka] hub flush");
      g_source_attach (source, mailbox->context);
    }
}

static void
publish (LkHub       *self,
         const char  *key1,
         const char  *key2,
         const char  *json)
{
  g_autoptr(GPtrArray) to_schedule = g_ptr_array_new_with_free_func (mailbox_unref);
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

  /* A flush still pending finds the hub gone and does nothing; what it would have sent goes
   * now, with the references that tie subscriptions and mailboxes to each other. */
  g_hash_table_iter_init (&iter, self->mailboxes);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      Mailbox *mailbox = value;
      g_queue_clear_full (&mailbox->subscriptions, subscription_unref);
    }

  g_clear_pointer (&self->index, g_hash_table_unref);
  g_clear_pointer (&self->subscriptions, g_hash_table_unref);
  g_clear_pointer (&self->mailboxes, g_hash_table_unref);
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
  self->mailboxes = g_hash_table_new_full (NULL, NULL, NULL, mailbox_unref);
}

/* Called with the mutex held. */
static Mailbox *
mailbox_for_context_locked (LkHub        *self,
                            GMainContext *context)
{
  Mailbox *mailbox = g_hash_table_lookup (self->mailboxes, context);

  if (mailbox == NULL)
    {
      mailbox = g_atomic_rc_box_new0 (Mailbox);
      mailbox->context = g_main_context_ref (context);
      g_weak_ref_init (&mailbox->hub, self);
      g_queue_init (&mailbox->subscriptions);
      g_hash_table_insert (self->mailboxes, context, mailbox);
    }
  return mailbox_ref (mailbox);
}

LkHub *
lk_hub_new (void)
{
  return g_object_new (LK_TYPE_HUB, NULL);
}

guint
lk_hub_subscribe (LkHub                   *self,
                  LkWebsocket             *connection,
                  LkHubChannel             channel,
                  gint64                   school_id,
                  const char              *key)
{
  g_autoptr(GMainContext) context = g_main_context_ref_thread_default ();
  Subscription *sub;
  char *keys[2] = { NULL, NULL };
  guint n_keys;
  guint id;

  g_return_val_if_fail (LK_IS_HUB (self), 0);
  g_return_val_if_fail (LK_IS_WEBSOCKET (connection), 0);
  g_return_val_if_fail (channel <= LK_HUB_APPLICATION, 0);
  g_return_val_if_fail (channel != LK_HUB_APPLICATION || key != NULL, 0);

  sub = g_new0 (Subscription, 1);
  g_atomic_ref_count_init (&sub->ref_count);
  g_weak_ref_init (&sub->hub, self);
  sub->connection = g_object_ref (connection);
  sub->channel = channel;
  sub->school_id = school_id;
  sub->key = g_strdup (key);
  sub->active = TRUE;
  g_queue_init (&sub->outbox);

  n_keys = subscription_index_keys (channel, school_id, key, keys);

  g_mutex_lock (&self->mutex);
  sub->mailbox = mailbox_for_context_locked (self, context);
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
  if (lk_websocket_get_state (connection) == SOUP_WEBSOCKET_STATE_CLOSED)
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
