/* test-service.c: the technician's service mode against the simulator, in-process and as
 * the lingka-dispenser-sim program driven through stdin and its control socket
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <signal.h>
#include <string.h>

#include <glib/gstdio.h>

#include "lingka-common.h"
#include "lk-dispenser-test-util.h"
#include "lk-service.h"

typedef struct
{
  LkDispenserSim *sim;
  GPtrArray      *lines;
} Fixture;

static void
on_line (const char *line,
         gpointer    data)
{
  Fixture *fixture = data;

  g_test_message ("service: %s", line);
  g_ptr_array_add (fixture->lines, g_strdup (line));
}

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  LkDispenserSimOptions options;
  g_autoptr(GError) error = NULL;

  lk_test_sim_options (&options);
  fixture->sim = lk_dispenser_sim_new (&options, &error);
  g_assert_no_error (error);
  fixture->lines = g_ptr_array_new_with_free_func (g_free);
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
  g_clear_object (&fixture->sim);
  g_ptr_array_unref (fixture->lines);
}

static int
run_service (Fixture    *fixture,
             const char *port,
             const char *mode)
{
  g_autoptr(GError) error = NULL;
  int status;

  g_ptr_array_set_size (fixture->lines, 0);
  status = lk_service_run_full (port, 0, 9600, NULL, 0, mode, on_line, fixture, &error);
  g_assert_no_error (error);
  return status;
}

static guint
count_lines (Fixture    *fixture,
             const char *prefix)
{
  guint n = 0;

  for (guint i = 0; i < fixture->lines->len; i++)
    if (g_str_has_prefix (g_ptr_array_index (fixture->lines, i), prefix))
      n++;
  return n;
}

static gboolean
has_line (Fixture    *fixture,
          const char *needle)
{
  for (guint i = 0; i < fixture->lines->len; i++)
    if (strstr (g_ptr_array_index (fixture->lines, i), needle) != NULL)
      return TRUE;
  return FALSE;
}

/* Lines are in zh_CN, the kiosk's first language. */
#define PASS "[通过]"
#define FAIL "[失败]"

static void
test_status_ok (Fixture       *fixture,
                gconstpointer  data)
{
  int status = run_service (fixture, lk_dispenser_sim_get_port (fixture->sim), "status");

  g_assert_cmpint (status, ==, 0);
  g_assert_cmpuint (count_lines (fixture, FAIL), ==, 0);
  /* open, read the status, ready */
  g_assert_cmpuint (count_lines (fixture, PASS), ==, 3);
  g_assert_true (has_line (fixture, "状态字节：0000"));
  g_assert_true (has_line (fixture, "就绪，无故障"));
  g_assert_true (has_line (fixture, "卡片存量：正常"));
}

static void
test_status_faults (Fixture       *fixture,
                    gconstpointer  data)
{
  int status;

  lk_test_sim_ok (fixture->sim, "jam");
  lk_test_sim_ok (fixture->sim, "empty");
  status = run_service (fixture, lk_dispenser_sim_get_port (fixture->sim), "status");
  g_assert_cmpint (status, ==, 1);
  g_assert_true (has_line (fixture, "卡片堵塞"));
  g_assert_true (has_line (fixture, "卡箱空"));
  g_assert_true (has_line (fixture, "卡片存量：已空"));
  g_assert_true (has_line (fixture, "jam, empty"));
  g_assert_cmpuint (count_lines (fixture, FAIL), ==, 1);
}

static void
test_test_issue_ok (Fixture       *fixture,
                    gconstpointer  data)
{
  int status = run_service (fixture, lk_dispenser_sim_get_port (fixture->sim), "test-issue");

  g_assert_cmpint (status, ==, 0);
  g_assert_cmpuint (count_lines (fixture, FAIL), ==, 0);
  /* open, status, dispense, card number, write, verify, capture */
  g_assert_cmpuint (count_lines (fixture, PASS), ==, 7);
  g_assert_true (has_line (fixture, "读取卡号：A1B2C3D4"));
  g_assert_true (has_line (fixture, "测试发卡通过。"));
  g_assert_cmpuint (lk_dispenser_sim_get_reject_count (fixture->sim), ==, 1);
  g_assert_cmpuint (lk_dispenser_sim_get_taken_count (fixture->sim), ==, 0);
}

static void
test_test_issue_write_failure (Fixture       *fixture,
                               gconstpointer  data)
{
  int status;

  lk_test_sim_ok (fixture->sim, "fail-write 10");
  status = run_service (fixture, lk_dispenser_sim_get_port (fixture->sim), "test-issue");
  g_assert_cmpint (status, ==, 1);
  g_assert_true (has_line (fixture, FAIL " 写入测试块 10：无法写卡"));
  /* the card still went into the reject box */
  g_assert_true (has_line (fixture, PASS " 将卡回收到废卡箱"));
  g_assert_true (has_line (fixture, "测试发卡失败。"));
  g_assert_cmpuint (lk_dispenser_sim_get_reject_count (fixture->sim), ==, 1);
}

static void
test_test_issue_capture_failure (Fixture       *fixture,
                                 gconstpointer  data)
{
  int status;

  lk_test_sim_ok (fixture->sim, "reject-full");
  /* a full reject box is refused up front: no card moves */
  status = run_service (fixture, lk_dispenser_sim_get_port (fixture->sim), "test-issue");
  g_assert_cmpint (status, ==, 1);
  g_assert_true (has_line (fixture, FAIL " 检查发卡机状态"));
  g_assert_cmpuint (lk_dispenser_sim_get_stock (fixture->sim), ==, 10);
}

static void
test_test_issue_empty (Fixture       *fixture,
                       gconstpointer  data)
{
  int status;

  lk_test_sim_ok (fixture->sim, "empty");
  status = run_service (fixture, lk_dispenser_sim_get_port (fixture->sim), "test-issue");
  g_assert_cmpint (status, ==, 1);
  g_assert_true (has_line (fixture, "卡箱已空"));
}

static void
test_bad_arguments (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  int status;

  status = lk_service_run_full (lk_dispenser_sim_get_port (fixture->sim), 0, 9600, NULL, 0,
                                "dance", on_line, fixture, &error);
  g_assert_cmpint (status, ==, 2);
  g_assert_error (error, LK_DISPENSER_ERROR, LK_DISPENSER_ERROR_CONFIG);
  g_clear_error (&error);

  status = lk_service_run_full ("", 0, 9600, NULL, 0, "status", on_line, fixture, &error);
  g_assert_cmpint (status, ==, 2);
  g_clear_error (&error);

  /* a port that does not open is a failed step, not a bad argument */
  status = run_service (fixture, "/nonexistent/ttyUSB7", "status");
  g_assert_cmpint (status, ==, 1);
  g_assert_true (has_line (fixture, FAIL " 打开串口"));
}

/* The simulator program: port on the first line, commands on stdin and the control socket. */
typedef struct
{
  GSubprocess      *process;
  GDataInputStream *out;
  GOutputStream    *in;
} SimProcess;

static char *
sim_process_command (SimProcess *sim,
                     const char *command)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *line = g_strconcat (command, "\n", NULL);
  char *answer;

  g_assert_true (g_output_stream_write_all (sim->in, line, strlen (line), NULL, NULL, &error));
  answer = g_data_input_stream_read_line_utf8 (sim->out, NULL, NULL, &error);
  g_assert_no_error (error);
  return answer;
}

static char *
control_command (const char *path,
                 const char *command)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketAddress) address = g_unix_socket_address_new (path);
  g_autoptr(GSocketConnection) connection = NULL;
  g_autoptr(GDataInputStream) input = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *line = g_strconcat (command, "\n", NULL);
  char *answer;

  connection = g_socket_client_connect (client, G_SOCKET_CONNECTABLE (address), NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_output_stream_write_all (
    g_io_stream_get_output_stream (G_IO_STREAM (connection)), line, strlen (line), NULL, NULL,
    &error));
  input = g_data_input_stream_new (g_io_stream_get_input_stream (G_IO_STREAM (connection)));
  answer = g_data_input_stream_read_line_utf8 (input, NULL, NULL, &error);
  g_assert_no_error (error);
  return answer;
}

static void
test_sim_program (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp (NULL, &error);
  g_autofree char *control = g_build_filename (dir, "control", NULL);
  g_autofree char *port = NULL;
  g_autofree char *answer = NULL;
  g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func (g_free);
  Fixture fixture = { NULL, lines };
  SimProcess sim;
  int status;

  g_assert_no_error (error);
  sim.process = g_subprocess_new (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE,
                                  &error, LK_DISPENSER_SIM_PATH, "--cards", "3", "--motion-ms",
                                  "20", "--auto-take", "50", "--control", control, NULL);
  g_assert_no_error (error);
  sim.out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (sim.process));
  sim.in = g_subprocess_get_stdin_pipe (sim.process);

  port = g_data_input_stream_read_line_utf8 (sim.out, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (port, "pty:/dev/"));

  answer = sim_process_command (&sim, "jam");
  g_assert_cmpstr (answer, ==, "ok");
  g_clear_pointer (&answer, g_free);

  status = run_service (&fixture, port, "status");
  g_assert_cmpint (status, ==, 1);
  g_assert_true (has_line (&fixture, "卡片堵塞"));

  /* the control socket reaches the same simulator */
  answer = control_command (control, "clear");
  g_assert_cmpstr (answer, ==, "ok");
  g_clear_pointer (&answer, g_free);

  status = run_service (&fixture, port, "status");
  g_assert_cmpint (status, ==, 0);
  status = run_service (&fixture, port, "test-issue");
  g_assert_cmpint (status, ==, 0);

  answer = sim_process_command (&sim, "status");
  g_assert_nonnull (strstr (answer, "stock=2 reject=1"));
  g_clear_pointer (&answer, g_free);
  answer = control_command (control, "bogus");
  g_assert_true (g_str_has_prefix (answer, "error:"));

  g_subprocess_send_signal (sim.process, SIGTERM);
  g_assert_true (g_subprocess_wait (sim.process, NULL, &error));
  g_assert_true (g_subprocess_get_if_exited (sim.process));
  g_assert_cmpint (g_subprocess_get_exit_status (sim.process), ==, 0);
  /* the socket is gone with the program */
  g_assert_false (g_file_test (control, G_FILE_TEST_EXISTS));

  g_object_unref (sim.out);
  g_object_unref (sim.process);
  g_rmdir (dir);
}

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)

int
main (int   argc,
      char *argv[])
{
  lk_i18n_init ("zh_CN");
  g_test_init (&argc, &argv, NULL);

  ADD ("/service/status/ok", test_status_ok);
  ADD ("/service/status/faults", test_status_faults);
  ADD ("/service/test-issue/ok", test_test_issue_ok);
  ADD ("/service/test-issue/write-failure", test_test_issue_write_failure);
  ADD ("/service/test-issue/reject-full", test_test_issue_capture_failure);
  ADD ("/service/test-issue/empty", test_test_issue_empty);
  ADD ("/service/bad-arguments", test_bad_arguments);
  g_test_add_func ("/service/sim-program", test_sim_program);

  return g_test_run ();
}
