/* lk-claims.c: the claim lifecycle behind the kiosk WebSocket
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "lingka-claims"

#include "config.h"

#include "lingka-common.h"
#include "lk-claim-codes.h"
#include "lk-claims.h"
#include "lk-events-ws.h"
#include "lk-log.h"

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

void
lk_claims_publish_code_removed (LkClaims *self,
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
publish_code_item (LkClaims   *self,
                   const char *type,
                   gint64      school_id,
                   JsonNode   *item)
{
  g_autoptr(JsonBuilder) builder = lk_message_begin (type);
  g_autofree char *json = NULL;

  json_builder_set_member_name (builder, "code");
  json_builder_add_value (builder, json_node_ref (item));
  json = lk_message_finish (builder);
  lk_hub_publish_to_kiosks (lk_server_get_hub (self->server), school_id, json);
}

static void
publish_code_added (LkClaims *self,
                    gint64    school_id,
                    gint64    code_id)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) item = NULL;

  item = lk_store_code_item (lk_server_get_store (self->server), code_id, &error);
  if (item == NULL)
    {
      g_message ("Code %" G_GINT64_FORMAT " reopened but not pushed: %s", code_id, error->message);
      return;
    }
  publish_code_item (self, LK_MSG_CODE_ADDED, school_id, item);
}

/* A wrong code counts against the kiosk and against the address it came from. */
static void
take_wrong_code (LkClaims            *self,
                 const LkKioskRecord *kiosk,
                 const char          *address)
{
  g_autofree char *address_key = g_strdup_printf ("addr:%s", address);

  lk_rate_limit_take (self->kiosk_limit, kiosk->sn);
  lk_rate_limit_take (self->address_limit, address_key);
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

  /* To the parent: the application's new status. */
  lk_events_publish_status (self->server, result->application_id, LK_APP_ISSUED, result->card_no,
                            now, kiosk->sn);
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

  lk_info ("Kiosk %s connected (%u connection%s)", kiosk->sn, count, count == 1 ? "" : "s");
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

  lk_info ("Kiosk %s disconnected", kiosk->sn);
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

/* --- the kiosk's messages: each one job of the store's batch writer --- */

typedef enum
{
  CLAIM_JOB_REQUEST,
  CLAIM_JOB_COMPLETE,
  CLAIM_JOB_FAIL,
  CLAIM_JOB_STATUS,
} ClaimJobKind;

typedef struct
{
  ClaimJobKind   kind;
  LkKioskRecord *kiosk;
  char          *msg_id;
  char          *address;
  gint64         now;
  /* claim.request */
  char          *lookup;
  gboolean       rate_limited;
  /* claim.completed, claim.failed */
  gint64         claim_id;
  char          *card_no;
  char          *card_data_json;
  const char    *reason;          /* static: a protocol name */
  /* status */
  char          *stock;
  JsonArray     *faults;
  char          *faults_json;
  /* results */
  LkClaimResult  result;
  char          *reply;
  gboolean       status_changed;
  JsonNode      *code_item;       /* claim.failed: the reopened code, for code.added */
} ClaimJob;

static void
claim_job_free (gpointer data)
{
  ClaimJob *job = data;

  lk_kiosk_record_free (job->kiosk);
  g_free (job->msg_id);
  g_free (job->address);
  g_free (job->lookup);
  g_free (job->card_no);
  g_free (job->card_data_json);
  g_free (job->stock);
  g_clear_pointer (&job->faults, json_array_unref);
  g_free (job->faults_json);
  lk_claim_result_clear (&job->result);
  g_free (job->reply);
  g_clear_pointer (&job->code_item, json_node_unref);
  g_free (job);
}

static ClaimJob *
claim_job_new (ClaimJobKind         kind,
               const LkKioskRecord *kiosk,
               const char          *msg_id)
{
  ClaimJob *job = g_new0 (ClaimJob, 1);

  job->kind = kind;
  job->kiosk = lk_kiosk_record_copy (kiosk);
  job->msg_id = g_strdup (msg_id);
  job->now = now_seconds ();
  return job;
}

/* LkStoreJobFunc, on whichever thread runs the batch: only the store and the job. */
static gboolean
claim_job_run (LkStore   *store,
               gpointer   data,
               GError   **error)
{
  ClaimJob *job = data;
  GError *local_error = NULL;

  switch (job->kind)
    {
    case CLAIM_JOB_REQUEST:
      if (job->rate_limited)
        {
          /* A resent id still gets its stored answer; only new tries wait. */
          job->reply = lk_store_kiosk_reply (store, job->kiosk->id, job->msg_id, &local_error);
          if (local_error != NULL)
            {
              g_propagate_error (error, local_error);
              return FALSE;
            }
          if (job->reply == NULL)
            job->reply = rejected_answer (job->msg_id, LK_REJECT_RATE_LIMITED);
          else
            job->result.replayed = TRUE;
          return TRUE;
        }
      return lk_store_claim_reserve (store, job->kiosk->id, job->msg_id, job->lookup, job->now,
                                     make_request_reply, job->msg_id, &job->result, &job->reply,
                                     error);

    case CLAIM_JOB_COMPLETE:
      return lk_store_claim_complete (store, job->kiosk->id, job->msg_id, job->claim_id,
                                      job->card_no, job->card_data_json, job->now,
                                      make_report_reply, job->msg_id, &job->result, &job->reply,
                                      error);

    case CLAIM_JOB_FAIL:
      if (!lk_store_claim_fail (store, job->kiosk->id, job->msg_id, job->claim_id, job->reason,
                                job->card_no, job->now, make_report_reply, job->msg_id,
                                &job->result, &job->reply, error))
        return FALSE;
      /* The code.added item is read in the same transaction that reopened the code. */
      if (!job->result.replayed && job->result.code_reopened)
        {
          job->code_item = lk_store_code_item (store, job->result.code_id, &local_error);
          if (job->code_item == NULL)
            {
              g_message ("Code %" G_GINT64_FORMAT " reopened but not pushed: %s",
                         job->result.code_id, local_error->message);
              g_clear_error (&local_error);
            }
        }
      return TRUE;

    case CLAIM_JOB_STATUS:
      if (!lk_store_kiosk_set_status (store, job->kiosk->id, job->stock, job->faults_json,
                                      job->now, &job->status_changed, error))
        return FALSE;
      job->reply = simple_answer (LK_MSG_ACK, job->msg_id, NULL);
      return TRUE;

    default:
      g_assert_not_reached ();
    }
}

/* Back on the kiosk's listener thread, once the change is committed: what follows it (the hub,
 * the rate limits, the log), then the answer. */
static void
claim_job_done_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  LkClaims *self = g_task_get_source_object (task);
  ClaimJob *job = lk_store_run_get_data (result);
  const LkKioskRecord *kiosk = job->kiosk;
  GError *error = NULL;

  if (!lk_store_run_finish (result, &error))
    {
      g_task_return_error (task, error);
      return;
    }

  if (job->result.replayed)
    {
      g_task_return_pointer (task, g_steal_pointer (&job->reply), g_free);
      return;
    }

  switch (job->kind)
    {
    case CLAIM_JOB_REQUEST:
      if (job->rate_limited)
        {
          g_message ("Claim refused at kiosk %s from %s: too many wrong codes", kiosk->sn,
                     job->address);
          break;
        }
      switch (job->result.outcome)
        {
        case LK_CLAIM_AUTHORIZED:
          /* The claims table is the record; the log line is for tracing. */
          lk_info ("Claim %" G_GINT64_FORMAT " authorized to kiosk %s", job->result.claim_id,
                   kiosk->sn);
          lk_claims_publish_code_removed (self, job->result.school_id, job->result.code_id);
          break;
        case LK_CLAIM_INVALID:
          take_wrong_code (self, kiosk, job->address);
          g_message ("Wrong claim code at kiosk %s from %s: no such code", kiosk->sn, job->address);
          break;
        case LK_CLAIM_ALREADY_ISSUED:
          g_message ("Claim refused at kiosk %s: code %" G_GINT64_FORMAT " already issued",
                     kiosk->sn, job->result.code_id);
          break;
        case LK_CLAIM_REVOKED:
          g_message ("Claim refused at kiosk %s: code %" G_GINT64_FORMAT " revoked",
                     kiosk->sn, job->result.code_id);
          break;
        case LK_CLAIM_ACKED:
        case LK_CLAIM_UNKNOWN_CLAIM:
        case LK_CLAIM_NOT_RESERVED:
        default:
          break;
        }
      break;

    case CLAIM_JOB_COMPLETE:
      if (job->result.code_used)
        {
          g_message ("Claim %" G_GINT64_FORMAT " completed at kiosk %s: card bound",
                     job->claim_id, kiosk->sn);
          lk_claims_publish_code_removed (self, job->result.school_id, job->result.code_id);
          publish_card_issued (self, kiosk, &job->result, job->now);
          lk_server_kick_sms (self->server);
        }
      else if (job->result.outcome != LK_CLAIM_ACKED)
        g_message ("Kiosk %s reported claim %" G_GINT64_FORMAT " completed, which it does not hold",
                   kiosk->sn, job->claim_id);
      break;

    case CLAIM_JOB_FAIL:
      if (job->result.code_reopened)
        {
          lk_info ("Claim %" G_GINT64_FORMAT " failed at kiosk %s (%s): code open again",
                   job->claim_id, kiosk->sn, job->reason);
          if (job->code_item != NULL)
            publish_code_item (self, LK_MSG_CODE_ADDED, job->result.school_id, job->code_item);
        }
      break;

    case CLAIM_JOB_STATUS:
      if (job->status_changed)
        publish_kiosk_event (self, LK_EVENT_KIOSK_STATUS, kiosk, job->stock, job->faults);
      break;

    default:
      g_assert_not_reached ();
    }

  g_task_return_pointer (task, g_steal_pointer (&job->reply), g_free);
}

static void
claim_job_start (LkClaims            *self,
                 ClaimJob            *job,
                 GAsyncReadyCallback  callback,
                 gpointer             user_data)
{
  GTask *task = g_task_new (self, NULL, callback, user_data);

  g_task_set_source_tag (task, claim_job_start);
  lk_store_run_async (lk_server_get_store (self->server), claim_job_run, job, claim_job_free,
                      claim_job_done_cb, task);
}

void
lk_claims_request_async (LkClaims            *self,
                         const LkKioskRecord *kiosk,
                         const char          *address,
                         const char          *msg_id,
                         const char          *code,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data)
{
  g_autofree char *address_key = g_strdup_printf ("addr:%s", address);
  gboolean rate_limited;
  ClaimJob *job;

  g_return_if_fail (LK_IS_CLAIMS (self));

  rate_limited = !lk_rate_limit_check (self->kiosk_limit, kiosk->sn)
                 || !lk_rate_limit_check (self->address_limit, address_key);
  /* The kiosk checks the digit itself; a wrong one here is a wrong try all the same. The code
   * itself is never logged. */
  if (!rate_limited && !lk_claim_code_is_valid (code))
    {
      g_autoptr(GTask) task = g_task_new (self, NULL, callback, user_data);

      g_task_set_source_tag (task, claim_job_start);
      take_wrong_code (self, kiosk, address);
      g_message ("Wrong claim code at kiosk %s from %s: not a valid code", kiosk->sn, address);
      g_task_return_pointer (task, rejected_answer (msg_id, LK_REJECT_INVALID), g_free);
      return;
    }

  job = claim_job_new (CLAIM_JOB_REQUEST, kiosk, msg_id);
  job->address = g_strdup (address);
  job->rate_limited = rate_limited;
  if (!rate_limited)
    job->lookup = lk_claim_code_lookup (self->server, code);
  claim_job_start (self, job, callback, user_data);
}

void
lk_claims_complete_async (LkClaims            *self,
                          const LkKioskRecord *kiosk,
                          const char          *msg_id,
                          gint64               claim_id,
                          const char          *card_no,
                          const char          *card_data_json,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  ClaimJob *job;

  g_return_if_fail (LK_IS_CLAIMS (self));

  job = claim_job_new (CLAIM_JOB_COMPLETE, kiosk, msg_id);
  job->claim_id = claim_id;
  job->card_no = g_strdup (card_no);
  job->card_data_json = g_strdup (card_data_json);
  claim_job_start (self, job, callback, user_data);
}

void
lk_claims_fail_async (LkClaims            *self,
                      const LkKioskRecord *kiosk,
                      const char          *msg_id,
                      gint64               claim_id,
                      LkFailReason         reason,
                      const char          *card_no,
                      GAsyncReadyCallback  callback,
                      gpointer             user_data)
{
  ClaimJob *job;

  g_return_if_fail (LK_IS_CLAIMS (self));

  job = claim_job_new (CLAIM_JOB_FAIL, kiosk, msg_id);
  job->claim_id = claim_id;
  job->reason = lk_fail_reason_to_string (reason);
  job->card_no = g_strdup (card_no);
  claim_job_start (self, job, callback, user_data);
}

void
lk_claims_status_async (LkClaims            *self,
                        const LkKioskRecord *kiosk,
                        const char          *msg_id,
                        const char          *stock,
                        JsonArray           *faults,
                        GAsyncReadyCallback  callback,
                        gpointer             user_data)
{
  g_autoptr(JsonNode) node = NULL;
  ClaimJob *job;

  g_return_if_fail (LK_IS_CLAIMS (self));

  job = claim_job_new (CLAIM_JOB_STATUS, kiosk, msg_id);
  job->stock = g_strdup (stock);
  job->faults = json_array_ref (faults);
  node = json_node_init_array (json_node_alloc (), faults);
  job->faults_json = lk_json_to_string (node);
  claim_job_start (self, job, callback, user_data);
}

char *
lk_claims_message_finish (LkClaims      *self,
                          GAsyncResult  *result,
                          GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == claim_job_start, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
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
