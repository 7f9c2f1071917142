/* bench-roster.c: parse+validate time, peak memory and main-loop stalls of a roster import
 *
 *   bench-roster FILE                     read and validate, build the frame
 *   bench-roster FILE URL USER            ... and upload it (password in $BENCH_PASSWORD)
 *
 * The file is read the way the app reads it: lk_roster_read_file_async, with a 10 ms timer
 * ticking on the main loop; the longest gap between ticks is the longest time a window would
 * have been frozen. Peak memory is the process's maximum resident set (getrusage).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "lingka-common.h"
#include "lk-api-client.h"
#include "lk-import-upload.h"
#include "lk-roster-reader.h"

#define TICK_MS 10

typedef struct
{
  gint64        last_tick;
  gint64        max_gap;
  GAsyncResult *result;
} Bench;

static gboolean
on_tick_cb (gpointer user_data)
{
  Bench *bench = user_data;
  gint64 now = g_get_monotonic_time ();

  if (bench->last_tick != 0 && now - bench->last_tick > bench->max_gap)
    bench->max_gap = now - bench->last_tick;
  bench->last_tick = now;
  return G_SOURCE_CONTINUE;
}

static void
on_ready_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  Bench *bench = user_data;

  bench->result = g_object_ref (result);
}

static void
wait_result (Bench *bench)
{
  guint tick = g_timeout_add (TICK_MS, on_tick_cb, bench);

  bench->last_tick = 0;
  bench->max_gap = 0;
  while (bench->result == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (tick);
}

static double
peak_rss_mb (void)
{
  struct rusage usage;

  getrusage (RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024.0;
}

/* CPU time of the whole process (all threads), user + system: on a loaded machine this is
 * what the work costs, whatever the wall clock says. */
static double
cpu_seconds (void)
{
  struct rusage usage;

  getrusage (RUSAGE_SELF, &usage);
  return usage.ru_utime.tv_sec + usage.ru_stime.tv_sec +
         (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

static double
seconds_since (gint64 start)
{
  return (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GFile) file = NULL;
  g_autoptr(GPtrArray) rows = NULL;
  g_autoptr(GPtrArray) errors = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) frame = NULL;
  g_autofree char *checksum = NULL;
  Bench bench = { 0 };
  double rss_before, parse_s, frame_s, cpu_start, parse_cpu;
  gint64 start;

  if (argc != 2 && argc != 4)
    {
      fprintf (stderr, "usage: %s FILE [URL USER]   (password in $BENCH_PASSWORD)\n", argv[0]);
      return 2;
    }
  lk_i18n_init ("en");

  file = g_file_new_for_commandline_arg (argv[1]);
  rss_before = peak_rss_mb ();
  start = g_get_monotonic_time ();
  cpu_start = cpu_seconds ();
  lk_roster_read_file_async (file, NULL, NULL, NULL, NULL, on_ready_cb, &bench);
  wait_result (&bench);
  rows = lk_roster_read_file_finish (bench.result, &errors, &error);
  parse_s = seconds_since (start);
  parse_cpu = cpu_seconds () - cpu_start;
  g_clear_object (&bench.result);
  if (rows == NULL)
    {
      fprintf (stderr, "%s: %s\n", argv[1], error->message);
      return 1;
    }

  printf ("rows: %u, row errors: %u\n", rows->len, errors->len);
  printf ("parse+validate: %.3f s wall, %.3f s CPU (%.0f rows/s of CPU)\n", parse_s, parse_cpu,
          rows->len / parse_cpu);
  printf ("longest main-loop stall while reading: %.1f ms\n", bench.max_gap / 1000.0);
  printf ("peak RSS: %.1f MB (%.1f MB before reading)\n", peak_rss_mb (), rss_before);

  start = g_get_monotonic_time ();
  cpu_start = cpu_seconds ();
  frame = lk_import_frame_build (rows);
  checksum = lk_import_rows_checksum (rows);
  frame_s = seconds_since (start);
  printf ("frame: %.1f MB, built and checksummed in %.3f s wall, %.3f s CPU\n",
          g_bytes_get_size (frame) / (1024.0 * 1024.0), frame_s, cpu_seconds () - cpu_start);

  if (argc == 4)
    {
      g_autoptr(LkApiClient) client = lk_api_client_new (argv[2]);
      g_autoptr(LkImportUpload) upload = NULL;
      const char *password = g_getenv ("BENCH_PASSWORD");
      LkImportResult result = { 0 };
      gboolean ok;

      if (password == NULL)
        {
          fprintf (stderr, "BENCH_PASSWORD is not set\n");
          return 2;
        }
      lk_api_client_login_async (client, argv[3], password, NULL, on_ready_cb, &bench);
      wait_result (&bench);
      ok = lk_api_client_login_finish (client, bench.result, &error);
      g_clear_object (&bench.result);
      if (!ok)
        {
          fprintf (stderr, "login: %s\n", error->message);
          return 1;
        }

      upload = lk_import_upload_new (client, rows);
      start = g_get_monotonic_time ();
      lk_import_upload_run_async (upload, NULL, on_ready_cb, &bench);
      wait_result (&bench);
      ok = lk_import_upload_run_finish (upload, bench.result, &result, &error);
      g_clear_object (&bench.result);
      if (!ok)
        {
          fprintf (stderr, "upload: %s\n", error->message);
          return 1;
        }
      printf ("upload (frame, echo compared, commit): %.3f s, %u attempt(s), "
              "%" G_GINT64_FORMAT " inserted, %" G_GINT64_FORMAT " updated, %" G_GINT64_FORMAT
              " unchanged\n", seconds_since (start), result.attempts, result.inserted,
              result.updated, result.unchanged);
      printf ("longest main-loop stall while uploading: %.1f ms\n", bench.max_gap / 1000.0);
      printf ("peak RSS after upload: %.1f MB\n", peak_rss_mb ());
    }

  return 0;
}
