/* test-kiosk-cli.c: the kiosk's config file, and lingka-kiosk's command line: the service mode
 * runs with no display and no server, against the simulator on a real pty
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gstdio.h>

#include "lk-dispenser-sim.h"
#include "lk-kiosk-config.h"
#include "lk-kiosk-error.h"
#include "lk-kiosk-test-util.h"

static void
test_example_config (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(LkKioskConfig) config = lk_kiosk_config_new_from_file (KIOSK_EXAMPLE_CONFIG, &error);
  gsize key_len = 1;

  g_assert_no_error (error);
  g_assert_cmpstr (lk_kiosk_config_get_server_url (config), ==, "https://lingka.example.edu.cn");
  g_assert_cmpstr (lk_kiosk_config_get_sn (config), ==, "K-0001");
  g_assert_cmpstr (lk_kiosk_config_get_serial_port (config), ==, "/dev/ttyUSB0");
  g_assert_cmpuint (lk_kiosk_config_get_dispenser_address (config), ==, 0);
  g_assert_cmpuint (lk_kiosk_config_get_baud (config), ==, 9600);
  g_assert_null (lk_kiosk_config_get_card_key (config, &key_len));
  g_assert_cmpuint (key_len, ==, 0);
  g_assert_cmpstr (lk_kiosk_config_get_language (config), ==, "zh_CN");
  g_assert_cmpstr (lk_kiosk_config_get_service_pin (config), ==, "246810");
  g_assert_cmpstr (lk_kiosk_config_get_school_name (config), ==, "杭州市文三街小学");
  g_assert_cmpstr (lk_kiosk_config_get_data_dir (config), ==, "/var/lib/lingka-kiosk");
}

static void
test_config_values (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(LkKioskConfig) config = NULL;
  const guint8 *key;
  gsize key_len;

  config = lk_kiosk_config_new_from_data ("[kiosk]\nserver_url=http://10.0.0.5:8080/\nsn=K-9\n"
                                          "secret=abc\nserial_port=pty:/dev/pts/7\nbaud=38400\n"
                                          "dispenser_address=12\ncard_key=A0b1\nlanguage=en\n",
                                          &error);
  g_assert_no_error (error);
  g_assert_cmpuint (lk_kiosk_config_get_baud (config), ==, 38400);
  g_assert_cmpuint (lk_kiosk_config_get_dispenser_address (config), ==, 12);
  key = lk_kiosk_config_get_card_key (config, &key_len);
  g_assert_cmpmem (key, key_len, "\xa0\xb1", 2);
  g_assert_cmpstr (lk_kiosk_config_get_language (config), ==, "en");
  /* No PIN: the service screen stays closed. */
  g_assert_null (lk_kiosk_config_get_service_pin (config));
}

static void
test_config_errors (void)
{
  const char *bad[] = {
    "[other]\nsn=x\n",
    "[kiosk]\nserver_url=http://a\nsecret=s\nserial_port=/dev/ttyS0\n",               /* no sn */
    "[kiosk]\nserver_url=ftp://a\nsn=x\nsecret=s\nserial_port=/dev/ttyS0\n",          /* scheme */
    "[kiosk]\nserver_url=http://a\nsn=x\nsecret=s\nserial_port=/dev/ttyS0\nbaud=fast\n",
    "[kiosk]\nserver_url=http://a\nsn=x\nsecret=s\nserial_port=/dev/ttyS0\ncard_key=abc\n",
    "[kiosk]\nserver_url=http://a\nsn=x\nsecret=s\nserial_port=/dev/ttyS0\ncard_key=zz\n",
    "[kiosk]\nserver_url=http://a\nsn=x\nsecret=s\nserial_port=/dev/ttyS0\nservice_pin=12a4\n",
    "[kiosk]\nserver_url=http://a\nsn=x\nsecret=s\nserial_port=/dev/ttyS0\ndispenser_address=16\n",
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(LkKioskConfig) config = lk_kiosk_config_new_from_data (bad[i], &error);

      g_assert_null (config);
      g_assert_error (error, LK_KIOSK_ERROR, LK_KIOSK_ERROR_CONFIG);
    }
}

static char *
write_config (const char *dir,
              const char *port)
{
  g_autoptr(GError) error = NULL;
  char *path = g_build_filename (dir, "kiosk.conf", NULL);
  g_autofree char *text = g_strdup_printf ("[kiosk]\nserver_url=http://127.0.0.1:9\nsn=K-CLI\n"
                                           "secret=s\nserial_port=%s\nlanguage=en\n"
                                           "data_dir=%s\n", port, dir);

  g_file_set_contents (path, text, -1, &error);
  g_assert_no_error (error);
  return path;
}

static GSubprocess *
spawn_kiosk (GError     **error,
             const char  *first_arg,
             ...)
{
  g_autoptr(GSubprocessLauncher) launcher =
    g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  va_list ap;

  /* No display at all: the service mode must not need one (MEASURED.md, pitfall 10). */
  g_subprocess_launcher_unsetenv (launcher, "DISPLAY");
  g_subprocess_launcher_unsetenv (launcher, "WAYLAND_DISPLAY");
  g_ptr_array_add (argv, (char *) LINGKA_KIOSK_PATH);
  va_start (ap, first_arg);
  for (const char *arg = first_arg; arg != NULL; arg = va_arg (ap, const char *))
    g_ptr_array_add (argv, (char *) arg);
  va_end (ap);
  g_ptr_array_add (argv, NULL);
  return g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, error);
}

static void
test_service_mode (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(LkDispenserSim) sim = NULL;
  g_autoptr(GSubprocess) proc = NULL;
  g_autofree char *dir = g_dir_make_tmp (NULL, NULL);
  g_autofree char *config = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  LkDispenserSimOptions options;

  lk_dispenser_sim_options_init (&options);
  options.motion_ms = 5;
  sim = lk_dispenser_sim_new (&options, &error);
  g_assert_no_error (error);
  config = write_config (dir, lk_dispenser_sim_get_port (sim));

  proc = spawn_kiosk (&error, "--config", config, "--service", "status", NULL);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_communicate_utf8 (proc, NULL, NULL, &out, &err, &error));
  g_assert_no_error (error);
  if (!g_subprocess_get_if_exited (proc) || g_subprocess_get_exit_status (proc) != 0)
    g_error ("--service status failed:\n%s\n%s", out, err);
  g_assert_cmpuint (strlen (out), >, 0);
  g_clear_object (&proc);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* The test issue dispenses a card and leaves it in the reject box. */
  proc = spawn_kiosk (&error, "--config", config, "--service", "test-issue", NULL);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_communicate_utf8 (proc, NULL, NULL, &out, &err, &error));
  if (!g_subprocess_get_if_exited (proc) || g_subprocess_get_exit_status (proc) != 0)
    g_error ("--service test-issue failed:\n%s\n%s", out, err);
  g_assert_cmpuint (lk_dispenser_sim_get_reject_count (sim), ==, 1);
  g_clear_object (&proc);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* A jammed dispenser: the test issue fails, and says so in its exit status. */
  g_free (lk_dispenser_sim_command (sim, "jam"));
  proc = spawn_kiosk (&error, "--config", config, "--service", "test-issue", NULL);
  g_assert_true (g_subprocess_communicate_utf8 (proc, NULL, NULL, &out, &err, &error));
  g_assert_true (g_subprocess_get_if_exited (proc));
  g_assert_cmpint (g_subprocess_get_exit_status (proc), ==, 1);

  lk_test_remove_tree (dir);
}

static void
test_bad_config_exit (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocess) proc = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;

  proc = spawn_kiosk (&error, "--config", "/nonexistent/kiosk.conf", "--service", "status", NULL);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_communicate_utf8 (proc, NULL, NULL, &out, &err, &error));
  g_assert_true (g_subprocess_get_if_exited (proc));
  g_assert_cmpint (g_subprocess_get_exit_status (proc), ==, 2);
  g_assert_nonnull (strstr (err, "/nonexistent/kiosk.conf"));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/kiosk/config/example", test_example_config);
  g_test_add_func ("/kiosk/config/values", test_config_values);
  g_test_add_func ("/kiosk/config/errors", test_config_errors);
  g_test_add_func ("/kiosk/cli/service-mode", test_service_mode);
  g_test_add_func ("/kiosk/cli/bad-config", test_bad_config_exit);

  return g_test_run ();
}
