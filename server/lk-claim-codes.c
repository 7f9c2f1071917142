/* lk-claim-codes.c: deriving, looking up and announcing claim codes
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "lingka-server"

#include "config.h"

#include "lingka-common.h"
#include "lk-claim-codes.h"

char *
lk_claim_code_lookup (LkServer   *server,
                      const char *code)
{
  g_autoptr(GHmac) hmac = NULL;
  const guint8 *key;
  gsize key_len;

  key = lk_server_get_key (server, &key_len);
  hmac = g_hmac_new (G_CHECKSUM_SHA256, key, key_len);
  g_hmac_update (hmac, (const guchar *) "lingka-claim-lookup", -1);
  g_hmac_update (hmac, (const guchar *) code, -1);
  return g_strdup (g_hmac_get_string (hmac));
}

static char *
derive (LkServer            *server,
        LkApplicationRecord *application,
        guint                attempt)
{
  const guint8 *key;
  gsize key_len;

  key = lk_server_get_key (server, &key_len);
  return lk_claim_code_derive (key, key_len, application->student_no, application->created_at,
                               (guint) application->day_seq, attempt);
}

char *
lk_claim_code_recompute (LkServer            *server,
                         LkApplicationRecord *application)
{
  g_return_val_if_fail (application->code_attempt >= 0, NULL);
  return derive (server, application, (guint) application->code_attempt);
}

gboolean
lk_claim_code_make (LkApplicationRecord  *application,
                    guint                 attempt,
                    char                **lookup,
                    char                **kiosk_digest,
                    gpointer              user_data,
                    GError              **error)
{
  LkServer *server = user_data;
  g_autofree char *code = derive (server, application, attempt);
  LkDigestParams params;

  if (code == NULL || !lk_claim_code_is_valid (code))
    {
      g_set_error (error, LK_ERROR, LK_ERROR_CRYPTO, "Cannot derive a claim code");
      return FALSE;
    }
  if (!lk_store_school_digest (lk_server_get_store (server), application->school_id, &params, error))
    return FALSE;
  *lookup = lk_claim_code_lookup (server, code);
  *kiosk_digest = lk_claim_code_digest (&params, code);
  memset (code, 0, strlen (code));
  if (*kiosk_digest == NULL)
    {
      g_clear_pointer (lookup, g_free);
      g_set_error (error, LK_ERROR, LK_ERROR_CRYPTO, "Cannot digest a claim code");
      return FALSE;
    }
  return TRUE;
}

JsonNode *
lk_claim_code_item_json (gint64      code_id,
                         const char *digest,
                         const char *masked_name,
                         const char *klass)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "code_id");
  json_builder_add_int_value (builder, code_id);
  json_builder_set_member_name (builder, "digest");
  json_builder_add_string_value (builder, digest);
  json_builder_set_member_name (builder, "student");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "name");
  json_builder_add_string_value (builder, masked_name);
  json_builder_set_member_name (builder, "class");
  json_builder_add_string_value (builder, klass);
  json_builder_end_object (builder);
  json_builder_end_object (builder);
  return json_builder_get_root (builder);
}
