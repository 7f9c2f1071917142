/* test-store-batch.c: the store's batch writer (group commit), lk_store_run_async()
 *
 * Several submitting threads, each running its own main context as a listener thread does,
 * queue jobs that write through the ordinary store API. Every callback must come on the
 * thread that submitted the job, in submission order, only once the write is committed (a
 * separate connection sees it), and a job that fails, or leaves a transaction open, must leave
 * nothing behind while the jobs around it in the same batch commit. Some jobs take a while, so
 * that the others pile up behind them: the jobs must then share batches (group commit). And a
 * job that runs at once, on its caller's thread, must not wake the idle writer thread.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gstdio.h>

/* The store's private header: a job here opens a transaction itself, as the store's own
 * functions do, to check what the writer does with one left open. */
#include "lk-store-private.h"
#include "lk-test-sqlite.h"

#define N_THREADS 4
#define N_JOBS 200
#define DEADLINE_S 30

typedef enum
{
  JOB_WRITE,          /* creates its school */
  JOB_FAIL,           /* creates its school, then fails: the school must not stay */
  JOB_LEAVE_OPEN,     /* begins a transaction, writes, never commits */
  JOB_SLOW,           /* creates its school, slowly: the jobs behind it must share a batch */
} JobKind;

typedef struct _Submitter Submitter;

typedef struct
{
  Submitter *submitter;
  JobKind    kind;
  guint      index;
  char      *school;
} Job;

struct _Submitter
{
  LkStore      *store;
  guint         number;
  GMainContext *context;
  GThread      *thread;
  guint         done;
  guint         next_expected;
  guint         failures;   /* callbacks that broke a rule (checked by the main thread) */
  GString      *why;
};

static void
job_free (gpointer data)
{
  Job *job = data;

  g_free (job->school);
  g_free (job);
}

static JobKind
kind_for (guint index)
{
  if (index % 17 == 5)
    return JOB_FAIL;
  if (index % 29 == 11)
    return JOB_LEAVE_OPEN;
  if (index % 50 == 1)
    return JOB_SLOW;
  return JOB_WRITE;
}

/* LkStoreJobFunc: on whatever thread runs the batch. */
static gboolean
job_run (LkStore   *store,
         gpointer   data,
         GError   **error)
{
  Job *job = data;
  gint64 school_id;

  if (job->kind == JOB_LEAVE_OPEN)
    {
      /* A transaction begun and forgotten: the writer must roll it back and fail the job. */
      if (!lk_store_begin_immediate (store, error))
        return FALSE;
    }
  school_id = lk_store_school_ensure (store, "测试省", job->school, "pbkdf2-sha256", 1000, NULL, error);
  if (school_id <= 0)
    return FALSE;
  if (job->kind == JOB_FAIL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED, "failing on purpose");
      return FALSE;
    }
  if (job->kind == JOB_SLOW)
    g_usleep (20 * G_TIME_SPAN_MILLISECOND);
  return TRUE;
}

static gint64
count_school (LkStore    *store,
              const char *school)
{
  g_autofree char *where = g_strdup_printf ("name = '%s'", school);

  return lk_store_debug_count (store, "schools", where);
}

static void
fail (Submitter  *submitter,
      const char *format,
      ...) G_GNUC_PRINTF (2, 3);

static void
fail (Submitter  *submitter,
      const char *format,
      ...)
{
  va_list args;

  submitter->failures++;
  va_start (args, format);
  if (submitter->why->len < 2000)
    {
      g_string_append_vprintf (submitter->why, format, args);
      g_string_append_c (submitter->why, '\n');
    }
  va_end (args);
}

static void
job_done_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  Submitter *submitter = user_data;
  Job *job = lk_store_run_get_data (result);
  g_autoptr(GError) error = NULL;
  gboolean ok = lk_store_run_finish (result, &error);
  gint64 count;

  if (!g_main_context_is_owner (submitter->context))
    fail (submitter, "job %u: callback outside the submitting thread's context", job->index);
  if (job->index != submitter->next_expected)
    fail (submitter, "job %u: callback out of order (expected %u)", job->index, submitter->next_expected);
  submitter->next_expected = job->index + 1;

  /* This thread's own connection, not the batch's: it sees only committed data. */
  count = count_school (submitter->store, job->school);
  switch (job->kind)
    {
    case JOB_WRITE:
    case JOB_SLOW:
      if (!ok)
        fail (submitter, "job %u: failed: %s", job->index, error->message);
      if (count != 1)
        fail (submitter, "job %u: school not committed when the callback ran (%" G_GINT64_FORMAT ")",
              job->index, count);
      break;
    case JOB_FAIL:
      if (ok || !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_FAILED))
        fail (submitter, "job %u: its own error did not come back", job->index);
      if (count != 0)
        fail (submitter, "job %u: a failed job's write stayed", job->index);
      break;
    case JOB_LEAVE_OPEN:
      if (ok || !g_error_matches (error, LK_STORE_ERROR, LK_STORE_ERROR_FAILED))
        fail (submitter, "job %u: a transaction left open was not an error", job->index);
      if (count != 0)
        fail (submitter, "job %u: a job's unfinished transaction was committed", job->index);
      break;
    default:
      g_assert_not_reached ();
    }
  submitter->done++;
}

static gpointer
submitter_thread (gpointer data)
{
  Submitter *submitter = data;
  gint64 deadline = g_get_monotonic_time () + DEADLINE_S * G_USEC_PER_SEC;

  g_main_context_push_thread_default (submitter->context);
  for (guint i = 0; i < N_JOBS; i++)
    {
      Job *job = g_new0 (Job, 1);

      job->submitter = submitter;
      job->index = i;
      job->kind = kind_for (i);
      job->school = g_strdup_printf ("学校-%u-%u", submitter->number, i);
      lk_store_run_async (submitter->store, job_run, job, job_free, job_done_cb, submitter);
      /* Let some callbacks run between submissions, as a listener thread would. */
      if (i % 7 == 0)
        g_main_context_iteration (submitter->context, FALSE);
    }
  while (submitter->done < N_JOBS && g_get_monotonic_time () < deadline)
    g_main_context_iteration (submitter->context, TRUE);
  g_main_context_pop_thread_default (submitter->context);
  return NULL;
}

static void
test_batch_many_threads (void)
{
  g_autofree char *dir = g_dir_make_tmp ("lingka-batch-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "lingka.db", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(LkStore) store = NULL;
  Submitter submitters[N_THREADS] = { { 0 } };
  guint expected_schools = 0;
  guint64 batches = 0, batched_jobs = 0;

  store = lk_store_new (path, "NORMAL", &error);
  g_assert_no_error (error);

  for (guint t = 0; t < N_THREADS; t++)
    {
      submitters[t].store = store;
      submitters[t].number = t;
      submitters[t].context = g_main_context_new ();
      submitters[t].why = g_string_new (NULL);
      submitters[t].thread = g_thread_new ("submitter", submitter_thread, &submitters[t]);
    }
  for (guint t = 0; t < N_THREADS; t++)
    {
      g_thread_join (submitters[t].thread);
      g_assert_cmpstr (submitters[t].why->str, ==, "");
      g_assert_cmpuint (submitters[t].failures, ==, 0);
      g_assert_cmpuint (submitters[t].done, ==, N_JOBS);
      g_main_context_unref (submitters[t].context);
      g_string_free (submitters[t].why, TRUE);
    }

  for (guint i = 0; i < N_JOBS; i++)
    if (kind_for (i) == JOB_WRITE || kind_for (i) == JOB_SLOW)
      expected_schools += N_THREADS;
  g_assert_cmpint (lk_store_debug_count (store, "schools", "name LIKE '学校-%'"), ==, expected_schools);

  /* Group commit: the jobs that piled up behind the slow ones shared transactions. */
  lk_store_debug_batch_stats (store, &batches, &batched_jobs);
  g_test_message ("%" G_GUINT64_FORMAT " jobs in %" G_GUINT64_FORMAT " batches", batched_jobs, batches);
  g_assert_cmpuint (batched_jobs, ==, N_THREADS * N_JOBS);
  g_assert_cmpuint (batches, <, batched_jobs / 2);

  lk_store_stop_writer (store);
  g_clear_object (&store);
  lk_test_sqlite_remove_files (path);
  g_rmdir (dir);
}

static gboolean
ensure (LkStore     *store,
        const char  *name,
        GError     **error)
{
  return lk_store_school_ensure (store, "测试省", name, "pbkdf2-sha256", 1000, NULL, error) > 0;
}

/* GAsyncReadyCallback of a job that must succeed: counts it done (on whichever thread). */
static void
count_done_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  gint *done = user_data;
  g_autoptr(GError) error = NULL;

  g_assert_true (lk_store_run_finish (result, &error));
  g_assert_no_error (error);
  g_atomic_int_inc (done);
}

/* --- the writer is not woken for batches that ran at once --- */

typedef struct
{
  LkStore  *store;
  GMutex    mutex;
  GCond     cond;
  gboolean  queued;   /* the main thread's job is queued behind the helper's batch */
  gint      done;      /* callbacks run, on either thread */
} IdleWriter;

/* LkStoreJobFunc: holds its batch until the main thread has queued a job behind it. */
static gboolean
hold_until_queued (LkStore   *store,
                   gpointer   data,
                   GError   **error)
{
  IdleWriter *idle = data;
  gint64 deadline = g_get_monotonic_time () + DEADLINE_S * G_USEC_PER_SEC;

  g_mutex_lock (&idle->mutex);
  while (!idle->queued)
    if (!g_cond_wait_until (&idle->cond, &idle->mutex, deadline))
      break;
  g_mutex_unlock (&idle->mutex);
  return ensure (store, "等待的学校", error);
}

static gboolean
write_school (LkStore   *store,
              gpointer   data,
              GError   **error)
{
  g_autofree char *name = g_strdup_printf ("学校-%u", GPOINTER_TO_UINT (data));

  return ensure (store, name, error);
}

static gpointer
hold_thread (gpointer data)
{
  IdleWriter *idle = data;
  g_autoptr(GMainContext) context = g_main_context_new ();
  gint64 deadline = g_get_monotonic_time () + DEADLINE_S * G_USEC_PER_SEC;
  gint before = g_atomic_int_get (&idle->done);

  g_main_context_push_thread_default (context);
  lk_store_run_async (idle->store, hold_until_queued, idle, NULL, count_done_cb, &idle->done);
  while (g_atomic_int_get (&idle->done) == before && g_get_monotonic_time () < deadline)
    g_main_context_iteration (context, TRUE);
  g_main_context_pop_thread_default (context);
  return NULL;
}

static void
wait_done (IdleWriter *idle,
           gint        count)
{
  gint64 deadline = g_get_monotonic_time () + DEADLINE_S * G_USEC_PER_SEC;

  while (g_atomic_int_get (&idle->done) < count && g_get_monotonic_time () < deadline)
    g_main_context_iteration (g_main_context_get_thread_default (), TRUE);
  g_assert_cmpint (g_atomic_int_get (&idle->done), ==, count);
}

/* A job run at once, on the caller's thread while no batch runs, used to wake the waiting
 * writer thread when it ended, for nothing: a futex call and two context switches each. */
static void
test_batch_idle_writer_sleeps (void)
{
  g_autofree char *dir = g_dir_make_tmp ("lingka-batch-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "lingka.db", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GMainContext) context = g_main_context_new ();
  IdleWriter idle = { 0 };
  GThread *helper;
  guint64 batches = 0, jobs = 0, wakeups_before, wakeups_after;

  g_main_context_push_thread_default (context);
  idle.store = lk_store_new (path, "NORMAL", &error);
  g_assert_no_error (error);
  g_mutex_init (&idle.mutex);
  g_cond_init (&idle.cond);

  /* The writer thread starts when a job has to queue: behind a batch that the helper thread
   * holds open until this thread's job is in the queue. */
  helper = g_thread_new ("hold", hold_thread, &idle);
  for (;;)
    {
      lk_store_debug_batch_stats (idle.store, &batches, &jobs);
      if (batches > 0)
        break;
      g_usleep (1000);
    }
  lk_store_run_async (idle.store, write_school, GUINT_TO_POINTER (0), NULL, count_done_cb, &idle.done);
  g_mutex_lock (&idle.mutex);
  idle.queued = TRUE;
  g_cond_signal (&idle.cond);
  g_mutex_unlock (&idle.mutex);
  g_thread_join (helper);
  wait_done (&idle, 2);
  lk_store_debug_batch_stats (idle.store, &batches, &jobs);
  g_assert_cmpuint (batches, ==, 2);   /* the held one, then the writer's */

  /* Now one job at a time: each runs at once, here, and the writer sleeps through them. */
  g_usleep (20 * 1000);
  wakeups_before = lk_store_debug_batch_wakes (idle.store);
  for (guint i = 1; i <= 50; i++)
    {
      lk_store_run_async (idle.store, write_school, GUINT_TO_POINTER (i), NULL, count_done_cb, &idle.done);
      wait_done (&idle, 2 + i);
    }
  g_usleep (20 * 1000);
  wakeups_after = lk_store_debug_batch_wakes (idle.store);
  g_test_message ("wake-ups sent to the idle writer: %" G_GUINT64_FORMAT " in 50 jobs",
                  wakeups_after - wakeups_before);
  g_assert_cmpuint (wakeups_after - wakeups_before, ==, 0);
  g_assert_cmpint (lk_store_debug_count (idle.store, "schools", "name LIKE '学校-%'"), ==, 51);

  lk_store_stop_writer (idle.store);
  g_clear_object (&idle.store);
  g_main_context_pop_thread_default (context);
  g_mutex_clear (&idle.mutex);
  g_cond_clear (&idle.cond);
  lk_test_sqlite_remove_files (path);
  g_rmdir (dir);
}

/* --- transactions nested inside a job --- */

/* LkStoreJobFunc: nested write transactions, rolled back and committed, at the start of the
 * job (where they share the job's savepoint) and after a write (where they need their own). */
static gboolean
nested_job (LkStore   *store,
            gpointer   data,
            GError   **error)
{
  /* A: begun before anything was written, rolled back, then the job goes on. */
  g_assert_true (lk_store_begin_immediate (store, error));
  g_assert_true (ensure (store, "嵌套-A1", error));
  lk_store_rollback (store);
  g_assert_true (ensure (store, "嵌套-A2", error));

  /* B: begun after a write, rolled back: the write before it stays. */
  g_assert_true (lk_store_begin_immediate (store, error));
  g_assert_true (ensure (store, "嵌套-B1", error));
  lk_store_rollback (store);

  /* C: two levels begun at once; the inner one rolled back, the outer one committed. */
  g_assert_true (lk_store_begin_immediate (store, error));
  g_assert_true (lk_store_begin_immediate (store, error));
  g_assert_true (lk_store_begin_immediate (store, error));
  g_assert_true (ensure (store, "嵌套-C1", error));
  lk_store_rollback (store);
  g_assert_true (ensure (store, "嵌套-C2", error));
  g_assert_true (lk_store_commit (store, error));
  g_assert_true (lk_store_commit (store, error));

  /* D: a read level between: the write level inside it has a savepoint of its own. */
  g_assert_true (lk_store_begin (store, error));
  g_assert_true (lk_store_begin_immediate (store, error));
  g_assert_true (ensure (store, "嵌套-D1", error));
  lk_store_rollback (store);
  lk_store_rollback (store);
  return TRUE;
}

static void
test_batch_nested (void)
{
  g_autofree char *dir = g_dir_make_tmp ("lingka-batch-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "lingka.db", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(LkStore) store = NULL;
  gint done = 0;
  const struct { const char *name; gint64 count; } expected[] = {
    { "嵌套-A1", 0 }, { "嵌套-A2", 1 }, { "嵌套-B1", 0 }, { "嵌套-C1", 0 }, { "嵌套-C2", 1 },
    { "嵌套-D1", 0 },
  };

  g_main_context_push_thread_default (context);
  store = lk_store_new (path, "NORMAL", &error);
  g_assert_no_error (error);
  lk_store_run_async (store, nested_job, NULL, NULL, count_done_cb, &done);
  while (g_atomic_int_get (&done) == 0)
    g_main_context_iteration (context, TRUE);
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      g_test_message ("%s", expected[i].name);
      g_assert_cmpint (count_school (store, expected[i].name), ==, expected[i].count);
    }

  lk_store_stop_writer (store);
  g_clear_object (&store);
  g_main_context_pop_thread_default (context);
  lk_test_sqlite_remove_files (path);
  g_rmdir (dir);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/store/batch/many-threads", test_batch_many_threads);
  g_test_add_func ("/store/batch/idle-writer-sleeps", test_batch_idle_writer_sleeps);
  g_test_add_func ("/store/batch/nested", test_batch_nested);

  return g_test_run ();
}
