/* lk-protocol.c: messages of the kiosk WebSocket and the event sockets
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "lk-error.h"
#include "lk-json-guard.h"
#include "lk-protocol.h"

static const char * const fail_reason_names[LK_N_FAIL_REASONS] = {
  [LK_FAIL_JAM] = "jam",
  [LK_FAIL_EMPTY] = "empty",
  [LK_FAIL_READ_FAILED] = "read_failed",
  [LK_FAIL_WRITE_FAILED] = "write_failed",
  [LK_FAIL_NOT_TAKEN] = "not_taken",
  [LK_FAIL_DISPENSER_SILENT] = "dispenser_silent",
  [LK_FAIL_CANCELLED] = "cancelled",
};

const char *
lk_fail_reason_to_string (LkFailReason reason)
{
  g_return_val_if_fail ((guint) reason < LK_N_FAIL_REASONS, NULL);

  return fail_reason_names[reason];
}

gboolean
lk_fail_reason_from_string (const char   *str,
                            LkFailReason *reason)
{
  if (str == NULL)
    return FALSE;

  for (guint i = 0; i < LK_N_FAIL_REASONS; i++)
    {
      if (g_str_equal (str, fail_reason_names[i]))
        {
          if (reason != NULL)
            *reason = (LkFailReason) i;
          return TRUE;
        }
    }

  return FALSE;
}

JsonBuilder *
lk_message_begin (const char *type)
{
  JsonBuilder *builder;

  g_return_val_if_fail (type != NULL, NULL);

  builder = json_builder_new ();
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "type");
  json_builder_add_string_value (builder, type);

  return builder;
}

char *
lk_message_finish (JsonBuilder *builder)
{
  g_autoptr(JsonNode) root = NULL;

  g_return_val_if_fail (JSON_IS_BUILDER (builder), NULL);

  json_builder_end_object (builder);
  /* json_builder_get_root () returns a new reference (MEASURED.md, pitfall 8). */
  root = json_builder_get_root (builder);
  g_return_val_if_fail (root != NULL, NULL);

  return lk_json_to_string (root);
}

JsonObject *
lk_message_parse (const char  *data,
                  gsize        len,
                  const char **type,
                  GError     **error)
{
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(GError) local_error = NULL;
  JsonNode *root;
  JsonObject *object;
  JsonNode *type_node;

  g_return_val_if_fail (data != NULL || len == 0, NULL);

  if (type != NULL)
    *type = NULL;

  if (len > G_MAXSSIZE || !g_utf8_validate_len (data, len, NULL))
    {
      g_set_error_literal (error, LK_ERROR, LK_ERROR_INVALID_JSON,
                           _("The message is not valid UTF-8 text"));
      return NULL;
    }

  /* json-glib recurses per nesting level: bound it before parsing untrusted text */
  if (!lk_json_depth_ok (data, len, LK_JSON_MAX_DEPTH))
    {
      g_set_error_literal (error, LK_ERROR, LK_ERROR_INVALID_JSON,
                           _("The message is nested too deeply"));
      return NULL;
    }

  parser = json_parser_new_immutable ();
  if (!json_parser_load_from_data (parser, data, (gssize) len, &local_error))
    {
      g_set_error (error, LK_ERROR, LK_ERROR_INVALID_JSON,
                   _("The message is not valid JSON: %s"), local_error->message);
      return NULL;
    }

  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error_literal (error, LK_ERROR, LK_ERROR_INVALID_JSON,
                           _("The message is not a JSON object"));
      return NULL;
    }

  object = json_node_get_object (root);
  type_node = json_object_get_member (object, "type");
  if (type_node == NULL ||
      !JSON_NODE_HOLDS_VALUE (type_node) ||
      json_node_get_value_type (type_node) != G_TYPE_STRING)
    {
      g_set_error_literal (error, LK_ERROR, LK_ERROR_INVALID_JSON,
                           _("The message has no \"type\""));
      return NULL;
    }

  /* The string belongs to the object, which outlives the parser through this reference. */
  if (type != NULL)
    *type = json_node_get_string (type_node);

  return json_object_ref (object);
}

char *
lk_json_to_string (JsonNode *node)
{
  g_return_val_if_fail (node != NULL, NULL);

  return json_to_string (node, FALSE);
}
