/* test-kiosk-store.c: the kiosk's SQLite store: codes, digests and the journal
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gstdio.h>

#include "lk-kiosk-error.h"
#include "lk-kiosk-store.h"
#include "lk-kiosk-test-util.h"

typedef struct
{
  char         *dir;
  char         *path;
  LkKioskStore *store;
} Fixture;

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  f->dir = g_dir_make_tmp (NULL, &error);
  g_assert_no_error (error);
  f->path = g_build_filename (f->dir, "sub", "kiosk.db", NULL);
  f->store = lk_kiosk_store_open (f->path, &error);
  g_assert_no_error (error);
  g_assert_nonnull (f->store);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  g_clear_object (&f->store);
  lk_test_remove_tree (f->dir);
  g_free (f->dir);
  g_free (f->path);
}

static void
reopen (Fixture *f)
{
  g_autoptr(GError) error = NULL;

  g_clear_object (&f->store);
  f->store = lk_kiosk_store_open (f->path, &error);
  g_assert_no_error (error);
}

static void
make_params (LkDigestParams *params,
             LkDigestAlg     alg)
{
  memset (params, 0, sizeof *params);
  params->alg = alg;
  params->iterations = 1000;
  g_assert_true (lk_digest_params_set_salt_hex (params, "00112233445566778899aabbccddeeff"));
}

#define make_code lk_test_make_code

static GPtrArray *
make_codes (const LkDigestParams *params,
            const char * const   *codes,
            guint                 n)
{
  GPtrArray *array = g_ptr_array_new_with_free_func ((GDestroyNotify) lk_kiosk_code_free);

  for (guint i = 0; i < n; i++)
    {
      g_autofree char *digest = lk_claim_code_digest (params, codes[i]);
      g_autofree char *id = g_strdup_printf ("%u", 100 + i);
      g_autofree char *name = g_strdup_printf ("张*%u", i);

      g_ptr_array_add (array, lk_kiosk_code_new (id, digest, name, "三年级(2)班"));
    }
  return array;
}

static void
test_codes_lookup (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) codes = NULL;
  g_autoptr(LkKioskCode) found = NULL;
  g_autoptr(LkKioskCode) missing = NULL;
  g_autofree char *a = make_code ("1234567");
  g_autofree char *b = make_code ("7654321");
  g_autofree char *c = make_code ("1111111");
  const char *list[] = { a, b };
  LkDigestParams params, stored;
  gint64 school_id = 0;

  g_assert_false (lk_kiosk_store_get_digest_params (f->store, &stored, NULL));
  /* No snapshot yet: nothing matches, and that is not an error. */
  g_assert_null (lk_kiosk_store_lookup_code (f->store, a, &error));
  g_assert_no_error (error);

  make_params (&params, GPOINTER_TO_INT (data));
  codes = make_codes (&params, list, 2);
  g_assert_true (lk_kiosk_store_replace_codes (f->store, 7, &params, codes, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (lk_kiosk_store_count_codes (f->store), ==, 2);

  g_assert_true (lk_kiosk_store_get_digest_params (f->store, &stored, &school_id));
  g_assert_cmpint (school_id, ==, 7);
  g_assert_cmpint (stored.alg, ==, params.alg);
  g_assert_cmpuint (stored.iterations, ==, params.iterations);
  g_assert_cmpmem (stored.salt, sizeof stored.salt, params.salt, sizeof params.salt);

  found = lk_kiosk_store_lookup_code (f->store, b, &error);
  g_assert_no_error (error);
  g_assert_nonnull (found);
  g_assert_cmpstr (found->code_id, ==, "101");
  g_assert_cmpstr (found->name, ==, "张*1");
  g_assert_cmpstr (found->klass, ==, "三年级(2)班");

  missing = lk_kiosk_store_lookup_code (f->store, c, &error);
  g_assert_no_error (error);
  g_assert_null (missing);

  /* A new snapshot replaces the table. */
  {
    const char *only_c[] = { c };
    g_autoptr(GPtrArray) next = make_codes (&params, only_c, 1);
    g_autoptr(LkKioskCode) gone = NULL;

    g_assert_true (lk_kiosk_store_replace_codes (f->store, 7, &params, next, &error));
    g_assert_cmpuint (lk_kiosk_store_count_codes (f->store), ==, 1);
    gone = lk_kiosk_store_lookup_code (f->store, b, &error);
    g_assert_null (gone);
  }
}

static void
test_codes_added_removed (Fixture       *f,
                          gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) codes = NULL;
  g_autofree char *a = make_code ("2222222");
  g_autofree char *digest = NULL;
  g_autoptr(LkKioskCode) added = NULL;
  g_autoptr(LkKioskCode) found = NULL;
  g_autoptr(LkKioskCode) after = NULL;
  g_autoptr(JsonNode) node = NULL;
  LkDigestParams params;

  make_params (&params, LK_DIGEST_PBKDF2_SHA256);
  codes = g_ptr_array_new ();
  g_assert_true (lk_kiosk_store_replace_codes (f->store, 1, &params, codes, &error));

  digest = lk_claim_code_digest (&params, a);
  {
    g_autofree char *text = g_strdup_printf ("{\"code_id\": 42, \"digest\": \"%s\", "
                                             "\"student\": {\"name\": \"李*\", \"class\": \"一(1)班\"}}",
                                             digest);
    node = json_from_string (text, &error);
    g_assert_no_error (error);
  }
  added = lk_kiosk_code_from_json (json_node_get_object (node), &error);
  g_assert_no_error (error);
  g_assert_cmpstr (added->code_id, ==, "42");
  g_assert_true (lk_kiosk_store_add_code (f->store, added, &error));

  found = lk_kiosk_store_lookup_code (f->store, a, &error);
  g_assert_nonnull (found);
  g_assert_cmpstr (found->name, ==, "李*");

  g_assert_true (lk_kiosk_store_remove_code (f->store, "42", &error));
  after = lk_kiosk_store_lookup_code (f->store, a, &error);
  g_assert_no_error (error);
  g_assert_null (after);

  /* A code item without its student is refused. */
  {
    g_autoptr(JsonNode) bad = json_from_string ("{\"code_id\": \"x\", \"digest\": \"ab\"}", NULL);
    g_autoptr(LkKioskCode) none = lk_kiosk_code_from_json (json_node_get_object (bad), &error);

    g_assert_null (none);
    g_assert_error (error, LK_KIOSK_ERROR, LK_KIOSK_ERROR_PROTOCOL);
  }
}

static const char card_data_json[] =
  "{\"school_id\":7,\"student_no\":\"2023001\",\"name\":\"张小明\",\"class\":\"三年级(2)班\","
  "\"issue_date\":\"2026-11-26\",\"issue_seq\":3}";

static void
authorize (Fixture    *f,
           const char *claim_id_json)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) id = json_from_string (claim_id_json, &error);

  g_assert_no_error (error);
  g_assert_true (lk_kiosk_store_journal_authorize (f->store, id, "100", card_data_json, &error));
  g_assert_no_error (error);
}

static void
test_journal_states (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(LkJournalEntry) entry = NULL;
  g_autoptr(GPtrArray) pending = NULL;
  g_autoptr(JsonNode) report = NULL;
  g_autoptr(LkCardData) card = NULL;
  g_autofree char *report_id = NULL;
  JsonObject *obj;

  authorize (f, "17");
  entry = lk_kiosk_store_journal_get (f->store, "17", &error);
  g_assert_no_error (error);
  g_assert_cmpint (entry->state, ==, LK_JOURNAL_AUTHORIZED);
  g_clear_pointer (&entry, lk_journal_entry_free);

  /* The same claim cannot be journaled twice. */
  {
    g_autoptr(JsonNode) id = json_from_string ("17", NULL);
    g_assert_false (lk_kiosk_store_journal_authorize (f->store, id, "100", card_data_json, &error));
    g_assert_error (error, LK_KIOSK_ERROR, LK_KIOSK_ERROR_STORE);
    g_clear_error (&error);
  }

  g_assert_true (lk_kiosk_store_journal_advance (f->store, "17", LK_JOURNAL_DISPENSING, NULL, &error));
  g_assert_true (lk_kiosk_store_journal_advance (f->store, "17", LK_JOURNAL_CARD_READ, "A1B2C3D4", &error));
  g_assert_true (lk_kiosk_store_journal_advance (f->store, "17", LK_JOURNAL_PRESENTED, NULL, &error));
  g_assert_no_error (error);
  /* Never backwards. */
  g_assert_false (lk_kiosk_store_journal_advance (f->store, "17", LK_JOURNAL_DISPENSING, NULL, &error));
  g_assert_error (error, LK_KIOSK_ERROR, LK_KIOSK_ERROR_FAILED);
  g_clear_error (&error);

  entry = lk_kiosk_store_journal_get (f->store, "17", &error);
  g_assert_cmpint (entry->state, ==, LK_JOURNAL_PRESENTED);
  g_assert_cmpstr (entry->card_no, ==, "A1B2C3D4");
  g_clear_pointer (&entry, lk_journal_entry_free);

  card = lk_card_data_new ();
  card->school_id = 7;
  card->student_no = g_strdup ("2023001");
  card->name = g_strdup ("张小明");
  card->klass = g_strdup ("三年级(2)班");
  card->issue_date = g_strdup ("2026-11-26");
  card->issue_seq = 3;
  report_id = lk_kiosk_store_journal_finish (f->store, "17", TRUE, LK_FAIL_CANCELLED, NULL, card,
                                             &error);
  g_assert_no_error (error);
  g_assert_nonnull (report_id);
  g_assert_cmpuint (lk_kiosk_store_journal_count (f->store, LK_JOURNAL_COMPLETED), ==, 1);

  pending = lk_kiosk_store_journal_pending (f->store, &error);
  g_assert_cmpuint (pending->len, ==, 1);
  entry = g_steal_pointer (&g_ptr_array_index (pending, 0));
  g_assert_cmpstr (entry->report_id, ==, report_id);
  report = json_from_string (entry->report, &error);
  g_assert_no_error (error);
  obj = json_node_get_object (report);
  g_assert_cmpstr (json_object_get_string_member (obj, "type"), ==, "claim.completed");
  g_assert_cmpstr (json_object_get_string_member (obj, "id"), ==, report_id);
  /* The claim id goes back in the JSON type the server used. */
  g_assert_cmpint (json_node_get_value_type (json_object_get_member (obj, "claim_id")), ==, G_TYPE_INT64);
  g_assert_cmpint (json_object_get_int_member (obj, "claim_id"), ==, 17);
  g_assert_cmpstr (json_object_get_string_member (obj, "card_no"), ==, "A1B2C3D4");
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (obj, "card_data"),
                                                  "name"), ==, "张小明");
  g_clear_pointer (&entry, lk_journal_entry_free);

  /* A finished claim cannot be finished again. */
  g_assert_null (lk_kiosk_store_journal_finish (f->store, "17", FALSE, LK_FAIL_JAM, NULL, NULL, &error));
  g_assert_error (error, LK_KIOSK_ERROR, LK_KIOSK_ERROR_FAILED);
  g_clear_error (&error);

  /* An ack for something else changes nothing; the right one ends the row. */
  g_assert_false (lk_kiosk_store_journal_acknowledge (f->store, "feedface", &error));
  g_assert_no_error (error);
  g_assert_true (lk_kiosk_store_journal_acknowledge (f->store, report_id, &error));
  g_assert_false (lk_kiosk_store_journal_acknowledge (f->store, report_id, &error));
  g_assert_cmpuint (lk_kiosk_store_journal_count (f->store, LK_JOURNAL_ACKNOWLEDGED), ==, 1);
  g_clear_pointer (&pending, g_ptr_array_unref);
  pending = lk_kiosk_store_journal_pending (f->store, &error);
  g_assert_cmpuint (pending->len, ==, 0);
}

static void
test_journal_failed_report (Fixture       *f,
                            gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(LkJournalEntry) entry = NULL;
  g_autoptr(JsonNode) report = NULL;
  g_autofree char *report_id = NULL;
  JsonObject *obj;

  authorize (f, "\"c-9\"");
  g_assert_true (lk_kiosk_store_journal_advance (f->store, "c-9", LK_JOURNAL_DISPENSING, NULL, &error));
  report_id = lk_kiosk_store_journal_finish (f->store, "c-9", FALSE, LK_FAIL_JAM, NULL, NULL, &error);
  g_assert_no_error (error);

  entry = lk_kiosk_store_journal_get (f->store, "c-9", &error);
  g_assert_cmpint (entry->state, ==, LK_JOURNAL_FAILED);
  report = json_from_string (entry->report, &error);
  obj = json_node_get_object (report);
  g_assert_cmpstr (json_object_get_string_member (obj, "type"), ==, "claim.failed");
  g_assert_cmpstr (json_object_get_string_member (obj, "claim_id"), ==, "c-9");
  g_assert_cmpstr (json_object_get_string_member (obj, "reason"), ==, "jam");
  g_assert_true (json_object_get_null_member (obj, "card_no"));
}

static void
test_journal_survives_reopen (Fixture       *f,
                              gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) pending = NULL;
  g_autoptr(LkJournalEntry) entry = NULL;
  g_autofree char *report_id = NULL;
  LkDigestParams params;
  g_autoptr(GPtrArray) codes = NULL;
  g_autofree char *a = make_code ("3141592");
  const char *list[] = { a };

  make_params (&params, LK_DIGEST_MD5);
  codes = make_codes (&params, list, 1);
  g_assert_true (lk_kiosk_store_replace_codes (f->store, 3, &params, codes, &error));

  authorize (f, "1");
  authorize (f, "2");
  authorize (f, "3");
  authorize (f, "4");
  g_assert_true (lk_kiosk_store_journal_advance (f->store, "2", LK_JOURNAL_DISPENSING, NULL, &error));
  g_assert_true (lk_kiosk_store_journal_advance (f->store, "3", LK_JOURNAL_CARD_READ, "0A0B0C0D", &error));
  g_assert_true (lk_kiosk_store_journal_advance (f->store, "4", LK_JOURNAL_PRESENTED, "11223344", &error));
  report_id = lk_kiosk_store_journal_finish (f->store, "1", FALSE, LK_FAIL_EMPTY, NULL, NULL, &error);
  g_assert_no_error (error);

  /* As after a power cut: the file is all there is. */
  reopen (f);
  g_assert_cmpuint (lk_kiosk_store_count_codes (f->store), ==, 1);
  {
    g_autoptr(LkKioskCode) found = lk_kiosk_store_lookup_code (f->store, a, &error);
    g_assert_nonnull (found);
  }
  pending = lk_kiosk_store_journal_pending (f->store, &error);
  g_assert_cmpuint (pending->len, ==, 1);
  g_assert_cmpstr (((LkJournalEntry *) g_ptr_array_index (pending, 0))->report_id, ==, report_id);
  g_clear_pointer (&pending, g_ptr_array_unref);

  g_assert_cmpuint (lk_kiosk_store_journal_recover (f->store, &error), ==, 3);
  g_assert_no_error (error);
  /* Nothing is left half done, and recovering again finds nothing. */
  g_assert_cmpuint (lk_kiosk_store_journal_recover (f->store, &error), ==, 0);
  pending = lk_kiosk_store_journal_pending (f->store, &error);
  g_assert_cmpuint (pending->len, ==, 4);
  /* Oldest first. */
  g_assert_cmpstr (((LkJournalEntry *) g_ptr_array_index (pending, 0))->claim_id, ==, "1");

  entry = lk_kiosk_store_journal_get (f->store, "2", &error);
  g_assert_cmpint (entry->state, ==, LK_JOURNAL_FAILED);
  g_assert_nonnull (strstr (entry->report, "\"reason\":\"cancelled\""));
  g_clear_pointer (&entry, lk_journal_entry_free);

  entry = lk_kiosk_store_journal_get (f->store, "3", &error);
  g_assert_cmpint (entry->state, ==, LK_JOURNAL_FAILED);
  g_assert_nonnull (strstr (entry->report, "\"card_no\":\"0A0B0C0D\""));
  g_clear_pointer (&entry, lk_journal_entry_free);

  /* Written, verified and handed out: completed, with the card data from the journal. */
  entry = lk_kiosk_store_journal_get (f->store, "4", &error);
  g_assert_cmpint (entry->state, ==, LK_JOURNAL_COMPLETED);
  g_assert_nonnull (strstr (entry->report, "\"type\":\"claim.completed\""));
  g_assert_nonnull (strstr (entry->report, "\"student_no\":\"2023001\""));
  g_clear_pointer (&entry, lk_journal_entry_free);

  /* The report ids are stable across reopening: a resend is the same message. */
  {
    g_autoptr(GPtrArray) before = lk_kiosk_store_journal_pending (f->store, &error);
    g_autoptr(GPtrArray) after = NULL;

    reopen (f);
    after = lk_kiosk_store_journal_pending (f->store, &error);
    g_assert_cmpuint (before->len, ==, after->len);
    for (guint i = 0; i < before->len; i++)
      g_assert_cmpstr (((LkJournalEntry *) g_ptr_array_index (before, i))->report, ==,
                       ((LkJournalEntry *) g_ptr_array_index (after, i))->report);
  }
}

static void
on_lookup_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (result);
}

static void
test_lookup_async (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) codes = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(LkKioskCode) found = NULL;
  g_autofree char *a = make_code ("9876543");
  const char *list[] = { a };
  LkDigestParams params;

  make_params (&params, LK_DIGEST_PBKDF2_SHA256);
  codes = make_codes (&params, list, 1);
  g_assert_true (lk_kiosk_store_replace_codes (f->store, 3, &params, codes, &error));

  lk_kiosk_store_lookup_code_async (f->store, a, NULL, on_lookup_cb, &result);
  g_assert_true (LK_TEST_WAIT_UNTIL (result != NULL, 10000));
  found = lk_kiosk_store_lookup_code_finish (f->store, result, &error);
  g_assert_no_error (error);
  g_assert_nonnull (found);
  g_assert_cmpstr (found->code_id, ==, "100");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/kiosk/store/codes/pbkdf2", Fixture, GINT_TO_POINTER (LK_DIGEST_PBKDF2_SHA256),
              fixture_setup, test_codes_lookup, fixture_teardown);
  g_test_add ("/kiosk/store/codes/md5", Fixture, GINT_TO_POINTER (LK_DIGEST_MD5),
              fixture_setup, test_codes_lookup, fixture_teardown);
  g_test_add ("/kiosk/store/codes/added-removed", Fixture, NULL,
              fixture_setup, test_codes_added_removed, fixture_teardown);
  g_test_add ("/kiosk/store/journal/states", Fixture, NULL,
              fixture_setup, test_journal_states, fixture_teardown);
  g_test_add ("/kiosk/store/journal/failed-report", Fixture, NULL,
              fixture_setup, test_journal_failed_report, fixture_teardown);
  g_test_add ("/kiosk/store/journal/survives-reopen", Fixture, NULL,
              fixture_setup, test_journal_survives_reopen, fixture_teardown);
  g_test_add ("/kiosk/store/codes/lookup-async", Fixture, NULL,
              fixture_setup, test_lookup_async, fixture_teardown);

  return g_test_run ();
}
