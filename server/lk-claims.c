/* lk-claims.c: the claim lifecycle behind the kiosk WebSocket
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "lingka-claims"

#include "config.h"

#include "lingka-common.h"
#include "lk-claim-codes.h"
#include "lk-claims.h"

struct _LkClaims
{
  GObject      parent_instance;

  LkServer    *server;          /* not owned: the claims live as long as the server */
  LkRateLimit *kiosk_limit;
  LkRateLimit *address_limit;

  GMutex       lock;
  GHashTable  *online;          /* SN → number of open connections */
};

G_DEFINE_FINAL_TYPE (LkClaims, lk_claims, G_TYPE_OBJECT)

G_LOCK_DEFINE_STATIC (claims_get);

static gint64
now_seconds (void)
{
  return g_get_real_time () / G_USEC_PER_SEC;
}

static char *
simple_answer (const char *type,
               const char *msg_id,
               const char *code)
{
  g_autoptr(JsonBuilder) builder = lk_message_begin (type);

  json_builder_set_member_name (builder, "re");
  json_builder_add_string_value (builder, msg_id);
  if (code != NULL)
    {
      json_builder_set_member_name (builder, "code");
      json_builder_add_string_value (builder, code);
    }
  return lk_message_finish (builder);
}

static char *
rejected_answer (const char *msg_id,
                 const char *reason)
{
  g_autoptr(JsonBuilder) builder = lk_message_begin (LK_MSG_CLAIM_REJECTED);

  json_builder_set_member_name (builder, "re");
  json_builder_add_string_value (builder, msg_id);
  json_builder_set_member_name (builder, "reason");
  json_builder_add_string_value (builder, reason);
  return lk_message_finish (builder);
}

/* LkClaimReplyFunc for claim.request; @user_data is the message id. */
static char *
make_request_reply (const LkClaimResult *result,
                    gpointer             user_data)
{
  const char *msg_id = user_data;
  g_autoptr(JsonBuilder) builder = NULL;
  g_autofree char *issue_date = NULL;

  switch (result->outcome)
    {
    case LK_CLAIM_AUTHORIZED:
      break;
    case LK_CLAIM_ALREADY_ISSUED:
      return rejected_answer (msg_id, LK_REJECT_ALREADY_ISSUED);
    case LK_CLAIM_REVOKED:
      return rejected_answer (msg_id, LK_REJECT_REVOKED);
    case LK_CLAIM_INVALID:
    case LK_CLAIM_ACKED:
    case LK_CLAIM_UNKNOWN_CLAIM:
    case LK_CLAIM_NOT_RESERVED:
    default:
      return rejected_answer (msg_id, LK_REJECT_INVALID);
    }

  issue_date = lk_claims_issue_date (result->authorized_at);
  builder = lk_message_begin (LK_MSG_CLAIM_AUTHORIZED);
  json_builder_set_member_name (builder, "re");
  json_builder_add_string_value (builder, msg_id);
  json_builder_set_member_name (builder, "claim_id");
  json_builder_add_int_value (builder, result->claim_id);
  json_builder_set_member_name (builder, "card_data");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "school_id");
  json_builder_add_int_value (builder, result->school_id);
  json_builder_set_member_name (builder, "student_no");
  json_builder_add_string_value (builder, result->student_no);
  json_builder_set_member_name (builder, "name");
  json_builder_add_string_value (builder, result->student_name);
  json_builder_set_member_name (builder, "class");
  json_builder_add_string_value (builder, result->klass);
  json_builder_set_member_name (builder, "issue_date");
  json_builder_add_string_value (builder, issue_date);
  json_builder_set_member_name (builder, "issue_seq");
  json_builder_add_int_value (builder, result->claim_id);
  json_builder_end_object (builder);
  return lk_message_finish (builder);
}

/* LkClaimReplyFunc for claim.completed and claim.failed. */
static char *
make_report_reply (const LkClaimResult *result,
                   gpointer             user_data)
{
  const char *msg_id = user_data;

  switch (result->outcome)
    {
    case LK_CLAIM_ACKED:
      return simple_answer (LK_MSG_ACK, msg_id, NULL);
    case LK_CLAIM_NOT_RESERVED:
      return simple_answer (LK_MSG_ERROR, msg_id, "claim_not_reserved");
    case LK_CLAIM_UNKNOWN_CLAIM:
    case LK_CLAIM_AUTHORIZED:
    case LK_CLAIM_ALREADY_ISSUED:
    case LK_CLAIM_REVOKED:
    case LK_CLAIM_INVALID:
    default:
      return simple_answer (LK_MSG_ERROR, msg_id, "unknown_claim");
    }
}

static void
publish_code_removed (LkClaims *self,
                      gint64    school_id,
                      gint64    code_id)
{
  g_autoptr(JsonBuilder) builder = lk_message_begin (LK_MSG_CODE_REMOVED);
  g_autofree char *json = NULL;

  json_builder_set_member_name (builder, "code_id");
  json_builder_add_int_value (builder, code_id);
  json = lk_message_finish (builder);
  lk_hub_publish_to_kiosks (lk_server_get_hub (self->server), school_id, json);
}

static void
publish_code_added (LkClaims *self,
                    gint64    school_id,
                    gint64    code_id)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonBuilder) builder = NULL;
  g_autofree char *json = NULL;
  JsonNode *item;

  item = lk_store_code_item (lk_server_get_store (self->server), code_id, &error);
  if (item == NULL)
    {
      g_message ("Code %" G_GINT64_FORMAT " reopened but not pushed: %s", code_id, error->message);
      return;
    }
  builder = lk_message_begin (LK_MSG_CODE_ADDED);
  json_builder_set_member_name (builder, "code");
  json_builder_add_value (builder, item);
  json = lk_message_finish (builder);
  lk_hub_publish_to_kiosks (lk_server_get_hub (self->server), school_id, json);
}

static void
publish_kiosk_event (LkClaims            *self,
                     const char          *type,
                     const LkKioskRecord *kiosk,
                     const char          *stock,
                     JsonArray           *faults)
{
  g_autoptr(JsonBuilder) builder = lk_message_begin (type);
  g_autofree char *json = NULL;

  json_builder_set_member_name (builder, "at");
  json_builder_add_int_value (builder, now_seconds ());
  json_builder_set_member_name (builder, "sn");
  json_builder_add_string_value (builder, kiosk->sn);
  json_builder_set_member_name (builder, "school_id");
  json_builder_add_int_value (builder, kiosk->school_id);
  if (stock != NULL)
    {
      json_builder_set_member_name (builder, "stock");
      json_builder_add_string_value (builder, stock);
      json_builder_set_member_name (builder, "faults");
      json_builder_add_value (builder, json_node_init_array (json_node_alloc (), faults));
    }
  json = lk_message_finish (builder);
  lk_hub_publish_to_staff (lk_server_get_hub (self->server), kiosk->school_id, json);
}

static void
publish_card_issued (LkClaims            *self,
                     const LkKioskRecord *kiosk,
                     const LkClaimResult *result,
                     gint64               now)
{
  g_autoptr(JsonBuilder) builder = NULL;
  g_autofree char *masked = lk_mask_name (result->student_name);
  g_autofree char *staff = NULL;
  g_autofree char *parent = NULL;

  /* To the school's teachers and the operators: masked name, class, kiosk. */
  builder = lk_message_begin (LK_EVENT_CARD_ISSUED);
  json_builder_set_member_name (builder, "at");
  json_builder_add_int_value (builder, now);
  json_builder_set_member_name (builder, "school_id");
  json_builder_add_int_value (builder, result->school_id);
  json_builder_set_member_name (builder, "student_id");
  json_builder_add_int_value (builder, result->student_id);
  json_builder_set_member_name (builder, "student");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "name");
  json_builder_add_string_value (builder, masked);
  json_builder_set_member_name (builder, "class");
  json_builder_add_string_value (builder, result->klass);
  json_builder_end_object (builder);
  json_builder_set_member_name (builder, "kiosk_sn");
  json_builder_add_string_value (builder, kiosk->sn);
  json_builder_set_member_name (builder, "claim_id");
  json_builder_add_int_value (builder, result->claim_id);
  staff = lk_message_finish (builder);
  lk_hub_publish_to_staff (lk_server_get_hub (self->server), result->school_id, staff);
  g_clear_object (&builder);

  /* To the parent: the application's new status. */
  builder = lk_message_begin (LK_EVENT_STATUS_CHANGED);
  json_builder_set_member_name (builder, "at");
  json_builder_add_int_value (builder, now);
  json_builder_set_member_name (builder, "id");
  json_builder_add_string_value (builder, result->application_id);
  json_builder_set_member_name (builder, "status");
  json_builder_add_string_value (builder, LK_APP_ISSUED);
  json_builder_set_member_name (builder, "card_no");
  json_builder_add_string_value (builder, result->card_no);
  json_builder_set_member_name (builder, "issued_at");
  json_builder_add_int_value (builder, now);
  json_builder_set_member_name (builder, "kiosk_sn");
  json_builder_add_string_value (builder, kiosk->sn);
  parent = lk_message_finish (builder);
  lk_hub_publish_to_application (lk_server_get_hub (self->server), result->application_id, parent);
}

static void
lk_claims_finalize (GObject *object)
{
  LkClaims *self = (LkClaims *) object;

  g_clear_pointer (&self->kiosk_limit, lk_rate_limit_unref);
  g_clear_pointer (&self->address_limit, lk_rate_limit_unref);
  g_clear_pointer (&self->online, g_hash_table_unref);
  g_mutex_clear (&self->lock);

  G_OBJECT_CLASS (lk_claims_parent_class)->finalize (object);
}

static void
lk_claims_class_init (LkClaimsClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = lk_claims_finalize;
}

static void
lk_claims_init (LkClaims *self)
{
  g_mutex_init (&self->lock);
  self->online = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->kiosk_limit = lk_rate_limit_new (LK_CLAIMS_KIOSK_BURST, LK_CLAIMS_KIOSK_REFILL_S);
  self->address_limit = lk_rate_limit_new (LK_CLAIMS_ADDRESS_BURST, LK_CLAIMS_ADDRESS_REFILL_S);
}

LkClaims *
lk_claims_get (LkServer *server)
{
  static GQuark quark;
  LkClaims *self;

  g_return_val_if_fail (LK_IS_SERVER (server), NULL);

  G_LOCK (claims_get);
  if (quark == 0)
    quark = g_quark_from_static_string ("lk-claims");
  self = g_object_get_qdata (G_OBJECT (server), quark);
  if (self == NULL)
    {
      self = g_object_new (LK_TYPE_CLAIMS, NULL);
      self->server = server;
      g_object_set_qdata_full (G_OBJECT (server), quark, self, g_object_unref);
    }
  G_UNLOCK (claims_get);

  return self;
}

void
lk_claims_kiosk_connected (LkClaims            *self,
                           const LkKioskRecord *kiosk)
{
  guint count;
  g_autoptr(GError) error = NULL;

  g_mutex_lock (&self->lock);
  count = GPOINTER_TO_UINT (g_hash_table_lookup (self->online, kiosk->sn)) + 1;
  g_hash_table_insert (self->online, g_strdup (kiosk->sn), GUINT_TO_POINTER (count));
  g_mutex_unlock (&self->lock);

  if (!lk_store_kiosk_touch (lk_server_get_store (self->server), kiosk->id, now_seconds (), &error))
    g_message ("Kiosk %s: last seen not stored: %s", kiosk->sn, error->message);

  g_info ("Kiosk %s connected (%u connection%s)", kiosk->sn, count, count == 1 ? "" : "s");
  if (count == 1)
    publish_kiosk_event (self, LK_EVENT_KIOSK_ONLINE, kiosk, NULL, NULL);
}

void
lk_claims_kiosk_disconnected (LkClaims            *self,
                              const LkKioskRecord *kiosk)
{
  guint count;
  g_autoptr(GError) error = NULL;

  g_mutex_lock (&self->lock);
  count = GPOINTER_TO_UINT (g_hash_table_lookup (self->online, kiosk->sn));
  if (count <= 1)
    g_hash_table_remove (self->online, kiosk->sn);
  else
    g_hash_table_insert (self->online, g_strdup (kiosk->sn), GUINT_TO_POINTER (count - 1));
  g_mutex_unlock (&self->lock);

  if (!lk_store_kiosk_touch (lk_server_get_store (self->server), kiosk->id, now_seconds (), &error))
    g_message ("Kiosk %s: last seen not stored: %s", kiosk->sn, error->message);

  g_info ("Kiosk %s disconnected", kiosk->sn);
  if (count <= 1)
    publish_kiosk_event (self, LK_EVENT_KIOSK_OFFLINE, kiosk, NULL, NULL);
}

gboolean
lk_claims_kiosk_is_online (LkClaims   *self,
                           const char *sn)
{
  gboolean online;

  g_mutex_lock (&self->lock);
  online = g_hash_table_contains (self->online, sn);
  g_mutex_unlock (&self->lock);
  return online;
}

char *
lk_claims_snapshot (LkClaims  *self,
                    gint64     school_id,
                    GError   **error)
{
  LkStore *store = lk_server_get_store (self->server);
  LkDigestParams params;
  g_autofree char *salt = NULL;
  g_autoptr(JsonBuilder) builder = NULL;
  JsonNode *codes;

  if (!lk_store_school_digest (store, school_id, &params, error))
    return NULL;
  codes = lk_store_codes_open (store, school_id, error);
  if (codes == NULL)
    return NULL;

  salt = lk_digest_params_salt_hex (&params);
  builder = lk_message_begin (LK_MSG_CODES_SNAPSHOT);
  json_builder_set_member_name (builder, "school_id");
  json_builder_add_int_value (builder, school_id);
  json_builder_set_member_name (builder, "digest");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "alg");
  json_builder_add_string_value (builder, lk_digest_alg_to_string (params.alg));
  json_builder_set_member_name (builder, "salt");
  json_builder_add_string_value (builder, salt);
  json_builder_set_member_name (builder, "iterations");
  json_builder_add_int_value (builder, params.iterations);
  json_builder_end_object (builder);
  json_builder_set_member_name (builder, "codes");
  json_builder_add_value (builder, codes);
  return lk_message_finish (builder);
}

char *
lk_claims_request (LkClaims            *self,
                   const LkKioskRecord *kiosk,
                   const char          *address,
                   const char          *msg_id,
                   const char          *code,
                   GError             **error)
{
  LkStore *store = lk_server_get_store (self->server);
  g_autofree char *address_key = g_strdup_printf ("addr:%s", address);
  g_autofree char *lookup = NULL;
  g_autofree char *reply = NULL;
  LkClaimResult result = { 0 };
  GError *local_error = NULL;

  if (!lk_rate_limit_check (self->kiosk_limit, kiosk->sn)
      || !lk_rate_limit_check (self->address_limit, address_key))
    {
      /* A resent id still gets its stored answer; only new tries wait. (The reservation
       * below looks for a stored answer itself, inside its transaction.) */
      reply = lk_store_kiosk_reply (store, kiosk->id, msg_id, &local_error);
      if (local_error != NULL)
        {
          g_propagate_error (error, local_error);
          return NULL;
        }
      if (reply != NULL)
        return g_steal_pointer (&reply);
      g_message ("Claim refused at kiosk %s from %s: too many wrong codes", kiosk->sn, address);
      return rejected_answer (msg_id, LK_REJECT_RATE_LIMITED);
    }

  /* The kiosk checks the digit itself; a wrong one here is a wrong try all the same. The code
   * itself is never logged. */
  if (!lk_claim_code_is_valid (code))
    {
      lk_rate_limit_take (self->kiosk_limit, kiosk->sn);
      lk_rate_limit_take (self->address_limit, address_key);
      g_message ("Wrong claim code at kiosk %s from %s: not a valid code", kiosk->sn, address);
      return rejected_answer (msg_id, LK_REJECT_INVALID);
    }

  lookup = lk_claim_code_lookup (self->server, code);
  if (!lk_store_claim_reserve (store, kiosk->id, msg_id, lookup, now_seconds (),
                               make_request_reply, (gpointer) msg_id, &result, &reply, error))
    {
      lk_claim_result_clear (&result);
      return NULL;
    }

  if (!result.replayed)
    {
      switch (result.outcome)
        {
        case LK_CLAIM_AUTHORIZED:
          /* The claims table is the record; the log line is for tracing. */
          g_info ("Claim %" G_GINT64_FORMAT " authorized to kiosk %s", result.claim_id, kiosk->sn);
          publish_code_removed (self, result.school_id, result.code_id);
          break;
        case LK_CLAIM_INVALID:
          lk_rate_limit_take (self->kiosk_limit, kiosk->sn);
          lk_rate_limit_take (self->address_limit, address_key);
          g_message ("Wrong claim code at kiosk %s from %s: no such code", kiosk->sn, address);
          break;
        case LK_CLAIM_ALREADY_ISSUED:
          g_message ("Claim refused at kiosk %s: code %" G_GINT64_FORMAT " already issued",
                     kiosk->sn, result.code_id);
          break;
        case LK_CLAIM_REVOKED:
          g_message ("Claim refused at kiosk %s: code %" G_GINT64_FORMAT " revoked",
                     kiosk->sn, result.code_id);
          break;
        case LK_CLAIM_ACKED:
        case LK_CLAIM_UNKNOWN_CLAIM:
        case LK_CLAIM_NOT_RESERVED:
        default:
          break;
        }
    }

  lk_claim_result_clear (&result);
  return g_steal_pointer (&reply);
}

char *
lk_claims_complete (LkClaims            *self,
                    const LkKioskRecord *kiosk,
                    const char          *msg_id,
                    gint64               claim_id,
                    const char          *card_no,
                    const char          *card_data_json,
                    GError             **error)
{
  LkStore *store = lk_server_get_store (self->server);
  LkClaimResult result = { 0 };
  g_autofree char *reply = NULL;
  gint64 now = now_seconds ();

  if (!lk_store_claim_complete (store, kiosk->id, msg_id, claim_id, card_no, card_data_json, now,
                                make_report_reply, (gpointer) msg_id, &result, &reply, error))
    {
      lk_claim_result_clear (&result);
      return NULL;
    }

  if (!result.replayed && result.code_used)
    {
      g_message ("Claim %" G_GINT64_FORMAT " completed at kiosk %s: card bound", claim_id, kiosk->sn);
      publish_code_removed (self, result.school_id, result.code_id);
      publish_card_issued (self, kiosk, &result, now);
      lk_server_kick_sms (self->server);
    }
  else if (!result.replayed && result.outcome != LK_CLAIM_ACKED)
    g_message ("Kiosk %s reported claim %" G_GINT64_FORMAT " completed, which it does not hold",
               kiosk->sn, claim_id);

  lk_claim_result_clear (&result);
  return g_steal_pointer (&reply);
}

char *
lk_claims_fail (LkClaims            *self,
                const LkKioskRecord *kiosk,
                const char          *msg_id,
                gint64               claim_id,
                const char          *reason,
                const char          *card_no,
                GError             **error)
{
  LkStore *store = lk_server_get_store (self->server);
  LkClaimResult result = { 0 };
  g_autofree char *reply = NULL;

  if (!lk_store_claim_fail (store, kiosk->id, msg_id, claim_id, reason, card_no, now_seconds (),
                            make_report_reply, (gpointer) msg_id, &result, &reply, error))
    {
      lk_claim_result_clear (&result);
      return NULL;
    }

  if (!result.replayed && result.code_reopened)
    {
      g_info ("Claim %" G_GINT64_FORMAT " failed at kiosk %s (%s): code open again",
                 claim_id, kiosk->sn, reason);
      publish_code_added (self, result.school_id, result.code_id);
    }

  lk_claim_result_clear (&result);
  return g_steal_pointer (&reply);
}

char *
lk_claims_status (LkClaims            *self,
                  const LkKioskRecord *kiosk,
                  const char          *msg_id,
                  const char          *stock,
                  JsonArray           *faults,
                  GError             **error)
{
  g_autoptr(JsonNode) node = json_node_init_array (json_node_alloc (), faults);
  g_autofree char *faults_json = lk_json_to_string (node);
  gboolean changed = FALSE;

  if (!lk_store_kiosk_set_status (lk_server_get_store (self->server), kiosk->id, stock,
                                  faults_json, now_seconds (), &changed, error))
    return NULL;
  if (changed)
    publish_kiosk_event (self, LK_EVENT_KIOSK_STATUS, kiosk, stock, faults);
  return simple_answer (LK_MSG_ACK, msg_id, NULL);
}

gboolean
lk_claims_release (LkClaims  *self,
                   gint64     claim_id,
                   gint64     user_id,
                   GError   **error)
{
  LkClaimResult result = { 0 };

  if (!lk_store_claim_release (lk_server_get_store (self->server), claim_id, user_id,
                               now_seconds (), &result, error))
    {
      lk_claim_result_clear (&result);
      return FALSE;
    }

  g_message ("Claim %" G_GINT64_FORMAT " (kiosk %s) released by user %" G_GINT64_FORMAT,
             claim_id, result.kiosk_sn, user_id);
  if (result.code_reopened)
    publish_code_added (self, result.school_id, result.code_id);
  lk_claim_result_clear (&result);
  return TRUE;
}

char *
lk_claims_issue_date (gint64 unix_time)
{
  g_autoptr(GDateTime) utc = g_date_time_new_from_unix_utc (unix_time);
  g_autoptr(GTimeZone) cst = g_time_zone_new_offset (8 * 3600);
  g_autoptr(GDateTime) local = g_date_time_to_timezone (utc, cst);

  return g_date_time_format (local, "%Y-%m-%d");
}
