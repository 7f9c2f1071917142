/* main.c: lingka-server
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "lingka-server"

#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>

#include <glib-unix.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>

#include "lingka-common.h"
#include "lk-config.h"
#include "lk-log.h"
#include "lk-password.h"
#include "lk-server.h"
#include "lk-store.h"

static gboolean
on_signal_cb (gpointer user_data)
{
  g_main_loop_quit (user_data);
  return G_SOURCE_CONTINUE;
}

static LkStore *
open_store (LkConfig  *config,
            GError   **error)
{
  const char *data_dir = lk_config_get_data_dir (config);
  g_autofree char *path = g_build_filename (data_dir, "lingka.db", NULL);

  if (g_mkdir_with_parents (data_dir, 0700) != 0)
    {
      int saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), _("Cannot create %s: %s"),
                   data_dir, g_strerror (saved));
      return NULL;
    }
  return lk_store_new (path, lk_config_get_synchronous (config), error);
}

/* One line from standard input, without its line end. */
static char *
read_password (GError **error)
{
  g_autoptr(GString) line = g_string_new (NULL);
  int c;

  if (isatty (fileno (stdin)))
    g_printerr ("%s", _("Password: "));
  while ((c = getchar ()) != EOF && c != '\n')
    {
      if (line->len >= LK_PASSWORD_MAX_BYTES)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, _("The password is too long"));
          return NULL;
        }
      g_string_append_c (line, (char) c);
    }
  if (line->len > 0 && line->str[line->len - 1] == '\r')
    g_string_truncate (line, line->len - 1);
  if (!g_utf8_validate (line->str, line->len, NULL) || g_utf8_strlen (line->str, -1) < LK_PASSWORD_MIN_CHARS)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   _("The password must have at least 8 characters"));
      return NULL;
    }
  return g_string_free (g_steal_pointer (&line), FALSE);
}

static gboolean
create_user (LkConfig    *config,
             const char  *role,
             GError     **error)
{
  g_autoptr(LkStore) store = open_store (config, error);
  g_autofree char *password = NULL;
  g_autofree char *hash = NULL;
  const char *username = lk_config_get_action_argument (config);
  gint64 school_id = g_str_equal (role, "teacher") ? lk_config_get_school_id (config) : 0;
  gint64 id;

  if (store == NULL)
    return FALSE;
  if (school_id > 0 && !lk_store_school_get (store, school_id, NULL, NULL, error))
    return FALSE;
  password = read_password (error);
  if (password == NULL)
    return FALSE;
  hash = lk_password_hash (password, lk_config_get_password_iterations (config));
  memset (password, 0, strlen (password));
  if (hash == NULL)
    {
      g_set_error (error, LK_ERROR, LK_ERROR_CRYPTO, "Cannot hash the password");
      return FALSE;
    }
  id = lk_store_user_create (store, username, hash, role, school_id, error);
  if (id == 0)
    return FALSE;
  g_print ("%" G_GINT64_FORMAT "\n", id);
  return TRUE;
}

static gboolean
add_school (LkConfig  *config,
            GError   **error)
{
  g_autoptr(LkStore) store = NULL;
  const char *argument = lk_config_get_action_argument (config);
  const char *slash = strchr (argument, '/');
  g_autofree char *province = NULL;
  g_autofree char *school = NULL;
  gint64 id;

  if (slash != NULL)
    {
      g_autofree char *raw = g_strndup (argument, slash - argument);
      province = lk_normalize_text (raw);
      school = lk_normalize_text (slash + 1);
    }
  if (province == NULL || school == NULL || *province == '\0' || *school == '\0')
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   _("Give the school as PROVINCE/SCHOOL, e.g. 浙江省/杭州市文三小学"));
      return FALSE;
    }
  store = open_store (config, error);
  if (store == NULL)
    return FALSE;
  id = lk_store_school_ensure (store, province, school, lk_config_get_digest_alg (config),
                               lk_config_get_digest_iterations (config), NULL, error);
  if (id == 0)
    return FALSE;
  g_print ("%" G_GINT64_FORMAT "\n", id);
  return TRUE;
}

static gboolean
register_kiosk (LkConfig  *config,
                GError   **error)
{
  g_autoptr(LkStore) store = open_store (config, error);
  g_autofree char *secret = NULL;
  g_autofree char *secret_hash = NULL;
  const char *sn = lk_config_get_action_argument (config);

  if (store == NULL)
    return FALSE;
  if (*sn == '\0' || strlen (sn) > 64)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, _("The SN must have 1 to 64 characters"));
      return FALSE;
    }
  if (!lk_store_school_get (store, lk_config_get_school_id (config), NULL, NULL, error))
    return FALSE;
  secret = lk_random_hex (24);
  secret_hash = lk_sha256_hex (secret, strlen (secret));
  if (lk_store_kiosk_register (store, sn, lk_config_get_school_id (config), secret_hash, error) == 0)
    return FALSE;
  /* Shown this once; only its hash is kept. */
  g_print ("%s\n", secret);
  return TRUE;
}

static gboolean
backup (LkConfig  *config,
        GError   **error)
{
  g_autofree char *path = g_build_filename (lk_config_get_data_dir (config), "lingka.db", NULL);
  g_autoptr(LkStore) store = lk_store_new_read_only (path, error);

  return store != NULL && lk_store_backup (store, lk_config_get_action_argument (config), error);
}

static gboolean
serve (LkConfig  *config,
       GError   **error)
{
  g_autoptr(LkServer) server = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  guint sigint, sigterm;

  server = lk_server_new (config, error);
  if (server == NULL || !lk_server_start (server, error))
    return FALSE;

  loop = g_main_loop_new (NULL, FALSE);
  sigint = g_unix_signal_add (SIGINT, on_signal_cb, loop);
  sigterm = g_unix_signal_add (SIGTERM, on_signal_cb, loop);
  g_main_loop_run (loop);
  g_source_remove (sigint);
  g_source_remove (sigterm);
  lk_server_stop (server);
  return TRUE;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(LkConfig) config = NULL;
  g_autoptr(GError) error = NULL;
  gboolean ok = FALSE;

  /* The database, its WAL and backups hold minors' records. */
  umask (0077);
  lk_i18n_init (NULL);
  lk_log_quiet_library_debug ();
  g_set_prgname ("lingka-server");

  config = lk_config_new ();
  if (!lk_config_parse_args (config, &argc, &argv, &error))
    {
      g_printerr ("lingka-server: %s\n", error->message);
      return 2;
    }

  switch (lk_config_get_action (config))
    {
    case LK_CONFIG_ACTION_SERVE:
      ok = serve (config, &error);
      break;
    case LK_CONFIG_ACTION_CREATE_OPERATOR:
      ok = create_user (config, "operator", &error);
      break;
    case LK_CONFIG_ACTION_ADD_TEACHER:
      ok = create_user (config, "teacher", &error);
      break;
    case LK_CONFIG_ACTION_ADD_SCHOOL:
      ok = add_school (config, &error);
      break;
    case LK_CONFIG_ACTION_REGISTER_KIOSK:
      ok = register_kiosk (config, &error);
      break;
    case LK_CONFIG_ACTION_BACKUP:
      ok = backup (config, &error);
      break;
    default:
      g_assert_not_reached ();
    }

  if (!ok)
    {
      g_printerr ("lingka-server: %s\n", error->message);
      return 1;
    }
  return 0;
}
