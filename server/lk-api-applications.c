/* lk-api-applications.c: steps 2 to 4 for parents: application and verification, payment,
 * the claim code
 *
 * POST /api/v1/applications                      → 201 {id, token, status, fee_fen}
 * GET  /api/v1/applications/{id}                 → {id, status, fee_fen, claim_code, card_no, issued_at}
 * POST /api/v1/applications/{id}/payment         → 201 {order_no, amount_fen, pay_url}
 * POST /api/v1/sandbox/pay/{order_no}            (--sandbox only)
 * POST /api/v1/payments/notify/{wechat|alipay|sandbox}
 *
 * The parent's credential is the application token (Bearer), compared in constant time.
 * A paid notice goes through one path, whoever delivers it, and is applied exactly once.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "lingka-server"

#include "config.h"

#include <glib/gi18n.h>

#include "lingka-common.h"
#include "lk-claim-codes.h"
#include "lk-claims.h"
#include "lk-events-ws.h"
#include "lk-http.h"
#include "lk-log.h"
#include "lk-routes.h"

#define FIELD_MAX_CHARS 64
#define CONSENT_VERSION "2026-09"

static gint64
now_seconds (void)
{
  return g_get_real_time () / G_USEC_PER_SEC;
}

/* The day in China Standard Time (UTC+8 all year). */
static char *
china_day (gint64 unix_time)
{
  g_autoptr(GTimeZone) tz = g_time_zone_new_offset (8 * 3600);
  g_autoptr(GDateTime) utc = g_date_time_new_from_unix_utc (unix_time);
  g_autoptr(GDateTime) local = g_date_time_to_timezone (utc, tz);

  return g_date_time_format (local, "%Y-%m-%d");
}

/* An application id: 12 hex digits of the time in milliseconds, then 80 random bits (32 hex
 * digits in all, like any other). The token is the credential, not the id; ids that grow with
 * time put each new application at the end of the id index instead of on a random page of it,
 * which halves what every verification writes. */
#define TOKEN_BYTES 32
#define ID_RANDOM_BYTES 10

static char *
application_id_new (const char *random_hex)
{
  guint64 ms = (guint64) (g_get_real_time () / 1000) & G_GUINT64_CONSTANT (0xffffffffffff);

  return g_strdup_printf ("%012" G_GINT64_MODIFIER "x%.*s", ms, ID_RANDOM_BYTES * 2, random_hex);
}

static gboolean
phone_is_valid (const char *phone)
{
  if (strlen (phone) != 11 || phone[0] != '1' || phone[1] < '3' || phone[1] > '9')
    return FALSE;
  for (guint i = 0; i < 11; i++)
    if (!g_ascii_isdigit (phone[i]))
      return FALSE;
  return TRUE;
}

static void
reply_rate_limited (SoupServerMessage *msg)
{
  soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Retry-After", "60");
  lk_http_reply_error (msg, 429, "rate_limited", _("Too many failed attempts; wait a moment"), NULL);
}

/* The verification and the new application: one job of the store's batch writer. */
typedef struct
{
  LkServer          *server;      /* not owned: the server outlives its store's jobs */
  SoupServerMessage *msg;
  char              *address;
  char              *province;
  char              *school;
  char              *klass;
  char              *name;
  char              *student_no;
  char              *phone;
  char              *id;
  char              *token;
  char              *token_hash;
  char              *day;
  gint64             now;
  gint64             fee;
  /* results */
  const char        *field;       /* the first field that does not match, or NULL */
  gint64             day_seq;
} ApplyJob;

static void
apply_job_free (gpointer data)
{
  ApplyJob *job = data;

  g_clear_object (&job->msg);
  g_free (job->address);
  g_free (job->province);
  g_free (job->school);
  g_free (job->klass);
  g_free (job->name);
  g_free (job->student_no);
  g_free (job->phone);
  g_free (job->id);
  if (job->token != NULL)
    memset (job->token, 0, strlen (job->token));
  g_free (job->token);
  g_free (job->token_hash);
  g_free (job->day);
  g_free (job);
}

/* LkStoreJobFunc, on whichever thread runs the batch. */
static gboolean
apply_job_run (LkStore   *store,
               gpointer   data,
               GError   **error)
{
  ApplyJob *job = data;
  gint64 student_id = 0;

  return lk_store_application_verify (store, job->province, job->school, job->klass, job->name,
                                      job->student_no, &student_id, &job->field, error)
         && lk_store_application_create (store, job->id, student_id, job->token_hash, job->phone,
                                         job->fee, CONSENT_VERSION, job->now, job->day,
                                         &job->day_seq, error);
}

static void
apply_job_done_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  ApplyJob *job = lk_store_run_get_data (result);
  SoupServerMessage *msg = job->msg;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonBuilder) builder = NULL;
  g_autoptr(JsonNode) reply = NULL;

  if (!lk_store_run_finish (result, &error))
    {
      if (job->field != NULL)
        {
          g_autofree char *masked_name = lk_mask_name (job->name);
          g_autofree char *masked_no = lk_mask_student_no (job->student_no);

          lk_rate_limit_take (lk_server_get_verify_limit (job->server), job->address);
          lk_log_event (G_LOG_LEVEL_MESSAGE, "Verification failed",
                        "LK_FIELD", job->field, "LK_CLIENT", job->address, "LK_NAME", masked_name,
                        "LK_STUDENT_NO", masked_no, NULL);
          /* Which field, never what is stored. */
          lk_http_reply_error (msg, 422, "verification_failed",
                               _("The details do not match the school's roster"), job->field);
        }
      else if (g_error_matches (error, LK_STORE_ERROR, LK_STORE_ERROR_CONFLICT))
        lk_http_reply_error (msg, SOUP_STATUS_CONFLICT, "already_applied",
                             _("This student already has an open application"), NULL);
      else
        lk_http_reply_gerror (msg, error);
      soup_server_message_unpause (msg);
      return;
    }

  {
    g_autofree char *masked_phone = lk_mask_phone (job->phone);
    g_autofree char *seq = g_strdup_printf ("%" G_GINT64_FORMAT, job->day_seq);

    lk_log_event (G_LOG_LEVEL_INFO, "Application verified", "LK_APPLICATION_ID", job->id,
                  "LK_PHONE", masked_phone, "LK_DAY", job->day, "LK_DAY_SEQ", seq, NULL);
  }

  builder = json_builder_new ();
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "id");
  json_builder_add_string_value (builder, job->id);
  json_builder_set_member_name (builder, "token");
  json_builder_add_string_value (builder, job->token);
  json_builder_set_member_name (builder, "status");
  json_builder_add_string_value (builder, LK_APP_VERIFIED);
  json_builder_set_member_name (builder, "fee_fen");
  json_builder_add_int_value (builder, job->fee);
  json_builder_end_object (builder);
  reply = json_builder_get_root (builder);
  lk_http_reply_json (msg, SOUP_STATUS_CREATED, reply);
  soup_server_message_unpause (msg);
}

static void
apply (LkServer          *server,
       SoupServerMessage *msg)
{
  LkRateLimit *limit = lk_server_get_verify_limit (server);
  const char *address = lk_http_client_address (msg);
  g_autoptr(JsonObject) body = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *province = NULL;
  g_autofree char *school = NULL;
  g_autofree char *klass = NULL;
  g_autofree char *name = NULL;
  g_autofree char *student_no = NULL;
  g_autofree char *phone = NULL;
  gboolean consent = FALSE;
  JsonNode *consent_node;
  g_autofree char *random = NULL;
  ApplyJob *job;

  body = lk_http_read_json_object (msg, LK_JSON_MAX_BYTES, &error);
  if (body == NULL
      || !lk_json_only_members (body, &error, "province", "school", "class", "name", "student_no",
                                "phone", "consent", NULL))
    {
      lk_http_reply_gerror (msg, error);
      return;
    }
  if (!lk_rate_limit_check (limit, address))
    {
      lk_log_event (G_LOG_LEVEL_MESSAGE, "Verification refused: too many failures",
                    "LK_CLIENT", address, NULL);
      reply_rate_limited (msg);
      return;
    }

  /* PIPL: nothing is checked against the roster without the parent's consent. */
  consent_node = json_object_get_member (body, "consent");
  if (consent_node != NULL && !JSON_NODE_HOLDS_NULL (consent_node)
      && !lk_json_require_bool (body, "consent", &consent, &error))
    {
      lk_http_reply_gerror (msg, error);
      return;
    }
  if (!consent)
    {
      lk_http_reply_error (msg, 422, "consent_required",
                           _("A parent or guardian must consent to the use of the student's data"),
                           "consent");
      return;
    }

  if ((province = lk_json_require_string (body, "province", FIELD_MAX_CHARS, &error)) == NULL
      || (school = lk_json_require_string (body, "school", FIELD_MAX_CHARS, &error)) == NULL
      || (klass = lk_json_require_string (body, "class", FIELD_MAX_CHARS, &error)) == NULL
      || (name = lk_json_require_string (body, "name", FIELD_MAX_CHARS, &error)) == NULL
      || (student_no = lk_json_require_string (body, "student_no", FIELD_MAX_CHARS, &error)) == NULL
      || (phone = lk_json_require_string (body, "phone", 16, &error)) == NULL)
    {
      lk_http_reply_gerror (msg, error);
      return;
    }
  if (!phone_is_valid (phone))
    {
      lk_http_reply_error (msg, 422, "invalid_phone", _("Give an 11-digit mobile number"), "phone");
      return;
    }

  job = g_new0 (ApplyJob, 1);
  job->server = server;
  job->msg = g_object_ref (msg);
  job->address = g_strdup (address);
  job->province = g_steal_pointer (&province);
  job->school = g_steal_pointer (&school);
  job->klass = g_steal_pointer (&klass);
  job->name = g_steal_pointer (&name);
  job->student_no = g_steal_pointer (&student_no);
  job->phone = g_steal_pointer (&phone);
  /* One draw from the generator for both the token and the id. */
  random = lk_random_hex (TOKEN_BYTES + ID_RANDOM_BYTES);
  job->token = g_strndup (random, TOKEN_BYTES * 2);
  job->id = application_id_new (random + TOKEN_BYTES * 2);
  memset (random, 0, strlen (random));
  job->token_hash = lk_sha256_hex (job->token, strlen (job->token));
  job->now = now_seconds ();
  job->day = china_day (job->now);
  job->fee = lk_config_get_fee_fen (lk_server_get_config (server));

  /* The answer comes once the application is committed, with others of its batch. */
  soup_server_message_pause (msg);
  lk_store_run_async (lk_server_get_store (server), apply_job_run, job, apply_job_free,
                      apply_job_done_cb, NULL);
}

/* The application if the request carries its token; else replies and returns NULL. */
static LkApplicationRecord *
require_application (LkServer          *server,
                     SoupServerMessage *msg,
                     const char        *id)
{
  const char *token = lk_http_bearer_token (msg);
  g_autoptr(LkApplicationRecord) app = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *token_hash = NULL;

  app = lk_store_application_get (lk_server_get_store (server), id, &error);
  if (app == NULL && !g_error_matches (error, LK_STORE_ERROR, LK_STORE_ERROR_NOT_FOUND))
    {
      lk_http_reply_gerror (msg, error);
      return NULL;
    }
  if (token != NULL && strlen (token) <= 256)
    token_hash = lk_sha256_hex (token, strlen (token));
  /* Unknown id and wrong token look the same from outside. */
  if (app == NULL || token_hash == NULL || !lk_secure_str_equal (token_hash, app->token_hash))
    {
      soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                    "WWW-Authenticate", "Bearer");
      lk_http_reply_error (msg, SOUP_STATUS_UNAUTHORIZED, "unauthorized",
                           _("This application's token is missing or wrong"), NULL);
      return NULL;
    }
  return g_steal_pointer (&app);
}

static void
get_application (LkServer          *server,
                 SoupServerMessage *msg,
                 const char        *id)
{
  g_autoptr(LkApplicationRecord) app = require_application (server, msg, id);
  g_autoptr(JsonBuilder) builder = NULL;
  g_autoptr(JsonNode) reply = NULL;

  if (app == NULL)
    return;

  builder = json_builder_new ();
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "id");
  json_builder_add_string_value (builder, app->id);
  json_builder_set_member_name (builder, "status");
  json_builder_add_string_value (builder, app->status);
  json_builder_set_member_name (builder, "fee_fen");
  json_builder_add_int_value (builder, app->fee_fen);
  json_builder_set_member_name (builder, "claim_code");
  if (g_str_equal (app->status, LK_APP_CLAIMABLE) && app->code_attempt >= 0)
    {
      g_autofree char *code = lk_claim_code_recompute (server, app);
      json_builder_add_string_value (builder, code);
      memset (code, 0, strlen (code));
    }
  else
    json_builder_add_null_value (builder);
  json_builder_set_member_name (builder, "card_no");
  if (app->card_no != NULL)
    json_builder_add_string_value (builder, app->card_no);
  else
    json_builder_add_null_value (builder);
  json_builder_set_member_name (builder, "issued_at");
  if (app->issued_at > 0)
    json_builder_add_int_value (builder, app->issued_at);
  else
    json_builder_add_null_value (builder);
  json_builder_end_object (builder);
  reply = json_builder_get_root (builder);
  lk_http_reply_json (msg, SOUP_STATUS_OK, reply);
}

static void
create_payment (LkServer          *server,
                SoupServerMessage *msg,
                const char        *id)
{
  g_autoptr(LkApplicationRecord) app = NULL;
  g_autoptr(JsonObject) body = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *channel = NULL;
  g_autofree char *order_no = NULL;
  g_autofree char *pay_url = NULL;
  g_autofree char *suffix = NULL;
  g_autofree char *stamp = NULL;
  g_autoptr(GDateTime) now = NULL;
  g_autoptr(JsonBuilder) builder = NULL;
  g_autoptr(JsonNode) reply = NULL;
  LkPaymentProvider *provider;

  app = require_application (server, msg, id);
  if (app == NULL)
    return;
  body = lk_http_read_json_object (msg, LK_JSON_MAX_BYTES, &error);
  if (body == NULL
      || !lk_json_only_members (body, &error, "channel", NULL)
      || (channel = lk_json_require_string (body, "channel", 16, &error)) == NULL)
    {
      lk_http_reply_gerror (msg, error);
      return;
    }
  if (!g_str_equal (channel, "wechat") && !g_str_equal (channel, "alipay") && !g_str_equal (channel, "sandbox"))
    {
      lk_http_reply_error (msg, 422, "invalid_field", _("“channel” must be wechat, alipay or sandbox"), "channel");
      return;
    }
  provider = lk_server_get_payment_provider (server, channel);
  if (provider == NULL)
    {
      lk_http_reply_error (msg, SOUP_STATUS_SERVICE_UNAVAILABLE, "payment_unavailable",
                           _("This payment method is not available"), "channel");
      return;
    }
  if (!g_str_equal (app->status, LK_APP_VERIFIED))
    {
      lk_http_reply_error (msg, SOUP_STATUS_CONFLICT, "not_payable",
                           _("This application is not waiting for payment"), NULL);
      return;
    }

  now = g_date_time_new_now_utc ();
  stamp = g_date_time_format (now, "%Y%m%d%H%M%S");
  suffix = lk_random_hex (6);
  order_no = g_ascii_strup (suffix, -1);
  {
    g_autofree char *full = g_strconcat ("LK", stamp, order_no, NULL);
    g_free (order_no);
    order_no = g_steal_pointer (&full);
  }
  if (!lk_store_payment_create (lk_server_get_store (server), order_no, app->id, channel,
                                app->fee_fen, now_seconds (), &error))
    {
      if (g_error_matches (error, LK_STORE_ERROR, LK_STORE_ERROR_CONFLICT))
        lk_http_reply_error (msg, SOUP_STATUS_CONFLICT, "not_payable",
                             _("This application is not waiting for payment"), NULL);
      else
        lk_http_reply_gerror (msg, error);
      return;
    }
  pay_url = lk_payment_provider_create_order (provider, order_no, app->fee_fen,
                                              _("Campus card fee"), &error);
  if (pay_url == NULL)
    {
      lk_log_event (G_LOG_LEVEL_MESSAGE, "The payment provider refused an order",
                    "LK_ORDER", order_no, "LK_ERROR", error->message, NULL);
      lk_http_reply_error (msg, SOUP_STATUS_BAD_GATEWAY, "payment_unavailable",
                           _("The payment provider did not accept the order"), "channel");
      return;
    }
  lk_log_event (G_LOG_LEVEL_INFO, "Payment order created", "LK_ORDER", order_no,
                "LK_APPLICATION_ID", app->id, "LK_CHANNEL", channel, NULL);

  builder = json_builder_new ();
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "order_no");
  json_builder_add_string_value (builder, order_no);
  json_builder_set_member_name (builder, "amount_fen");
  json_builder_add_int_value (builder, app->fee_fen);
  json_builder_set_member_name (builder, "pay_url");
  json_builder_add_string_value (builder, pay_url);
  json_builder_end_object (builder);
  reply = json_builder_get_root (builder);
  lk_http_reply_json (msg, SOUP_STATUS_CREATED, reply);
}

/* After the payment's transaction has committed: kiosks, staff, the parent, the SMS worker. */
static void
publish_paid (LkServer               *server,
              const LkPaymentApplied *applied)
{
  LkHub *hub = lk_server_get_hub (server);
  g_autofree char *masked = lk_mask_name (applied->student_name);
  g_autoptr(JsonNode) item = lk_claim_code_item_json (applied->code_id, applied->kiosk_digest,
                                                      masked, applied->klass);
  g_autoptr(JsonBuilder) builder = NULL;
  g_autofree char *json = NULL;
  gint64 now = now_seconds ();

  builder = lk_message_begin (LK_MSG_CODE_ADDED);
  json_builder_set_member_name (builder, "code");
  json_builder_add_value (builder, g_steal_pointer (&item));
  json = lk_message_finish (builder);
  lk_hub_publish_to_kiosks (hub, applied->school_id, json);
  g_clear_object (&builder);
  g_clear_pointer (&json, g_free);

  builder = lk_message_begin (LK_EVENT_APPLICATION_PAID);
  json_builder_set_member_name (builder, "at");
  json_builder_add_int_value (builder, now);
  json_builder_set_member_name (builder, "school_id");
  json_builder_add_int_value (builder, applied->school_id);
  json_builder_set_member_name (builder, "application_id");
  json_builder_add_string_value (builder, applied->application_id);
  json_builder_set_member_name (builder, "student");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "name");
  json_builder_add_string_value (builder, masked);
  json_builder_set_member_name (builder, "class");
  json_builder_add_string_value (builder, applied->klass);
  json_builder_end_object (builder);
  json = lk_message_finish (builder);
  lk_hub_publish_to_staff (hub, applied->school_id, json);

  lk_events_publish_status (server, applied->application_id, LK_APP_CLAIMABLE, NULL, 0, NULL);

  lk_server_kick_sms (server);
}

/* After a cancel has committed: the kiosks drop the code, the parent's page and the school's
 * staff hear of it. */
static void
publish_cancelled (LkServer                  *server,
                   const LkApplicationCancel *cancel)
{
  LkHub *hub = lk_server_get_hub (server);
  g_autoptr(JsonBuilder) builder = NULL;
  g_autofree char *json = NULL;
  gint64 now = now_seconds ();

  if (cancel->code_id > 0)
    lk_claims_publish_code_removed (lk_claims_get (server), cancel->school_id, cancel->code_id);

  builder = lk_message_begin (LK_EVENT_APPLICATION_CANCELLED);
  json_builder_set_member_name (builder, "at");
  json_builder_add_int_value (builder, now);
  json_builder_set_member_name (builder, "school_id");
  json_builder_add_int_value (builder, cancel->school_id);
  json_builder_set_member_name (builder, "application_id");
  json_builder_add_string_value (builder, cancel->application_id);
  json_builder_set_member_name (builder, "refund_due_fen");
  json_builder_add_int_value (builder, cancel->refund_due_fen);
  json = lk_message_finish (builder);
  lk_hub_publish_to_staff (hub, cancel->school_id, json);

  lk_events_publish_status (server, cancel->application_id, LK_APP_CANCELLED, NULL, 0, NULL);
}

void
lk_api_applications_cancel (LkServer            *server,
                            SoupServerMessage   *msg,
                            const LkAuthContext *auth,
                            const char          *application_id,
                            gint64               student_id)
{
  g_auto(LkApplicationCancel) cancel = { 0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonBuilder) builder = NULL;
  g_autoptr(JsonNode) reply = NULL;
  gint64 school_scope = auth != NULL && !auth->operator ? auth->school_id : 0;

  if (!lk_store_application_cancel (lk_server_get_store (server), application_id, student_id,
                                    auth != NULL ? auth->user_id : 0, school_scope, &cancel, &error))
    {
      if (g_error_matches (error, LK_STORE_ERROR, LK_STORE_ERROR_NOT_FOUND))
        lk_http_reply_error (msg, SOUP_STATUS_NOT_FOUND, "no_open_application",
                             _("This student has no open application"), NULL);
      else if (g_error_matches (error, LK_STORE_ERROR, LK_STORE_ERROR_FORBIDDEN))
        lk_http_check_school (msg, auth, -1);
      else if (g_error_matches (error, LK_STORE_ERROR, LK_STORE_ERROR_CONFLICT))
        lk_http_reply_error (msg, SOUP_STATUS_CONFLICT, "claim_in_progress",
                             _("A kiosk is issuing this card right now; wait for it to finish"), NULL);
      else if (g_error_matches (error, LK_STORE_ERROR, LK_STORE_ERROR_INVALID)
               && auth == NULL
               && (g_strcmp0 (cancel.previous_status, LK_APP_PAID) == 0
                   || g_strcmp0 (cancel.previous_status, LK_APP_CLAIMABLE) == 0))
        lk_http_reply_error (msg, SOUP_STATUS_CONFLICT, "not_cancellable",
                             _("This application is paid: please ask the class teacher to cancel it"), NULL);
      else if (g_error_matches (error, LK_STORE_ERROR, LK_STORE_ERROR_INVALID))
        lk_http_reply_error (msg, SOUP_STATUS_CONFLICT, "not_cancellable",
                             _("This application can no longer be cancelled"), NULL);
      else
        lk_http_reply_gerror (msg, error);
      return;
    }

  lk_log_event (G_LOG_LEVEL_INFO, "Application cancelled",
                "LK_BY", auth != NULL ? "staff" : "parent",
                "LK_PREVIOUS_STATUS", cancel.previous_status, NULL);
  publish_cancelled (server, &cancel);

  builder = json_builder_new ();
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "id");
  json_builder_add_string_value (builder, cancel.application_id);
  json_builder_set_member_name (builder, "status");
  json_builder_add_string_value (builder, LK_APP_CANCELLED);
  json_builder_set_member_name (builder, "refund_due_fen");
  json_builder_add_int_value (builder, cancel.refund_due_fen);
  json_builder_end_object (builder);
  reply = json_builder_get_root (builder);
  lk_http_reply_json (msg, SOUP_STATUS_OK, reply);
}

/* The one path of every payment notice. */
static void
handle_notice (LkServer          *server,
               SoupServerMessage *msg,
               LkPaymentProvider *provider,
               GBytes            *body)
{
  g_auto(LkPaymentNotice) notice = { 0 };
  g_auto(LkPaymentApplied) applied = { 0 };
  g_autoptr(GError) error = NULL;
  g_autofree char *channel = NULL;
  g_autoptr(JsonBuilder) builder = NULL;
  g_autoptr(JsonNode) reply = NULL;

  if (!lk_payment_provider_verify_notice (provider, soup_server_message_get_request_headers (msg),
                                          body, &notice, &error))
    {
      lk_log_event (G_LOG_LEVEL_MESSAGE, "Payment notice rejected",
                    "LK_CHANNEL", lk_payment_provider_get_channel (provider),
                    "LK_CLIENT", lk_http_client_address (msg), "LK_ERROR", error->message, NULL);
      if (g_error_matches (error, LK_PAYMENT_ERROR, LK_PAYMENT_ERROR_BAD_SIGNATURE))
        lk_http_reply_error (msg, SOUP_STATUS_BAD_REQUEST, "bad_signature",
                             _("The notice's signature is not valid"), NULL);
      else
        lk_http_reply_error (msg, SOUP_STATUS_BAD_REQUEST, "invalid_notice",
                             _("The notice cannot be read"), NULL);
      return;
    }

  if (!lk_store_payment_get (lk_server_get_store (server), notice.order_no, &channel, NULL, NULL, &error))
    {
      if (g_error_matches (error, LK_STORE_ERROR, LK_STORE_ERROR_NOT_FOUND))
        lk_http_reply_error (msg, SOUP_STATUS_NOT_FOUND, "unknown_order", _("There is no such order"), NULL);
      else
        lk_http_reply_gerror (msg, error);
      return;
    }
  if (!g_str_equal (channel, lk_payment_provider_get_channel (provider)))
    {
      lk_http_reply_error (msg, SOUP_STATUS_BAD_REQUEST, "channel_mismatch",
                           _("The order was not placed with this provider"), NULL);
      return;
    }

  if (notice.paid
      && !lk_store_payment_apply (lk_server_get_store (server), notice.order_no, notice.amount_fen,
                                  notice.provider_txn, now_seconds (), lk_claim_code_make, server,
                                  &applied, &error))
    {
      if (g_error_matches (error, LK_STORE_ERROR, LK_STORE_ERROR_INVALID))
        {
          lk_log_event (G_LOG_LEVEL_MESSAGE, "Payment notice does not match its order",
                        "LK_ORDER", notice.order_no, "LK_ERROR", error->message, NULL);
          lk_http_reply_error (msg, SOUP_STATUS_BAD_REQUEST, "amount_mismatch",
                               _("The notice does not match the order"), NULL);
        }
      else
        lk_http_reply_gerror (msg, error);
      return;
    }

  if (applied.applied)
    {
      lk_log_event (G_LOG_LEVEL_INFO, "Payment applied; claim code issued",
                    "LK_ORDER", notice.order_no, "LK_APPLICATION_ID", applied.application_id, NULL);
      publish_paid (server, &applied);
    }
  else
    lk_log_event (G_LOG_LEVEL_INFO, "Payment notice seen again; nothing changed",
                  "LK_ORDER", notice.order_no, NULL);

  builder = json_builder_new ();
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "result");
  json_builder_add_string_value (builder, notice.paid ? "ok" : "ignored");
  json_builder_set_member_name (builder, "applied");
  json_builder_add_boolean_value (builder, applied.applied);
  json_builder_end_object (builder);
  reply = json_builder_get_root (builder);
  lk_http_reply_json (msg, SOUP_STATUS_OK, reply);
}

static void
sandbox_pay (LkServer          *server,
             SoupServerMessage *msg,
             const char        *order_no)
{
  LkPaymentProvider *provider = lk_server_get_payment_provider (server, "sandbox");
  g_autoptr(GError) error = NULL;
  g_autofree char *channel = NULL;
  g_autofree char *txn = NULL;
  g_autoptr(GBytes) notice = NULL;
  gint64 amount = 0;

  if (provider == NULL)
    {
      lk_http_reply_error (msg, SOUP_STATUS_NOT_FOUND, "not_found", _("There is nothing here"), NULL);
      return;
    }
  if (!lk_store_payment_get (lk_server_get_store (server), order_no, &channel, &amount, NULL, &error)
      || !g_str_equal (channel, "sandbox"))
    {
      if (error != NULL && !g_error_matches (error, LK_STORE_ERROR, LK_STORE_ERROR_NOT_FOUND))
        lk_http_reply_gerror (msg, error);
      else
        lk_http_reply_error (msg, SOUP_STATUS_NOT_FOUND, "unknown_order", _("There is no such order"), NULL);
      return;
    }
  /* The "provider" signs its notice, and the server checks it as it would any other. */
  txn = g_strconcat ("SBX", order_no, NULL);
  notice = lk_sandbox_payment_sign_notice (LK_SANDBOX_PAYMENT (provider), order_no, amount, txn);
  handle_notice (server, msg, provider, notice);
}

static void
applications_cb (LkServer          *server,
                 SoupServerMessage *msg,
                 const char        *path,
                 GHashTable        *query)
{
  g_auto(GStrv) parts = NULL;
  guint n_parts;

  if (g_str_equal (path, "/api/v1/applications"))
    {
      if (lk_http_allow_methods (msg, "POST", NULL))
        apply (server, msg);
      return;
    }

  /* "", "api", "v1", "applications", id [, "payment"] */
  parts = g_strsplit (path, "/", 0);
  n_parts = g_strv_length (parts);
  if (n_parts >= 5 && strlen (parts[4]) == 32 && strspn (parts[4], "0123456789abcdef") == 32)
    {
      if (n_parts == 5)
        {
          if (lk_http_allow_methods (msg, "GET", NULL))
            get_application (server, msg, parts[4]);
          return;
        }
      if (n_parts == 6 && g_str_equal (parts[5], "payment"))
        {
          if (lk_http_allow_methods (msg, "POST", NULL))
            create_payment (server, msg, parts[4]);
          return;
        }
      if (n_parts == 6 && g_str_equal (parts[5], "cancel"))
        {
          g_autoptr(LkApplicationRecord) app = NULL;

          if (lk_http_allow_methods (msg, "POST", NULL)
              && (app = require_application (server, msg, parts[4])) != NULL)
            lk_api_applications_cancel (server, msg, NULL, app->id, 0);
          return;
        }
    }
  lk_http_reply_error (msg, SOUP_STATUS_NOT_FOUND, "not_found", _("There is nothing here"), NULL);
}

static void
sandbox_cb (LkServer          *server,
            SoupServerMessage *msg,
            const char        *path,
            GHashTable        *query)
{
  const char *prefix = "/api/v1/sandbox/pay/";
  const char *order_no;

  if (!g_str_has_prefix (path, prefix) || lk_server_get_payment_provider (server, "sandbox") == NULL)
    {
      lk_http_reply_error (msg, SOUP_STATUS_NOT_FOUND, "not_found", _("There is nothing here"), NULL);
      return;
    }
  order_no = path + strlen (prefix);
  if (*order_no == '\0' || strlen (order_no) > 64 || strchr (order_no, '/') != NULL)
    {
      lk_http_reply_error (msg, SOUP_STATUS_NOT_FOUND, "unknown_order", _("There is no such order"), NULL);
      return;
    }
  if (lk_http_allow_methods (msg, "POST", NULL))
    sandbox_pay (server, msg, order_no);
}

static void
notify_cb (LkServer          *server,
           SoupServerMessage *msg,
           const char        *path,
           GHashTable        *query)
{
  const char *prefix = "/api/v1/payments/notify/";
  const char *channel;
  LkPaymentProvider *provider;
  g_autoptr(GBytes) body = NULL;

  channel = g_str_has_prefix (path, prefix) ? path + strlen (prefix) : "";
  if (!g_str_equal (channel, "wechat") && !g_str_equal (channel, "alipay") && !g_str_equal (channel, "sandbox"))
    {
      lk_http_reply_error (msg, SOUP_STATUS_NOT_FOUND, "not_found", _("There is nothing here"), NULL);
      return;
    }
  if (!lk_http_allow_methods (msg, "POST", NULL))
    return;
  provider = lk_server_get_payment_provider (server, channel);
  if (provider == NULL)
    {
      lk_log_event (G_LOG_LEVEL_MESSAGE, "Payment notice for a provider that is not configured",
                    "LK_CHANNEL", channel, "LK_CLIENT", lk_http_client_address (msg), NULL);
      lk_http_reply_error (msg, SOUP_STATUS_SERVICE_UNAVAILABLE, "payment_unavailable",
                           _("This payment method is not available"), NULL);
      return;
    }
  body = soup_message_body_flatten (soup_server_message_get_request_body (msg));
  handle_notice (server, msg, provider, body);
}

/* GET /api/v1/payment/channels: what the parents' page may offer (docs/protocol.md, 4.1). */
static void
channels_cb (LkServer          *server,
             SoupServerMessage *msg,
             const char        *path,
             GHashTable        *query)
{
  static const char *channels[] = { "wechat", "alipay", "sandbox" };
  g_autoptr(JsonBuilder) builder = NULL;
  g_autoptr(JsonNode) reply = NULL;

  if (!g_str_equal (path, "/api/v1/payment/channels"))
    {
      lk_http_reply_error (msg, SOUP_STATUS_NOT_FOUND, "not_found", _("There is nothing here"), NULL);
      return;
    }
  if (!lk_http_allow_methods (msg, "GET", "HEAD", NULL))
    return;

  builder = json_builder_new ();
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "channels");
  json_builder_begin_array (builder);
  for (guint i = 0; i < G_N_ELEMENTS (channels); i++)
    if (lk_server_get_payment_provider (server, channels[i]) != NULL)
      json_builder_add_string_value (builder, channels[i]);
  json_builder_end_array (builder);
  json_builder_set_member_name (builder, "fee_fen");
  json_builder_add_int_value (builder, lk_config_get_fee_fen (lk_server_get_config (server)));
  json_builder_end_object (builder);
  reply = json_builder_get_root (builder);
  lk_http_reply_json (msg, SOUP_STATUS_OK, reply);
}

void
lk_api_applications_register (LkServer   *server,
                              SoupServer *soup)
{
  lk_routes_add (server, soup, "/api/v1/applications", LK_JSON_MAX_BYTES, applications_cb);
  lk_routes_add (server, soup, "/api/v1/sandbox", LK_JSON_MAX_BYTES, sandbox_cb);
  lk_routes_add (server, soup, "/api/v1/payments/notify", LK_JSON_MAX_BYTES, notify_cb);
  lk_routes_add (server, soup, "/api/v1/payment/channels", LK_JSON_MAX_BYTES, channels_cb);
}
