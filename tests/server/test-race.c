/* test-race.c: 8 kiosk connections send the same code at the same moment, round after round;
 * exactly one is authorized each time
 *
 * The server runs 4 listener threads, so the 8 connections are spread over threads and the
 * requests really race in the store. After each round the winner reports a failure, which
 * opens the code again for the next round.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "lingka-common.h"
#include "test-kiosk-client.h"

#define N_KIOSKS 8
#define WAIT_MS 20000

static guint
n_rounds (void)
{
  /* Sanitizers and valgrind make each round far slower; the race is the same. */
  if (g_getenv ("ASAN_OPTIONS") != NULL || g_getenv ("LINGKA_SLOW_TESTS") != NULL)
    return 25;
  return 100;
}

static void
test_race (void)
{
  LkTestServer *ts = lk_test_server_new (4, NULL);
  LkStore *store = lk_server_get_store (ts->server);
  g_autofree char *code = lk_test_claimable (ts, "三年级(2)班", "王小红", "2023009", NULL, NULL);
  LkTestWs *kiosks[N_KIOSKS];
  guint rounds = n_rounds ();

  for (guint i = 0; i < N_KIOSKS; i++)
    {
      g_autofree char *sn = g_strdup_printf ("K-%02u", i);
      g_autofree char *secret = lk_test_server_register_kiosk (ts, sn, ts->school_id);

      kiosks[i] = lk_test_kiosk_connect (ts, sn, secret);
      g_assert_nonnull (kiosks[i]->connection);
      lk_test_ws_expect (lk_test_ws_wait (kiosks[i], LK_MSG_CODES_SNAPSHOT, NULL, WAIT_MS));
    }

  for (guint round = 0; round < rounds; round++)
    {
      guint authorized = 0, already = 0, winner = N_KIOSKS;
      gint64 claim_id = 0;
      g_autofree char *failed = NULL;
      g_autofree char *fail_id = g_strdup_printf ("f%u", round);
      g_autoptr(LkTestWsMessage) ack = NULL;

      /* All at once: every request is on the wire before any answer is read. */
      for (guint i = 0; i < N_KIOSKS; i++)
        {
          g_autofree char *id = g_strdup_printf ("r%u-k%u", round, i);
          g_autofree char *request = lk_test_claim_request (id, code);

          lk_test_ws_send (kiosks[i], request);
        }

      for (guint i = 0; i < N_KIOSKS; i++)
        {
          g_autofree char *id = g_strdup_printf ("r%u-k%u", round, i);
          g_autoptr(LkTestWsMessage) answer = lk_test_ws_wait (kiosks[i], NULL, id, WAIT_MS);
          const char *type;

          g_assert_nonnull (answer);
          type = json_object_get_string_member (answer->object, "type");
          if (g_str_equal (type, LK_MSG_CLAIM_AUTHORIZED))
            {
              authorized++;
              winner = i;
              claim_id = json_object_get_int_member (answer->object, "claim_id");
            }
          else
            {
              g_assert_cmpstr (type, ==, LK_MSG_CLAIM_REJECTED);
              g_assert_cmpstr (json_object_get_string_member (answer->object, "reason"), ==,
                               LK_REJECT_ALREADY_ISSUED);
              already++;
            }
        }
      g_assert_cmpuint (authorized, ==, 1);
      g_assert_cmpuint (already, ==, N_KIOSKS - 1);
      g_assert_cmpint (lk_store_debug_count (store, "claims", "status = 'reserved'"), ==, 1);

      failed = g_strdup_printf ("{\"type\": \"claim.failed\", \"id\": \"%s\", \"claim_id\": %" G_GINT64_FORMAT
                                ", \"reason\": \"cancelled\", \"card_no\": null}", fail_id, claim_id);
      ack = lk_test_ws_request (kiosks[winner], failed, fail_id, WAIT_MS);
      g_assert_nonnull (ack);
      g_assert_cmpstr (json_object_get_string_member (ack->object, "type"), ==, LK_MSG_ACK);
    }

  /* One claim per round, every one closed; the code is open again, nothing else live. */
  g_assert_cmpint (lk_store_debug_count (store, "claims", NULL), ==, rounds);
  g_assert_cmpint (lk_store_debug_count (store, "claims", "status = 'failed'"), ==, rounds);
  g_assert_cmpint (lk_store_debug_count (store, "claim_codes", "status = 'open'"), ==, 1);

  for (guint i = 0; i < N_KIOSKS; i++)
    lk_test_ws_free (kiosks[i]);
  lk_test_server_free (ts);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/server/race/same-code-eight-kiosks", test_race);

  return g_test_run ();
}
