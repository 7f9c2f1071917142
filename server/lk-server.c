/* lk-server.c: listener threads on one SO_REUSEPORT port, and the maintenance thread
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "lingka-server"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <openssl/rand.h>

#include "lingka-common.h"
#include "lk-log.h"
#include "lk-claim-codes.h"
#include "lk-http.h"
#include "lk-routes.h"
#include "lk-server.h"

#define LISTEN_BACKLOG 4096
#define CHECKPOINT_INTERVAL_S 1
#define PURGE_INTERVAL_S 3600
#define SMS_BATCH 32
#define SMS_MAX_DELAY_S 3600

typedef struct
{
  LkServer     *server;      /* not owned */
  guint         index;
  int           fd;          /* handed to the thread's GSocket, which closes it */
  GThread      *thread;
  GMainContext *context;
  GMainLoop    *loop;
  /* start-up handshake */
  GMutex        lock;
  GCond         cond;
  gboolean      ready;
  GError       *error;
} LkListener;

struct _LkServer
{
  GObject            parent_instance;

  LkConfig          *config;
  LkStore           *store;
  LkHub             *hub;
  guint8             key[LK_SERVER_KEY_LEN];
  LkRateLimit       *verify_limit;
  LkRateLimit       *login_limit;
  GHashTable        *payment_providers;  /* channel → LkPaymentProvider */
  LkSmsSender       *sms_sender;
  GTlsCertificate   *tls_certificate;

  guint              port;
  GPtrArray         *listeners;          /* LkListener */
  gboolean           running;

  GThread           *maintenance_thread;
  GMainContext      *maintenance_context;
  GMainLoop         *maintenance_loop;
};

G_DEFINE_FINAL_TYPE (LkServer, lk_server, G_TYPE_OBJECT)

enum
{
  SIGNAL_STOPPING,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static gint64
now_seconds (void)
{
  return g_get_real_time () / G_USEC_PER_SEC;
}

static gboolean
load_or_create_key (LkServer    *self,
                    const char  *data_dir,
                    GError     **error)
{
  g_autofree char *path = g_build_filename (data_dir, "secret.key", NULL);
  g_autofree char *contents = NULL;
  gsize len = 0;
  int fd;

  if (g_file_get_contents (path, &contents, &len, NULL))
    {
      if (len != LK_SERVER_KEY_LEN)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       _("%s is damaged: it must hold exactly %d bytes"), path, LK_SERVER_KEY_LEN);
          return FALSE;
        }
      memcpy (self->key, contents, LK_SERVER_KEY_LEN);
      memset (contents, 0, len);
      return TRUE;
    }

  if (RAND_bytes (self->key, LK_SERVER_KEY_LEN) != 1)
    {
      g_set_error (error, LK_ERROR, LK_ERROR_CRYPTO, "No random bytes for the server key");
      return FALSE;
    }
  fd = g_open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      int saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), _("Cannot create %s: %s"),
                   path, g_strerror (saved));
      return FALSE;
    }
  if (write (fd, self->key, LK_SERVER_KEY_LEN) != LK_SERVER_KEY_LEN || fsync (fd) != 0)
    {
      int saved = errno;
      close (fd);
      g_unlink (path);
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), _("Cannot write %s: %s"),
                   path, g_strerror (saved));
      return FALSE;
    }
  close (fd);
  lk_log_event (G_LOG_LEVEL_INFO, "Created a new server key", "LK_DATA_DIR", data_dir, NULL);
  return TRUE;
}

/* --- sockets --- */

static int
make_listen_socket (GInetSocketAddress  *address,
                    GError             **error)
{
  struct sockaddr_storage native;
  gsize native_len = g_socket_address_get_native_size (G_SOCKET_ADDRESS (address));
  int one = 1;
  int fd;

  if (!g_socket_address_to_native (G_SOCKET_ADDRESS (address), &native, sizeof native, error))
    return -1;
  fd = socket (native.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    goto fail;
  /* g_socket_bind() would switch SO_REUSEPORT off again (MEASURED.md, 9). */
  if (setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0
      || setsockopt (fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
    goto fail;
  if (native.ss_family == AF_INET6)
    setsockopt (fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (bind (fd, (struct sockaddr *) &native, native_len) != 0
      || listen (fd, LISTEN_BACKLOG) != 0)
    goto fail;
  return fd;

fail:
  {
    int saved = errno;
    g_autofree char *text = g_socket_connectable_to_string (G_SOCKET_CONNECTABLE (address));

    if (fd >= 0)
      close (fd);
    g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), _("Cannot listen on %s: %s"),
                 text, g_strerror (saved));
    return -1;
  }
}

static guint
socket_port (int fd)
{
  struct sockaddr_storage native;
  socklen_t len = sizeof native;

  if (getsockname (fd, (struct sockaddr *) &native, &len) != 0)
    return 0;
  if (native.ss_family == AF_INET)
    return ntohs (((struct sockaddr_in *) &native)->sin_port);
  if (native.ss_family == AF_INET6)
    return ntohs (((struct sockaddr_in6 *) &native)->sin6_port);
  return 0;
}

/* --- listener threads --- */

static void
listener_free (LkListener *listener)
{
  if (listener->fd >= 0)
    close (listener->fd);
  g_clear_pointer (&listener->loop, g_main_loop_unref);
  g_clear_pointer (&listener->context, g_main_context_unref);
  g_clear_error (&listener->error);
  g_mutex_clear (&listener->lock);
  g_cond_clear (&listener->cond);
  g_free (listener);
}

static void
listener_signal_ready (LkListener *listener,
                       GError     *error)
{
  g_mutex_lock (&listener->lock);
  listener->ready = TRUE;
  listener->error = error;
  g_cond_signal (&listener->cond);
  g_mutex_unlock (&listener->lock);
}

static void
on_request_finished_cb (SoupServer        *soup,
                        SoupServerMessage *msg,
                        gpointer           user_data)
{
  lk_http_log_request (msg);
}

static gpointer
listener_thread (gpointer data)
{
  LkListener *listener = data;
  LkServer *self = listener->server;
  g_autoptr(SoupServer) soup = NULL;
  g_autoptr(GSocket) socket = NULL;
  GError *error = NULL;
  gint64 deadline;

  g_main_context_push_thread_default (listener->context);

  soup = soup_server_new ("server-header", "lingka/" PACKAGE_VERSION " ",
                          "tls-certificate", self->tls_certificate,
                          NULL);
  g_signal_connect (soup, "request-finished", G_CALLBACK (on_request_finished_cb), NULL);
  lk_routes_register (self, soup);

  socket = g_socket_new_from_fd (listener->fd, &error);
  if (socket != NULL)
    {
      listener->fd = -1;  /* the GSocket owns it now */
      soup_server_listen_socket (soup, socket,
                                 self->tls_certificate != NULL ? SOUP_SERVER_LISTEN_HTTPS : 0, &error);
    }
  listener_signal_ready (listener, error);

  if (error == NULL)
    {
      g_main_loop_run (listener->loop);
      /* Let modules close their long-lived connections (WebSockets) on this thread. */
      g_signal_emit (self, signals[SIGNAL_STOPPING], 0);
    }

  soup_server_disconnect (soup);
  if (socket != NULL)
    g_socket_close (socket, NULL);
  g_clear_object (&soup);

  /* Give closing connections a moment to finish on this context. */
  deadline = g_get_monotonic_time () + G_USEC_PER_SEC;
  while (g_main_context_pending (listener->context) && g_get_monotonic_time () < deadline)
    g_main_context_iteration (listener->context, FALSE);

  g_main_context_pop_thread_default (listener->context);
  return NULL;
}

/* --- maintenance thread: SMS outbox, checkpoints, session purge --- */

static char *
sms_text (LkServer   *self,
          LkSmsItem  *item,
          GError    **error)
{
  g_autoptr(LkApplicationRecord) app = NULL;

  app = lk_store_application_get (self->store, item->application_id, error);
  if (app == NULL)
    return NULL;
  if (g_str_equal (item->template, "claim_code"))
    {
      g_autofree char *code = NULL;
      g_autofree char *formatted = NULL;

      if (app->code_attempt < 0)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "The application has no claim code");
          return NULL;
        }
      code = lk_claim_code_recompute (self, app);
      formatted = lk_claim_code_format (code);
      return g_strdup_printf (_("[Lingka] The card claim code for %s is %s. Enter it at a kiosk of the school to take the card."),
                              app->student_name, formatted);
    }
  return g_strdup_printf (_("[Lingka] The campus card of %s has been issued."), app->student_name);
}

static void
send_due_sms (LkServer *self)
{
  g_autoptr(GPtrArray) due = NULL;
  g_autoptr(GError) error = NULL;
  gint64 now = now_seconds ();

  if (self->sms_sender == NULL)
    return;
  due = lk_store_sms_due (self->store, now, SMS_BATCH, &error);
  if (due == NULL)
    {
      g_warning ("Cannot read the SMS outbox: %s", error->message);
      return;
    }
  for (guint i = 0; i < due->len; i++)
    {
      LkSmsItem *item = g_ptr_array_index (due, i);
      g_autoptr(GError) send_error = NULL;
      g_autofree char *text = NULL;
      g_autofree char *id = g_strdup_printf ("%" G_GINT64_FORMAT, item->id);

      text = sms_text (self, item, &send_error);
      if (text != NULL && lk_sms_sender_send (self->sms_sender, item->phone, item->template, text, &send_error))
        {
          g_autoptr(GError) mark_error = NULL;

          if (!lk_store_sms_mark_sent (self->store, item->id, now_seconds (), &mark_error))
            g_warning ("Cannot mark SMS %s sent: %s", id, mark_error->message);
        }
      else
        {
          g_autoptr(GError) mark_error = NULL;
          guint64 delay = (guint64) lk_config_get_sms_retry_s (self->config) << MIN (item->attempts, 12);
          g_autofree char *attempts = g_strdup_printf ("%" G_GINT64_FORMAT, item->attempts + 1);

          delay = MIN (delay, SMS_MAX_DELAY_S);
          lk_log_event (G_LOG_LEVEL_MESSAGE, "SMS not sent; will retry",
                        "LK_SMS_ID", id, "LK_SMS_ATTEMPTS", attempts,
                        "LK_ERROR", send_error->message, NULL);
          if (!lk_store_sms_mark_retry (self->store, item->id, now_seconds () + delay,
                                        send_error->message, &mark_error))
            g_warning ("Cannot reschedule SMS %s: %s", id, mark_error->message);
        }
    }
}

static gboolean
on_sms_tick_cb (gpointer user_data)
{
  send_due_sms (user_data);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_sms_kick_cb (gpointer user_data)
{
  send_due_sms (user_data);
  return G_SOURCE_REMOVE;
}

static gboolean
on_checkpoint_cb (gpointer user_data)
{
  LkServer *self = user_data;

  lk_store_checkpoint (self->store);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_purge_cb (gpointer user_data)
{
  LkServer *self = user_data;

  lk_store_sessions_purge (self->store, now_seconds ());
  return G_SOURCE_CONTINUE;
}

static void
attach_timeout (GMainContext *context,
                guint         seconds,
                GSourceFunc   func,
                gpointer      data)
{
  g_autoptr(GSource) source = g_timeout_source_new_seconds (seconds);

  g_source_set_callback (source, func, data, NULL);
  g_source_attach (source, context);
}

static gpointer
maintenance_thread (gpointer data)
{
  LkServer *self = data;

  g_main_context_push_thread_default (self->maintenance_context);
  attach_timeout (self->maintenance_context, 1, on_sms_tick_cb, self);
  attach_timeout (self->maintenance_context, CHECKPOINT_INTERVAL_S, on_checkpoint_cb, self);
  attach_timeout (self->maintenance_context, PURGE_INTERVAL_S, on_purge_cb, self);
  /* Whatever a previous run left in the outbox goes out first. */
  send_due_sms (self);
  g_main_loop_run (self->maintenance_loop);
  g_main_context_pop_thread_default (self->maintenance_context);
  return NULL;
}

/* --- GObject --- */

static void
lk_server_dispose (GObject *object)
{
  LkServer *self = (LkServer *) object;

  lk_server_stop (self);
  g_clear_object (&self->hub);
  g_clear_pointer (&self->payment_providers, g_hash_table_unref);
  g_clear_object (&self->sms_sender);
  g_clear_object (&self->tls_certificate);
  g_clear_object (&self->store);

  G_OBJECT_CLASS (lk_server_parent_class)->dispose (object);
}

static void
lk_server_finalize (GObject *object)
{
  LkServer *self = (LkServer *) object;

  memset (self->key, 0, sizeof self->key);
  g_clear_object (&self->config);
  g_clear_pointer (&self->verify_limit, lk_rate_limit_unref);
  g_clear_pointer (&self->login_limit, lk_rate_limit_unref);
  g_clear_pointer (&self->listeners, g_ptr_array_unref);

  G_OBJECT_CLASS (lk_server_parent_class)->finalize (object);
}

static void
lk_server_class_init (LkServerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = lk_server_dispose;
  object_class->finalize = lk_server_finalize;

  /**
   * LkServer::stopping:
   *
   * Emitted on each listener thread, with its main context as the thread default, when the
   * server stops: close the long-lived connections that belong to this context.
   */
  signals[SIGNAL_STOPPING] = g_signal_new ("stopping", G_TYPE_FROM_CLASS (klass),
                                           G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                           G_TYPE_NONE, 0);
}

static void
lk_server_init (LkServer *self)
{
  self->payment_providers = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_object_unref);
  self->listeners = g_ptr_array_new_with_free_func ((GDestroyNotify) listener_free);
}

LkServer *
lk_server_new (LkConfig  *config,
               GError   **error)
{
  g_autoptr(LkServer) self = NULL;
  g_autofree char *db_path = NULL;
  const char *data_dir;

  g_return_val_if_fail (LK_IS_CONFIG (config), NULL);

  self = g_object_new (LK_TYPE_SERVER, NULL);
  self->config = g_object_ref (config);
  data_dir = lk_config_get_data_dir (config);

  if (g_mkdir_with_parents (data_dir, 0700) != 0)
    {
      int saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), _("Cannot create %s: %s"),
                   data_dir, g_strerror (saved));
      return NULL;
    }
  if (!load_or_create_key (self, data_dir, error))
    return NULL;

  db_path = g_build_filename (data_dir, "lingka.db", NULL);
  self->store = lk_store_new (db_path, lk_config_get_synchronous (config), error);
  if (self->store == NULL)
    return NULL;

  self->hub = lk_hub_new ();
  self->verify_limit = lk_rate_limit_new (lk_config_get_verify_burst (config),
                                          lk_config_get_verify_refill_s (config));
  self->login_limit = lk_rate_limit_new (10, 30.0);

  if (lk_config_get_sandbox (config))
    {
      g_hash_table_insert (self->payment_providers, (gpointer) "sandbox",
                           lk_sandbox_payment_new (self->key, sizeof self->key));
      self->sms_sender = LK_SMS_SENDER (lk_log_sms_sender_new ());
    }
  else
    {
      const char * const *providers = lk_config_get_payment_providers (config);

      for (guint i = 0; providers != NULL && providers[i] != NULL; i++)
        g_warning ("Payment provider “%s” is not available in this version", providers[i]);
      lk_log_event (G_LOG_LEVEL_MESSAGE,
                    "No SMS provider is configured; messages stay in the outbox until one is",
                    "LK_SMS_PROVIDER", lk_config_get_sms_provider (config), NULL);
    }

  if (lk_config_get_tls_cert (config) != NULL || lk_config_get_tls_key (config) != NULL)
    {
      if (lk_config_get_tls_cert (config) == NULL || lk_config_get_tls_key (config) == NULL)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       _("TLS needs both tls_cert and tls_key"));
          return NULL;
        }
      self->tls_certificate = g_tls_certificate_new_from_files (lk_config_get_tls_cert (config),
                                                                lk_config_get_tls_key (config),
                                                                error);
      if (self->tls_certificate == NULL)
        return NULL;
    }

  return g_steal_pointer (&self);
}

gboolean
lk_server_start (LkServer  *self,
                 GError   **error)
{
  g_autoptr(GInetAddress) inet = NULL;
  const char *listen_address;
  guint n_threads;
  guint port;

  g_return_val_if_fail (LK_IS_SERVER (self), FALSE);
  g_return_val_if_fail (!self->running, FALSE);

  listen_address = lk_config_get_listen (self->config);
  if (g_str_equal (listen_address, "localhost"))
    listen_address = "127.0.0.1";
  inet = g_inet_address_new_from_string (listen_address);
  if (inet == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("“%s” is not an IP address"), listen_address);
      return FALSE;
    }

  /* Bind every socket first, so that a failure leaves nothing running. The first one may get
   * any free port (port 0); the others take the same. */
  n_threads = lk_config_get_threads (self->config);
  port = lk_config_get_port (self->config);
  for (guint i = 0; i < n_threads; i++)
    {
      g_autoptr(GSocketAddress) address = g_inet_socket_address_new (inet, port);
      LkListener *listener;
      int fd;

      fd = make_listen_socket (G_INET_SOCKET_ADDRESS (address), error);
      if (fd < 0)
        {
          g_ptr_array_set_size (self->listeners, 0);
          return FALSE;
        }
      if (i == 0)
        port = socket_port (fd);

      listener = g_new0 (LkListener, 1);
      listener->server = self;
      listener->index = i;
      listener->fd = fd;
      listener->context = g_main_context_new ();
      listener->loop = g_main_loop_new (listener->context, FALSE);
      g_mutex_init (&listener->lock);
      g_cond_init (&listener->cond);
      g_ptr_array_add (self->listeners, listener);
    }
  self->port = port;

  for (guint i = 0; i < self->listeners->len; i++)
    {
      LkListener *listener = g_ptr_array_index (self->listeners, i);
      g_autofree char *name = g_strdup_printf ("lk-listen-%u", i);

      listener->thread = g_thread_new (name, listener_thread, listener);
      g_mutex_lock (&listener->lock);
      while (!listener->ready)
        g_cond_wait (&listener->cond, &listener->lock);
      g_mutex_unlock (&listener->lock);
      if (listener->error != NULL)
        {
          g_propagate_error (error, g_steal_pointer (&listener->error));
          self->running = TRUE;
          lk_server_stop (self);
          return FALSE;
        }
    }

  self->maintenance_context = g_main_context_new ();
  self->maintenance_loop = g_main_loop_new (self->maintenance_context, FALSE);
  self->maintenance_thread = g_thread_new ("lk-maintenance", maintenance_thread, self);
  self->running = TRUE;

  {
    g_autofree char *port_text = g_strdup_printf ("%u", self->port);
    g_autofree char *threads_text = g_strdup_printf ("%u", self->listeners->len);

    lk_log_event (G_LOG_LEVEL_INFO, "Serving",
                  "LK_LISTEN", listen_address, "LK_PORT", port_text,
                  "LK_THREADS", threads_text, "LK_TLS", self->tls_certificate != NULL ? "yes" : "no",
                  "LK_SANDBOX", lk_config_get_sandbox (self->config) ? "yes" : "no", NULL);
  }
  return TRUE;
}

void
lk_server_stop (LkServer *self)
{
  g_return_if_fail (LK_IS_SERVER (self));

  if (!self->running)
    return;
  self->running = FALSE;

  /* Queued store jobs finish while their listeners still run, so their answers go out. */
  lk_store_stop_writer (self->store);

  for (guint i = 0; i < self->listeners->len; i++)
    {
      LkListener *listener = g_ptr_array_index (self->listeners, i);

      if (listener->thread == NULL)
        continue;
      g_main_loop_quit (listener->loop);
      g_main_context_wakeup (listener->context);
      g_thread_join (g_steal_pointer (&listener->thread));
    }
  g_ptr_array_set_size (self->listeners, 0);

  if (self->maintenance_thread != NULL)
    {
      g_main_loop_quit (self->maintenance_loop);
      g_main_context_wakeup (self->maintenance_context);
      g_thread_join (g_steal_pointer (&self->maintenance_thread));
    }
  g_clear_pointer (&self->maintenance_loop, g_main_loop_unref);
  g_clear_pointer (&self->maintenance_context, g_main_context_unref);
  /* Whatever the listeners queued since is written before the last checkpoint. */
  lk_store_stop_writer (self->store);
  lk_store_checkpoint (self->store);
  lk_log_event (G_LOG_LEVEL_INFO, "Stopped", NULL);
}

guint
lk_server_get_port (LkServer *self)
{
  g_return_val_if_fail (LK_IS_SERVER (self), 0);
  return self->port;
}

char *
lk_server_get_base_url (LkServer *self)
{
  g_return_val_if_fail (LK_IS_SERVER (self), NULL);
  return g_strdup_printf ("%s://127.0.0.1:%u", self->tls_certificate != NULL ? "https" : "http",
                          self->port);
}

LkConfig *
lk_server_get_config (LkServer *self)
{
  g_return_val_if_fail (LK_IS_SERVER (self), NULL);
  return self->config;
}

LkStore *
lk_server_get_store (LkServer *self)
{
  g_return_val_if_fail (LK_IS_SERVER (self), NULL);
  return self->store;
}

LkHub *
lk_server_get_hub (LkServer *self)
{
  g_return_val_if_fail (LK_IS_SERVER (self), NULL);
  return self->hub;
}

const guint8 *
lk_server_get_key (LkServer *self,
                   gsize    *len)
{
  g_return_val_if_fail (LK_IS_SERVER (self), NULL);
  if (len != NULL)
    *len = sizeof self->key;
  return self->key;
}

LkRateLimit *
lk_server_get_verify_limit (LkServer *self)
{
  g_return_val_if_fail (LK_IS_SERVER (self), NULL);
  return self->verify_limit;
}

LkRateLimit *
lk_server_get_login_limit (LkServer *self)
{
  g_return_val_if_fail (LK_IS_SERVER (self), NULL);
  return self->login_limit;
}

LkPaymentProvider *
lk_server_get_payment_provider (LkServer   *self,
                                const char *channel)
{
  g_return_val_if_fail (LK_IS_SERVER (self), NULL);
  return channel != NULL ? g_hash_table_lookup (self->payment_providers, channel) : NULL;
}

LkSmsSender *
lk_server_get_sms_sender (LkServer *self)
{
  g_return_val_if_fail (LK_IS_SERVER (self), NULL);
  return self->sms_sender;
}

void
lk_server_kick_sms (LkServer *self)
{
  g_autoptr(GSource) source = NULL;

  g_return_if_fail (LK_IS_SERVER (self));
  if (self->maintenance_context == NULL)
    return;
  source = g_idle_source_new ();
  g_source_set_callback (source, on_sms_kick_cb, self, NULL);
  g_source_attach (source, self->maintenance_context);
}
