/* lk-api-client.c: the admin app's client of the Lingka REST API and its event socket
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <string.h>

#include <glib/gi18n.h>

#include "lingka-common.h"
#include "lk-api-client.h"

/* How long one call may take before it counts as a transport failure; an import frame of
 * 200,000 rows is a few tens of MB, so this is generous. */
#define LK_API_TIMEOUT_S 120
/* Answers bigger than this are parsed off the main thread. */
#define LK_API_PARSE_IN_THREAD_BYTES (256 * 1024)

struct _LkApiClient
{
  GObject      parent_instance;

  SoupSession *session;
  char        *base_url;
  char        *token;
  char        *username;
  char        *role;
  gint64       school_id;
  gint64       expires_at;
};

G_DEFINE_FINAL_TYPE (LkApiClient, lk_api_client, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_BASE_URL,
  PROP_TOKEN,
  PROP_USERNAME,
  PROP_ROLE,
  PROP_SCHOOL_ID,
  PROP_EXPIRES_AT,
  PROP_LOGGED_IN,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  SESSION_EXPIRED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* The server's error details ride on the GError (an extended error domain). */
typedef struct
{
  guint      status;
  char      *code;
  char      *field;
  GPtrArray *rows;
} LkApiErrorPrivate;

static void
lk_api_error_private_init (LkApiErrorPrivate *priv)
{
  priv->status = 0;
  priv->code = NULL;
  priv->field = NULL;
  priv->rows = NULL;
}

static void
lk_api_error_private_copy (const LkApiErrorPrivate *src,
                           LkApiErrorPrivate       *dest)
{
  dest->status = src->status;
  dest->code = g_strdup (src->code);
  dest->field = g_strdup (src->field);
  dest->rows = NULL;
  if (src->rows != NULL)
    {
      dest->rows = g_ptr_array_new_full (src->rows->len, (GDestroyNotify) lk_row_error_free);
      for (guint i = 0; i < src->rows->len; i++)
        {
          const LkRowError *e = g_ptr_array_index (src->rows, i);

          g_ptr_array_add (dest->rows, lk_row_error_new (e->seq, e->field, e->message));
        }
    }
}

static void
lk_api_error_private_clear (LkApiErrorPrivate *priv)
{
  g_clear_pointer (&priv->code, g_free);
  g_clear_pointer (&priv->field, g_free);
  g_clear_pointer (&priv->rows, g_ptr_array_unref);
}

G_DEFINE_EXTENDED_ERROR (LkApiError, lk_api_error)

typedef struct
{
  SoupMessage *message;
  guint        status;
  gboolean     is_login;
} CallData;

static void
call_data_free (CallData *data)
{
  g_clear_object (&data->message);
  g_free (data);
}

static LkApiError
error_code_for_status (guint status)
{
  switch (status)
    {
    case SOUP_STATUS_BAD_REQUEST:
      return LK_API_ERROR_BAD_REQUEST;
    case SOUP_STATUS_UNAUTHORIZED:
      return LK_API_ERROR_UNAUTHORIZED;
    case SOUP_STATUS_FORBIDDEN:
      return LK_API_ERROR_FORBIDDEN;
    case SOUP_STATUS_NOT_FOUND:
      return LK_API_ERROR_NOT_FOUND;
    case SOUP_STATUS_CONFLICT:
      return LK_API_ERROR_CONFLICT;
    case SOUP_STATUS_UNPROCESSABLE_ENTITY:
      return LK_API_ERROR_INVALID;
    default:
      return status >= 500 ? LK_API_ERROR_SERVER : LK_API_ERROR_FAILED;
    }
}

static const char *
object_get_string (JsonObject *object,
                   const char *key)
{
  JsonNode *node = object ? json_object_get_member (object, key) : NULL;

  if (node == NULL || JSON_NODE_TYPE (node) != JSON_NODE_VALUE ||
      json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

static gint64
node_get_int (JsonNode *node)
{
  if (node == NULL || JSON_NODE_TYPE (node) != JSON_NODE_VALUE)
    return 0;
  if (json_node_get_value_type (node) == G_TYPE_STRING)
    return g_ascii_strtoll (json_node_get_string (node), NULL, 10);
  if (json_node_get_value_type (node) == G_TYPE_DOUBLE)
    return (gint64) json_node_get_double (node);
  return json_node_get_int (node);
}

static GPtrArray *
row_errors_from_json (JsonNode *rows)
{
  GPtrArray *errors;
  JsonArray *array;

  if (rows == NULL || !JSON_NODE_HOLDS_ARRAY (rows))
    return NULL;

  array = json_node_get_array (rows);
  errors = g_ptr_array_new_full (json_array_get_length (array), (GDestroyNotify) lk_row_error_free);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *item = json_array_get_element (array, i);
      JsonObject *object;

      if (!JSON_NODE_HOLDS_OBJECT (item))
        continue;
      object = json_node_get_object (item);
      g_ptr_array_add (errors, lk_row_error_new (node_get_int (json_object_get_member (object, "seq")),
                                                 object_get_string (object, "field"),
                                                 object_get_string (object, "message")));
    }

  return errors;
}

/* DESIGN.md's error shape: {"error": {"code", "message", "field", "rows"}}. */
static GError *
error_from_answer (guint       status,
                   const char *reason,
                   JsonNode   *root)
{
  JsonObject *error_object = NULL;
  const char *message = NULL;
  GError *error;
  LkApiErrorPrivate *priv;

  if (root != NULL && JSON_NODE_HOLDS_OBJECT (root))
    {
      JsonNode *node = json_object_get_member (json_node_get_object (root), "error");

      if (node != NULL && JSON_NODE_HOLDS_OBJECT (node))
        error_object = json_node_get_object (node);
    }
  message = object_get_string (error_object, "message");

  if (message != NULL)
    error = g_error_new_literal (LK_API_ERROR, error_code_for_status (status), message);
  else
    error = g_error_new (LK_API_ERROR, error_code_for_status (status),
                         _("The server answered %u %s"), status, reason ? reason : "");

  priv = lk_api_error_get_private (error);
  priv->status = status;
  priv->code = g_strdup (object_get_string (error_object, "code"));
  priv->field = g_strdup (object_get_string (error_object, "field"));
  if (error_object != NULL)
    priv->rows = row_errors_from_json (json_object_get_member (error_object, "rows"));

  return error;
}

static void
lk_api_client_set_session (LkApiClient *self,
                           const char  *token,
                           const char  *username,
                           const char  *role,
                           gint64       school_id,
                           gint64       expires_at)
{
  gboolean was_logged_in = lk_api_client_is_logged_in (self);

  g_object_freeze_notify (G_OBJECT (self));
  if (g_strcmp0 (self->token, token) != 0)
    {
      g_free (self->token);
      self->token = g_strdup (token);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TOKEN]);
    }
  if (g_strcmp0 (self->username, username) != 0)
    {
      g_free (self->username);
      self->username = g_strdup (username);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_USERNAME]);
    }
  if (g_strcmp0 (self->role, role) != 0)
    {
      g_free (self->role);
      self->role = g_strdup (role);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ROLE]);
    }
  if (self->school_id != school_id)
    {
      self->school_id = school_id;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SCHOOL_ID]);
    }
  if (self->expires_at != expires_at)
    {
      self->expires_at = expires_at;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_EXPIRES_AT]);
    }
  if (was_logged_in != lk_api_client_is_logged_in (self))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LOGGED_IN]);
  g_object_thaw_notify (G_OBJECT (self));
}

static gint64
parse_expires_at (JsonNode *node)
{
  g_autoptr(GDateTime) when = NULL;

  if (node == NULL || JSON_NODE_TYPE (node) != JSON_NODE_VALUE)
    return 0;
  if (json_node_get_value_type (node) != G_TYPE_STRING)
    return node_get_int (node);

  /* ISO 8601 ("2026-11-26T20:00:00Z") or unix seconds as text */
  when = g_date_time_new_from_iso8601 (json_node_get_string (node), NULL);
  if (when != NULL)
    return g_date_time_to_unix (when);
  return g_ascii_strtoll (json_node_get_string (node), NULL, 10);
}

/* Ends a call once its body is parsed (@root NULL when the body was empty or not JSON). */
static void
complete_call (GTask    *task,
               JsonNode *root,
               gsize     size)
{
  LkApiClient *self = g_task_get_source_object (task);
  CallData *data = g_task_get_task_data (task);

  if (!SOUP_STATUS_IS_SUCCESSFUL (data->status))
    {
      g_debug ("%s %s → %u", soup_message_get_method (data->message),
               g_uri_get_path (soup_message_get_uri (data->message)), data->status);
      /* An expired session: forget it, so the app can ask for a login again. */
      if (data->status == SOUP_STATUS_UNAUTHORIZED && !data->is_login && self->token != NULL)
        {
          lk_api_client_set_session (self, NULL, self->username, NULL, 0, 0);
          g_signal_emit (self, signals[SESSION_EXPIRED], 0);
        }
      g_task_return_error (task, error_from_answer (data->status,
                                                    soup_message_get_reason_phrase (data->message),
                                                    root));
      g_clear_pointer (&root, json_node_unref);
      return;
    }

  if (size > 0 && root == NULL)
    {
      g_task_return_new_error (task, LK_API_ERROR, LK_API_ERROR_INVALID_RESPONSE,
                               _("The server's answer is not valid JSON"));
      return;
    }
  if (root == NULL)
    root = json_node_new (JSON_NODE_NULL);

  g_task_return_pointer (task, root, (GDestroyNotify) json_node_unref);
}

static JsonNode *
parse_body (GBytes *bytes)
{
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  gsize size = 0;
  const char *body = g_bytes_get_data (bytes, &size);

  if (size == 0 || !json_parser_load_from_data (parser, body, (gssize) size, NULL))
    return NULL;
  return json_parser_steal_root (parser);
}

static void
parse_thread_cb (GTask        *task,
                 gpointer      source_object,
                 gpointer      task_data,
                 GCancellable *cancellable)
{
  JsonNode *root = parse_body (task_data);

  /* NULL is a valid result here (not JSON): the caller says so */
  g_task_return_pointer (task, root, (GDestroyNotify) json_node_unref);
}

static void
on_body_parsed_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GBytes *bytes = g_task_get_task_data (G_TASK (result));
  JsonNode *root = g_task_propagate_pointer (G_TASK (result), NULL);

  complete_call (task, root, g_bytes_get_size (bytes));
}

static void
on_send_and_read_cb (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  CallData *data = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = NULL;

  bytes = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);
  if (bytes == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_task_return_error (task, g_steal_pointer (&error));
      else
        g_task_return_new_error (task, LK_API_ERROR, LK_API_ERROR_TRANSPORT,
                                 _("Cannot reach the server: %s"), error->message);
      return;
    }

  data->status = soup_message_get_status (data->message);

  /* A big answer (the echo of a 100,000-row import is ~15 MB of JSON) is parsed in a
   * thread, so that the window stays responsive. */
  if (g_bytes_get_size (bytes) > LK_API_PARSE_IN_THREAD_BYTES)
    {
      g_autoptr(GTask) parse = g_task_new (NULL, NULL, on_body_parsed_cb, g_steal_pointer (&task));

      g_task_set_source_tag (parse, parse_thread_cb);
      g_task_set_name (parse, "[lingka] parse answer");
      g_task_set_task_data (parse, g_bytes_ref (bytes), (GDestroyNotify) g_bytes_unref);
      g_task_run_in_thread (parse, parse_thread_cb);
      return;
    }

  complete_call (task, parse_body (bytes), g_bytes_get_size (bytes));
}

static char *
build_uri (LkApiClient *self,
           const char  *path_and_query)
{
  return g_strconcat (self->base_url, path_and_query, NULL);
}

static void
send_message (LkApiClient         *self,
              SoupMessage         *message,
              gboolean             is_login,
              gpointer             source_tag,
              GCancellable        *cancellable,
              GAsyncReadyCallback  callback,
              gpointer             user_data)
{
  GTask *task;
  CallData *data;

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, source_tag);
  data = g_new0 (CallData, 1);
  data->message = g_object_ref (message);
  data->is_login = is_login;
  g_task_set_task_data (task, data, (GDestroyNotify) call_data_free);

  if (self->token != NULL && !is_login)
    {
      g_autofree char *auth = g_strconcat ("Bearer ", self->token, NULL);

      soup_message_headers_replace (soup_message_get_request_headers (message),
                                    "Authorization", auth);
    }
  soup_message_headers_replace (soup_message_get_request_headers (message), "Accept",
                                "application/json");

  soup_session_send_and_read_async (self->session, message, G_PRIORITY_DEFAULT, cancellable,
                                    on_send_and_read_cb, task);
}

static SoupMessage *
new_message (LkApiClient  *self,
             const char   *method,
             const char   *path_and_query,
             GError      **error)
{
  g_autofree char *uri = build_uri (self, path_and_query);
  SoupMessage *message = soup_message_new (method, uri);

  if (message == NULL)
    g_set_error (error, LK_API_ERROR, LK_API_ERROR_TRANSPORT,
                 _("“%s” is not a valid server address"), uri);

  return message;
}

static JsonNode *
call_finish (LkApiClient   *self,
             GAsyncResult  *result,
             gpointer       source_tag,
             guint         *status,
             GError       **error)
{
  CallData *data;

  g_return_val_if_fail (LK_IS_API_CLIENT (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == source_tag, NULL);

  data = g_task_get_task_data (G_TASK (result));
  if (status != NULL)
    *status = data ? data->status : 0;

  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
lk_api_client_finalize (GObject *object)
{
  LkApiClient *self = (LkApiClient *) object;

  g_clear_object (&self->session);
  g_clear_pointer (&self->base_url, g_free);
  g_clear_pointer (&self->token, g_free);
  g_clear_pointer (&self->username, g_free);
  g_clear_pointer (&self->role, g_free);

  G_OBJECT_CLASS (lk_api_client_parent_class)->finalize (object);
}

static void
lk_api_client_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  LkApiClient *self = LK_API_CLIENT (object);

  switch (prop_id)
    {
    case PROP_BASE_URL:
      g_value_set_string (value, self->base_url);
      break;
    case PROP_TOKEN:
      g_value_set_string (value, self->token);
      break;
    case PROP_USERNAME:
      g_value_set_string (value, self->username);
      break;
    case PROP_ROLE:
      g_value_set_string (value, self->role);
      break;
    case PROP_SCHOOL_ID:
      g_value_set_int64 (value, self->school_id);
      break;
    case PROP_EXPIRES_AT:
      g_value_set_int64 (value, self->expires_at);
      break;
    case PROP_LOGGED_IN:
      g_value_set_boolean (value, lk_api_client_is_logged_in (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
lk_api_client_set_property (GObject      *object,
                            guint         prop_id,
                            const GValue *value,
                            GParamSpec   *pspec)
{
  LkApiClient *self = LK_API_CLIENT (object);

  switch (prop_id)
    {
    case PROP_BASE_URL:
      {
        const char *url = g_value_get_string (value);
        gsize len = url ? strlen (url) : 0;

        /* Paths start with "/", so the base keeps none at its end. */
        while (len > 0 && url[len - 1] == '/')
          len--;
        g_free (self->base_url);
        self->base_url = g_strndup (url ? url : "", len);
      }
      break;
    case PROP_TOKEN:
      lk_api_client_set_token (self, g_value_get_string (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
lk_api_client_class_init (LkApiClientClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = lk_api_client_finalize;
  object_class->get_property = lk_api_client_get_property;
  object_class->set_property = lk_api_client_set_property;

  properties[PROP_BASE_URL] =
    g_param_spec_string ("base-url", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_TOKEN] =
    g_param_spec_string ("token", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_USERNAME] =
    g_param_spec_string ("username", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_ROLE] =
    g_param_spec_string ("role", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SCHOOL_ID] =
    g_param_spec_int64 ("school-id", NULL, NULL, 0, G_MAXINT64, 0,
                        G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_EXPIRES_AT] =
    g_param_spec_int64 ("expires-at", NULL, NULL, 0, G_MAXINT64, 0,
                        G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_LOGGED_IN] =
    g_param_spec_boolean ("logged-in", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * LkApiClient::session-expired:
   *
   * A call other than the login got 401: the token was dropped; log in again.
   */
  signals[SESSION_EXPIRED] =
    g_signal_new ("session-expired", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
lk_api_client_init (LkApiClient *self)
{
  g_autofree char *user_agent = g_strdup_printf ("lingka-admin/%s", PACKAGE_VERSION);

  self->session = soup_session_new_with_options ("timeout", LK_API_TIMEOUT_S,
                                                 "idle-timeout", 60,
                                                 "user-agent", user_agent,
                                                 NULL);
}

LkApiClient *
lk_api_client_new (const char *base_url)
{
  g_return_val_if_fail (base_url != NULL, NULL);

  return g_object_new (LK_TYPE_API_CLIENT, "base-url", base_url, NULL);
}

const char *
lk_api_client_get_base_url (LkApiClient *self)
{
  g_return_val_if_fail (LK_IS_API_CLIENT (self), NULL);
  return self->base_url;
}

const char *
lk_api_client_get_token (LkApiClient *self)
{
  g_return_val_if_fail (LK_IS_API_CLIENT (self), NULL);
  return self->token;
}

void
lk_api_client_set_token (LkApiClient *self,
                         const char  *token)
{
  gboolean was_logged_in;

  g_return_if_fail (LK_IS_API_CLIENT (self));

  if (g_strcmp0 (self->token, token) == 0)
    return;
  was_logged_in = lk_api_client_is_logged_in (self);
  g_free (self->token);
  self->token = g_strdup (token);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TOKEN]);
  if (was_logged_in != lk_api_client_is_logged_in (self))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LOGGED_IN]);
}

const char *
lk_api_client_get_username (LkApiClient *self)
{
  g_return_val_if_fail (LK_IS_API_CLIENT (self), NULL);
  return self->username;
}

const char *
lk_api_client_get_role (LkApiClient *self)
{
  g_return_val_if_fail (LK_IS_API_CLIENT (self), NULL);
  return self->role;
}

gboolean
lk_api_client_is_operator (LkApiClient *self)
{
  g_return_val_if_fail (LK_IS_API_CLIENT (self), FALSE);
  return g_strcmp0 (self->role, "operator") == 0;
}

gint64
lk_api_client_get_school_id (LkApiClient *self)
{
  g_return_val_if_fail (LK_IS_API_CLIENT (self), 0);
  return self->school_id;
}

gint64
lk_api_client_get_expires_at (LkApiClient *self)
{
  g_return_val_if_fail (LK_IS_API_CLIENT (self), 0);
  return self->expires_at;
}

gboolean
lk_api_client_is_logged_in (LkApiClient *self)
{
  g_return_val_if_fail (LK_IS_API_CLIENT (self), FALSE);
  return self->token != NULL;
}

void
lk_api_client_logout (LkApiClient *self)
{
  g_return_if_fail (LK_IS_API_CLIENT (self));
  lk_api_client_set_session (self, NULL, NULL, NULL, 0, 0);
}

SoupSession *
lk_api_client_get_session (LkApiClient *self)
{
  g_return_val_if_fail (LK_IS_API_CLIENT (self), NULL);
  return self->session;
}

guint
lk_api_error_get_status (const GError *error)
{
  LkApiErrorPrivate *priv;

  if (error == NULL || error->domain != LK_API_ERROR)
    return 0;
  priv = lk_api_error_get_private (error);
  return priv ? priv->status : 0;
}

const char *
lk_api_error_get_code (const GError *error)
{
  LkApiErrorPrivate *priv;

  if (error == NULL || error->domain != LK_API_ERROR)
    return NULL;
  priv = lk_api_error_get_private (error);
  return priv ? priv->code : NULL;
}

const char *
lk_api_error_get_field (const GError *error)
{
  LkApiErrorPrivate *priv;

  if (error == NULL || error->domain != LK_API_ERROR)
    return NULL;
  priv = lk_api_error_get_private (error);
  return priv ? priv->field : NULL;
}

GPtrArray *
lk_api_error_get_rows (const GError *error)
{
  LkApiErrorPrivate *priv;

  if (error == NULL || error->domain != LK_API_ERROR)
    return NULL;
  priv = lk_api_error_get_private (error);
  return priv ? priv->rows : NULL;
}

typedef struct
{
  char *username;
} LoginData;

static void
on_login_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  LkApiClient *self = LK_API_CLIENT (source);
  g_autoptr(GTask) task = user_data;
  g_autoptr(JsonNode) answer = NULL;
  GError *error = NULL;
  JsonObject *object;
  const char *token;
  const char *role;

  answer = call_finish (self, result, lk_api_client_request_async, NULL, &error);
  if (answer == NULL)
    {
      g_task_return_error (task, error);
      return;
    }

  object = JSON_NODE_HOLDS_OBJECT (answer) ? json_node_get_object (answer) : NULL;
  token = object_get_string (object, "token");
  role = object_get_string (object, "role");
  if (token == NULL || role == NULL)
    {
      g_task_return_new_error (task, LK_API_ERROR, LK_API_ERROR_INVALID_RESPONSE,
                               _("The server's login answer has no token or role"));
      return;
    }

  lk_api_client_set_session (self, token, g_task_get_task_data (task), role,
                             node_get_int (json_object_get_member (object, "school_id")),
                             parse_expires_at (json_object_get_member (object, "expires_at")));
  g_debug ("logged in as a %s", role);
  g_task_return_boolean (task, TRUE);
}

void
lk_api_client_login_async (LkApiClient         *self,
                           const char          *username,
                           const char          *password,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) body = NULL;
  g_autoptr(SoupMessage) message = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *json = NULL;
  GTask *task;

  g_return_if_fail (LK_IS_API_CLIENT (self));
  g_return_if_fail (username != NULL);
  g_return_if_fail (password != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, lk_api_client_login_async);
  g_task_set_task_data (task, g_strdup (username), g_free);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "username");
  json_builder_add_string_value (builder, username);
  json_builder_set_member_name (builder, "password");
  json_builder_add_string_value (builder, password);
  json_builder_end_object (builder);
  body = json_builder_get_root (builder);
  json = lk_json_to_string (body);

  message = new_message (self, SOUP_METHOD_POST, LK_API_PREFIX "/auth/login", &error);
  if (message == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      g_object_unref (task);
      return;
    }
  {
    gsize len = strlen (json);

    bytes = g_bytes_new_take (g_steal_pointer (&json), len);
  }
  soup_message_set_request_body_from_bytes (message, "application/json", bytes);

  send_message (self, message, TRUE, lk_api_client_request_async, cancellable, on_login_cb, task);
}

gboolean
lk_api_client_login_finish (LkApiClient   *self,
                            GAsyncResult  *result,
                            GError       **error)
{
  g_return_val_if_fail (LK_IS_API_CLIENT (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == lk_api_client_login_async, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

void
lk_api_client_request_async (LkApiClient         *self,
                             const char          *method,
                             const char          *path_and_query,
                             JsonNode            *body,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  g_autoptr(SoupMessage) message = NULL;
  g_autoptr(GError) error = NULL;

  g_return_if_fail (LK_IS_API_CLIENT (self));
  g_return_if_fail (method != NULL);
  g_return_if_fail (path_and_query != NULL && path_and_query[0] == '/');

  message = new_message (self, method, path_and_query, &error);
  if (message == NULL)
    {
      g_task_report_error (self, callback, user_data, lk_api_client_request_async,
                           g_steal_pointer (&error));
      return;
    }
  if (body != NULL)
    {
      char *json = lk_json_to_string (body);
      g_autoptr(GBytes) bytes = g_bytes_new_take (json, strlen (json));

      soup_message_set_request_body_from_bytes (message, "application/json", bytes);
    }

  send_message (self, message, FALSE, lk_api_client_request_async, cancellable, callback, user_data);
}

JsonNode *
lk_api_client_request_finish (LkApiClient   *self,
                              GAsyncResult  *result,
                              guint         *status,
                              GError       **error)
{
  return call_finish (self, result, lk_api_client_request_async, status, error);
}

void
lk_api_client_post_bytes_async (LkApiClient         *self,
                                const char          *path,
                                const char          *content_type,
                                GBytes              *body,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_autoptr(SoupMessage) message = NULL;
  g_autoptr(GError) error = NULL;

  g_return_if_fail (LK_IS_API_CLIENT (self));
  g_return_if_fail (path != NULL && path[0] == '/');
  g_return_if_fail (content_type != NULL);
  g_return_if_fail (body != NULL);

  message = new_message (self, SOUP_METHOD_POST, path, &error);
  if (message == NULL)
    {
      g_task_report_error (self, callback, user_data, lk_api_client_post_bytes_async,
                           g_steal_pointer (&error));
      return;
    }
  soup_message_set_request_body_from_bytes (message, content_type, body);

  send_message (self, message, FALSE, lk_api_client_post_bytes_async, cancellable, callback,
                user_data);
}

JsonNode *
lk_api_client_post_bytes_finish (LkApiClient   *self,
                                 GAsyncResult  *result,
                                 guint         *status,
                                 GError       **error)
{
  return call_finish (self, result, lk_api_client_post_bytes_async, status, error);
}

static void
on_websocket_connect_cb (GObject      *source,
                         GAsyncResult *result,
                         gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  SoupMessage *message = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  SoupWebsocketConnection *connection;

  connection = soup_session_websocket_connect_finish (SOUP_SESSION (source), result, &error);
  if (connection != NULL)
    {
      g_task_return_pointer (task, connection, g_object_unref);
      return;
    }

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_task_return_error (task, g_steal_pointer (&error));
  else if (soup_message_get_status (message) == SOUP_STATUS_UNAUTHORIZED)
    g_task_return_new_error (task, LK_API_ERROR, LK_API_ERROR_UNAUTHORIZED,
                             _("The server refused the event connection: log in again"));
  else
    g_task_return_new_error (task, LK_API_ERROR, LK_API_ERROR_TRANSPORT,
                             _("Cannot open the event connection: %s"), error->message);
}

void
lk_api_client_connect_events_async (LkApiClient         *self,
                                    GCancellable        *cancellable,
                                    GAsyncReadyCallback  callback,
                                    gpointer             user_data)
{
  g_autoptr(SoupMessage) message = NULL;
  g_autoptr(GError) error = NULL;
  GTask *task;

  g_return_if_fail (LK_IS_API_CLIENT (self));

  message = new_message (self, SOUP_METHOD_GET, LK_ADMIN_EVENTS_PATH, &error);
  if (message == NULL)
    {
      g_task_report_error (self, callback, user_data, lk_api_client_connect_events_async,
                           g_steal_pointer (&error));
      return;
    }
  if (self->token != NULL)
    {
      g_autofree char *auth = g_strconcat ("Bearer ", self->token, NULL);

      soup_message_headers_replace (soup_message_get_request_headers (message),
                                    "Authorization", auth);
    }

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, lk_api_client_connect_events_async);
  g_task_set_task_data (task, g_object_ref (message), g_object_unref);
  soup_session_websocket_connect_async (self->session, message, NULL, NULL, G_PRIORITY_DEFAULT,
                                        cancellable, on_websocket_connect_cb, task);
}

SoupWebsocketConnection *
lk_api_client_connect_events_finish (LkApiClient   *self,
                                     GAsyncResult  *result,
                                     GError       **error)
{
  g_return_val_if_fail (LK_IS_API_CLIENT (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) ==
                        lk_api_client_connect_events_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}
