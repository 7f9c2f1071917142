/* lk-admin-json.c: tolerant readers for the JSON the server sends to the admin app
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <stdarg.h>

#include "lk-admin-json.h"

const char *
lk_admin_json_string (JsonObject *object,
                      const char *member)
{
  JsonNode *node;

  if (object == NULL)
    return NULL;
  node = json_object_get_member (object, member);
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

gint64
lk_admin_json_int (JsonObject *object,
                   const char *member,
                   gint64      fallback)
{
  JsonNode *node;
  GType type;

  if (object == NULL)
    return fallback;
  node = json_object_get_member (object, member);
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
    return fallback;
  type = json_node_get_value_type (node);
  if (type == G_TYPE_INT64)
    return json_node_get_int (node);
  if (type == G_TYPE_DOUBLE)
    return (gint64) json_node_get_double (node);
  if (type == G_TYPE_BOOLEAN)
    return json_node_get_boolean (node) ? 1 : 0;
  return fallback;
}

JsonArray *
lk_admin_json_array (JsonObject *object,
                     const char *member)
{
  JsonNode *node;

  if (object == NULL)
    return NULL;
  node = json_object_get_member (object, member);
  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    return NULL;
  return json_node_get_array (node);
}

JsonObject *
lk_admin_json_object (JsonObject *object,
                      const char *member)
{
  JsonNode *node;

  if (object == NULL)
    return NULL;
  node = json_object_get_member (object, member);
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return NULL;
  return json_node_get_object (node);
}

JsonArray *
lk_admin_json_list (JsonNode *node,
                    ...)
{
  JsonArray *result = NULL;
  const char *member;
  va_list args;

  if (node == NULL)
    return NULL;
  if (JSON_NODE_HOLDS_ARRAY (node))
    return json_node_get_array (node);
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return NULL;

  va_start (args, node);
  while (result == NULL && (member = va_arg (args, const char *)) != NULL)
    result = lk_admin_json_array (json_node_get_object (node), member);
  va_end (args);

  return result;
}

char *
lk_admin_format_time (gint64 unix_seconds)
{
  g_autoptr (GDateTime) dt = NULL;

  if (unix_seconds <= 0)
    return g_strdup ("—");
  dt = g_date_time_new_from_unix_local (unix_seconds);
  if (dt == NULL)
    return g_strdup ("—");
  return g_date_time_format (dt, "%Y-%m-%d %H:%M");
}
