/* lk-routes.c: the route table, body limits, the web page and the JSON 404
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "lingka-server"

#include "config.h"

#include <gio/gio.h>
#include <glib/gi18n.h>

#include "lk-server-config.h"
#include "lk-http.h"
#include "lk-log.h"
#include "lk-routes.h"

#ifdef LK_HAVE_WEB
#include "lingka-web-resources.h"
#endif
#ifdef LK_HAVE_KIOSK_WS
#include "lk-kiosk-ws.h"
#endif
#ifdef LK_HAVE_EVENTS_WS
#include "lk-events-ws.h"
#endif
#ifdef LK_HAVE_API_KIOSKS
#include "lk-api-kiosks.h"
#endif

#define WEB_RESOURCE_PREFIX "/cn/lingka/web"

typedef struct
{
  LkServer    *server;
  LkRouteFunc  func;
  gsize        max_body_bytes;
} Route;

typedef struct
{
  gsize limit;
  gsize received;
} BodyGuard;

/* The error shape, as text. */
static char *
error_text (const char *code,
            const char *message)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) node = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "error");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "code");
  json_builder_add_string_value (builder, code);
  json_builder_set_member_name (builder, "message");
  json_builder_add_string_value (builder, message);
  json_builder_end_object (builder);
  json_builder_end_object (builder);
  node = json_builder_get_root (builder);
  return json_to_string (node, FALSE);
}

/* libsoup reads a request's whole body before any handler runs, and skips it only after an
 * "Expect: 100-continue". So a body that must not be read (too large, or of a negative length,
 * on which libsoup itself stumbles) is refused here, while it arrives: the connection is taken
 * over, answered with @status and the error shape, and closed, and the rest is never read. */
static void
refuse_body (SoupServerMessage *msg,
             guint              status,
             const char        *code,
             const char        *message)
{
  g_autoptr(GIOStream) stream = NULL;
  g_autofree char *body = error_text (code, message);
  g_autofree char *response = NULL;

  response = g_strdup_printf ("HTTP/1.1 %u %s\r\n"
                              "Content-Type: application/json; charset=utf-8\r\n"
                              "Content-Length: %zu\r\n"
                              "Connection: close\r\n"
                              "\r\n%s", status, soup_status_get_phrase (status), strlen (body), body);

  lk_log_event (G_LOG_LEVEL_MESSAGE, "Refused a request body",
                "LK_HTTP_PATH", g_uri_get_path (soup_server_message_get_uri (msg)),
                "LK_ERROR", code,
                "LK_CLIENT", lk_http_client_address (msg), NULL);
  stream = soup_server_message_steal_connection (msg);
  if (stream == NULL)
    return;
  /* A short answer into an empty send buffer: it does not block. */
  g_output_stream_write_all (g_io_stream_get_output_stream (stream), response, strlen (response),
                             NULL, NULL, NULL);
  g_io_stream_close (stream, NULL, NULL);
}

static void
refuse_too_large (SoupServerMessage *msg)
{
  refuse_body (msg, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, "payload_too_large", _("The body is too large"));
}

static void
body_guard_free (gpointer  data,
                 GClosure *closure)
{
  g_free (data);
}

static void
on_body_chunk_cb (SoupServerMessage *msg,
                  GBytes            *chunk,
                  gpointer           user_data)
{
  BodyGuard *guard = user_data;

  guard->received += g_bytes_get_size (chunk);
  if (guard->received > guard->limit)
    {
      g_signal_handlers_disconnect_by_data (msg, guard);
      refuse_too_large (msg);
    }
}

static void
early_cb (SoupServer        *soup,
          SoupServerMessage *msg,
          const char        *path,
          GHashTable        *query,
          gpointer           user_data)
{
  Route *route = user_data;
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  SoupEncoding encoding = soup_message_headers_get_encoding (headers);
  BodyGuard *guard;

  if (encoding == SOUP_ENCODING_CONTENT_LENGTH && soup_message_headers_get_content_length (headers) < 0)
    {
      refuse_body (msg, SOUP_STATUS_BAD_REQUEST, "bad_request", _("The request could not be read"));
      return;
    }
  if (encoding == SOUP_ENCODING_CONTENT_LENGTH
      && soup_message_headers_get_content_length (headers) > (goffset) route->max_body_bytes)
    {
      /* A client that waits for "100 Continue" gets the answer instead, and libsoup never
       * reads the body; any other is cut off. */
      if (soup_message_headers_get_expectations (headers) & SOUP_EXPECTATION_CONTINUE)
        lk_http_reply_error (msg, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, "payload_too_large",
                             _("The body is too large"), NULL);
      else
        refuse_too_large (msg);
      return;
    }
  if (encoding != SOUP_ENCODING_CHUNKED && encoding != SOUP_ENCODING_EOF)
    return;
  guard = g_new0 (BodyGuard, 1);
  guard->limit = route->max_body_bytes;
  g_signal_connect_data (msg, "got-chunk", G_CALLBACK (on_body_chunk_cb), guard, body_guard_free, 0);
}

static void
route_cb (SoupServer        *soup,
          SoupServerMessage *msg,
          const char        *path,
          GHashTable        *query,
          gpointer           user_data)
{
  Route *route = user_data;

  route->func (route->server, msg, path, query);
}

void
lk_routes_add (LkServer    *server,
               SoupServer  *soup,
               const char  *path,
               gsize        max_body_bytes,
               LkRouteFunc  func)
{
  Route *route = g_new0 (Route, 1);

  route->server = server;
  route->func = func;
  route->max_body_bytes = max_body_bytes;
  soup_server_add_early_handler (soup, path, early_cb, route, NULL);
  soup_server_add_handler (soup, path, route_cb, route, g_free);
}

static const char *
content_type_for (const char *path)
{
  if (g_str_has_suffix (path, ".html"))
    return "text/html; charset=utf-8";
  if (g_str_has_suffix (path, ".js"))
    return "text/javascript; charset=utf-8";
  if (g_str_has_suffix (path, ".css"))
    return "text/css; charset=utf-8";
  if (g_str_has_suffix (path, ".svg"))
    return "image/svg+xml";
  if (g_str_has_suffix (path, ".png"))
    return "image/png";
  if (g_str_has_suffix (path, ".json"))
    return "application/json";
  return "application/octet-stream";
}

/* The parents' web page from the GResource, and the JSON 404 for everything else. */
static void
fallback_cb (LkServer          *server,
             SoupServerMessage *msg,
             const char        *path,
             GHashTable        *query)
{
  const char *method = soup_server_message_get_method (msg);
  g_autofree char *resource = NULL;
  g_autoptr(GBytes) bytes = NULL;

  if (!g_str_has_prefix (path, "/api/")
      && (g_str_equal (method, "GET") || g_str_equal (method, "HEAD"))
      && strstr (path, "..") == NULL)
    {
      resource = g_strconcat (WEB_RESOURCE_PREFIX, g_str_equal (path, "/") ? "/index.html" : path, NULL);
#ifdef LK_HAVE_WEB
      bytes = g_resource_lookup_data (lk_web_get_resource (), resource, 0, NULL);
#endif
    }
  if (bytes != NULL)
    {
      SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);

      soup_message_headers_replace (headers, "X-Content-Type-Options", "nosniff");
      soup_message_headers_replace (headers, "Cache-Control", "no-cache");
      soup_message_headers_replace (headers, "Content-Security-Policy",
                                    "default-src 'self'; frame-ancestors 'none'");
      soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
      soup_server_message_set_response (msg, content_type_for (resource), SOUP_MEMORY_COPY,
                                        g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
      return;
    }
  lk_http_reply_error (msg, SOUP_STATUS_NOT_FOUND, "not_found", _("There is nothing here"), NULL);
}

/* libsoup answers a request it cannot parse (a malformed request line or header, a transfer
 * encoding it does not know) by itself, before any handler, and with an empty body. So every
 * message starts out with the error shape as its response body (DESIGN.md: one error shape for
 * every 4xx and 5xx), and drops it as soon as it has been read whole (SoupServer::request-read),
 * before any handler runs, unless an early handler has already answered it (a body over the
 * limit). Nothing is known of the client yet, so the message is in the server's language. */
static const char *
unreadable_request_body (void)
{
  static char *body;

  if (g_once_init_enter (&body))
    g_once_init_leave (&body, error_text ("bad_request", _("The request could not be read")));
  return body;
}

static void
on_request_started_cb (SoupServer        *soup,
                       SoupServerMessage *msg,
                       gpointer           user_data)
{
  const char *body = unreadable_request_body ();

  soup_server_message_set_response (msg, "application/json; charset=utf-8", SOUP_MEMORY_STATIC,
                                    body, strlen (body));
}

static void
on_request_read_cb (SoupServer        *soup,
                    SoupServerMessage *msg,
                    gpointer           user_data)
{
  if (soup_server_message_get_status (msg) == 0)
    soup_server_message_set_response (msg, NULL, SOUP_MEMORY_STATIC, NULL, 0);
}

void
lk_routes_register (LkServer   *server,
                    SoupServer *soup)
{
  /* First, so that the body is dropped before any other request-read handler answers. */
  g_signal_connect (soup, "request-started", G_CALLBACK (on_request_started_cb), NULL);
  g_signal_connect (soup, "request-read", G_CALLBACK (on_request_read_cb), NULL);

  lk_routes_add (server, soup, NULL, LK_JSON_MAX_BYTES, fallback_cb);

  lk_api_auth_register (server, soup);
  lk_api_imports_register (server, soup);
  lk_api_directory_register (server, soup);
  lk_api_students_register (server, soup);
  lk_api_applications_register (server, soup);
  lk_api_stats_register (server, soup);

#ifdef LK_HAVE_KIOSK_WS
  lk_kiosk_ws_register (server, soup);
#endif
#ifdef LK_HAVE_EVENTS_WS
  lk_events_ws_register (server, soup);
#endif
#ifdef LK_HAVE_API_KIOSKS
  lk_api_kiosks_register (server, soup);
#endif
}
