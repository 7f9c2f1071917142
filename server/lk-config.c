/* lk-config.c: lingka-server's settings
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "lingka-server"

#include "config.h"

#include <glib/gi18n.h>

#include "lingka-common.h"
#include "lk-config.h"

struct _LkConfig
{
  GObject         parent_instance;

  LkConfigAction  action;
  char           *action_argument;
  gint64          school_id;

  char           *listen;
  guint           port;
  char           *data_dir;
  guint           threads;
  char           *tls_cert;
  char           *tls_key;
  gint64          fee_fen;
  gboolean        sandbox;
  char           *synchronous;
  char           *digest_alg;
  guint           digest_iterations;
  guint           password_iterations;
  char           *sms_provider;
  GStrv           payment_providers;
  guint           verify_burst;
  gdouble         verify_refill_s;
  guint           sms_retry_s;
};

G_DEFINE_FINAL_TYPE (LkConfig, lk_config, G_TYPE_OBJECT)

static void
lk_config_finalize (GObject *object)
{
  LkConfig *self = (LkConfig *) object;

  g_clear_pointer (&self->action_argument, g_free);
  g_clear_pointer (&self->listen, g_free);
  g_clear_pointer (&self->data_dir, g_free);
  g_clear_pointer (&self->tls_cert, g_free);
  g_clear_pointer (&self->tls_key, g_free);
  g_clear_pointer (&self->synchronous, g_free);
  g_clear_pointer (&self->digest_alg, g_free);
  g_clear_pointer (&self->sms_provider, g_free);
  g_clear_pointer (&self->payment_providers, g_strfreev);

  G_OBJECT_CLASS (lk_config_parent_class)->finalize (object);
}

static void
lk_config_class_init (LkConfigClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = lk_config_finalize;
}

static void
lk_config_init (LkConfig *self)
{
  self->listen = g_strdup ("0.0.0.0");
  self->port = LK_DEFAULT_PORT;
  self->data_dir = g_strdup ("lingka-data");
  /* Two per CPU, at least 4: busy traffic wants few contexts, and idle WebSockets cost a
   * context nothing (docs/server.md, "How many threads"). */
  self->threads = MAX (4, 2 * g_get_num_processors ());
  self->fee_fen = LK_DEFAULT_FEE_FEN;
  self->synchronous = g_strdup ("NORMAL");
  self->digest_alg = g_strdup ("pbkdf2-sha256");
  self->digest_iterations = LK_DIGEST_DEFAULT_ITERATIONS;
  self->password_iterations = LK_DEFAULT_PASSWORD_ITERATIONS;
  self->sms_provider = g_strdup ("log");
  self->payment_providers = g_new0 (char *, 1);
  self->verify_burst = 10;
  self->verify_refill_s = 60.0;
  self->sms_retry_s = 5;
}

LkConfig *
lk_config_new (void)
{
  return g_object_new (LK_TYPE_CONFIG, NULL);
}

static void
replace_string (char       **field,
                const char  *value)
{
  if (value == NULL)
    return;
  g_free (*field);
  *field = g_strdup (value);
}

static gboolean
check_port (gint64   port,
            GError **error)
{
  if (port < 0 || port > 65535)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   _("The port must be between 0 and 65535"));
      return FALSE;
    }
  return TRUE;
}

static gboolean
check_digest (const char  *alg,
              GError     **error)
{
  LkDigestAlg parsed;

  if (!lk_digest_alg_from_string (alg, &parsed))
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   _("Unknown claim-code digest “%s” (use pbkdf2-sha256 or md5)"), alg);
      return FALSE;
    }
  return TRUE;
}

gboolean
lk_config_load_file (LkConfig    *self,
                     const char  *path,
                     GError     **error)
{
  static const char *known[][2] = {
    { "server", "listen" }, { "server", "port" }, { "server", "data_dir" },
    { "server", "threads" }, { "server", "tls_cert" }, { "server", "tls_key" },
    { "server", "fee_fen" }, { "server", "sandbox" }, { "server", "synchronous" },
    { "server", "password_iterations" }, { "server", "verify_burst" },
    { "server", "verify_refill_s" },
    { "codes", "digest" }, { "codes", "iterations" },
    { "sms", "provider" }, { "sms", "retry_s" },
    { "payment", "providers" },
  };
  g_autoptr(GKeyFile) keys = g_key_file_new ();
  g_auto(GStrv) groups = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *text = NULL;

  g_return_val_if_fail (LK_IS_CONFIG (self), FALSE);

  if (!g_key_file_load_from_file (keys, path, G_KEY_FILE_NONE, error))
    return FALSE;

  groups = g_key_file_get_groups (keys, NULL);
  for (guint g = 0; groups[g] != NULL; g++)
    {
      g_auto(GStrv) names = g_key_file_get_keys (keys, groups[g], NULL, NULL);

      for (guint k = 0; names != NULL && names[k] != NULL; k++)
        {
          gboolean found = FALSE;

          for (guint i = 0; i < G_N_ELEMENTS (known) && !found; i++)
            found = g_str_equal (known[i][0], groups[g]) && g_str_equal (known[i][1], names[k]);
          if (!found)
            g_warning ("%s: unknown setting [%s] %s", path, groups[g], names[k]);
        }
    }

#define GET_STRING(group, key, field) \
  if ((text = g_key_file_get_string (keys, group, key, NULL)) != NULL) \
    { replace_string (&self->field, text); g_clear_pointer (&text, g_free); }
#define GET_UINT(group, key, field, min, max) \
  if (g_key_file_has_key (keys, group, key, NULL)) \
    { \
      gint64 v = g_key_file_get_int64 (keys, group, key, &local_error); \
      if (local_error == NULL && (v < (min) || v > (max))) \
        g_set_error (&local_error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE, \
                     "[%s] %s is out of range", group, key); \
      if (local_error != NULL) \
        { \
          g_propagate_prefixed_error (error, g_steal_pointer (&local_error), "%s: ", path); \
          return FALSE; \
        } \
      self->field = v; \
    }

  GET_STRING ("server", "listen", listen);
  GET_UINT ("server", "port", port, 0, 65535);
  GET_STRING ("server", "data_dir", data_dir);
  GET_UINT ("server", "threads", threads, 1, 256);
  GET_STRING ("server", "tls_cert", tls_cert);
  GET_STRING ("server", "tls_key", tls_key);
  GET_UINT ("server", "fee_fen", fee_fen, 0, 100000000);
  GET_STRING ("server", "synchronous", synchronous);
  GET_UINT ("server", "password_iterations", password_iterations, 100000, 10000000);
  GET_UINT ("server", "verify_burst", verify_burst, 1, 1000000);
  GET_STRING ("codes", "digest", digest_alg);
  GET_UINT ("codes", "iterations", digest_iterations, 1, 10000000);
  GET_STRING ("sms", "provider", sms_provider);
  GET_UINT ("sms", "retry_s", sms_retry_s, 1, 86400);
#undef GET_STRING
#undef GET_UINT

  if (g_key_file_has_key (keys, "server", "sandbox", NULL))
    {
      self->sandbox = g_key_file_get_boolean (keys, "server", "sandbox", &local_error);
      if (local_error != NULL)
        {
          g_propagate_prefixed_error (error, g_steal_pointer (&local_error), "%s: ", path);
          return FALSE;
        }
    }
  if (g_key_file_has_key (keys, "server", "verify_refill_s", NULL))
    {
      gdouble v = g_key_file_get_double (keys, "server", "verify_refill_s", &local_error);
      if (local_error != NULL)
        {
          g_propagate_prefixed_error (error, g_steal_pointer (&local_error), "%s: ", path);
          return FALSE;
        }
      self->verify_refill_s = MAX (v, 0.001);
    }
  if (g_key_file_has_key (keys, "payment", "providers", NULL))
    {
      g_strfreev (self->payment_providers);
      self->payment_providers = g_key_file_get_string_list (keys, "payment", "providers", NULL, NULL);
      if (self->payment_providers == NULL)
        self->payment_providers = g_new0 (char *, 1);
    }

  if (!check_digest (self->digest_alg, error))
    return FALSE;
  if (g_ascii_strcasecmp (self->synchronous, "FULL") != 0
      && g_ascii_strcasecmp (self->synchronous, "NORMAL") != 0)
    {
      g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                   "%s: [server] synchronous must be FULL or NORMAL", path);
      return FALSE;
    }
  return TRUE;
}

gboolean
lk_config_parse_args (LkConfig    *self,
                      int         *argc,
                      char      ***argv,
                      GError     **error)
{
  g_autofree char *config_file = NULL;
  g_autofree char *data_dir = NULL;
  g_autofree char *listen = NULL;
  g_autofree char *create_operator = NULL;
  g_autofree char *add_teacher = NULL;
  g_autofree char *add_school = NULL;
  g_autofree char *register_kiosk = NULL;
  g_autofree char *backup = NULL;
  gint64 port = -1;
  gint64 school_id = 0;
  int threads = 0;
  gboolean sandbox = FALSE;
  guint n_actions = 0;
  GOptionEntry entries[] = {
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config_file, N_("Read settings from FILE"), N_("FILE") },
    { "data-dir", 'd', 0, G_OPTION_ARG_FILENAME, &data_dir, N_("Keep the database and keys in DIR"), N_("DIR") },
    { "listen", 'l', 0, G_OPTION_ARG_STRING, &listen, N_("Listen on address ADDR"), N_("ADDR") },
    { "port", 'p', 0, G_OPTION_ARG_INT64, &port, N_("Listen on port N (0: any free port)"), N_("N") },
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, N_("Serve with N listener threads"), N_("N") },
    { "sandbox", 0, 0, G_OPTION_ARG_NONE, &sandbox, N_("Enable the sandbox payment provider and the logging SMS sender"), NULL },
    { "create-operator", 0, 0, G_OPTION_ARG_STRING, &create_operator, N_("Create operator USER (password on standard input) and exit"), N_("USER") },
    { "add-teacher", 0, 0, G_OPTION_ARG_STRING, &add_teacher, N_("Create teacher USER of --school-id (password on standard input) and exit"), N_("USER") },
    { "school-id", 0, 0, G_OPTION_ARG_INT64, &school_id, N_("The school for --add-teacher and --register-kiosk"), N_("N") },
    { "add-school", 0, 0, G_OPTION_ARG_STRING, &add_school, N_("Add a school given as PROVINCE/SCHOOL, print its id and exit"), N_("PROVINCE/SCHOOL") },
    { "register-kiosk", 0, 0, G_OPTION_ARG_STRING, &register_kiosk, N_("Register kiosk SN to --school-id, print its secret once and exit"), N_("SN") },
    { "backup", 0, 0, G_OPTION_ARG_FILENAME, &backup, N_("Write a consistent backup of the database to FILE and exit"), N_("FILE") },
    { NULL }
  };
  g_autoptr(GOptionContext) context = NULL;

  context = g_option_context_new (NULL);
  g_option_context_set_summary (context, _("Lingka cloud server: rosters, applications, payments, claim codes and kiosks."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  if (!g_option_context_parse (context, argc, argv, error))
    return FALSE;

  if (config_file != NULL && !lk_config_load_file (self, config_file, error))
    return FALSE;

  replace_string (&self->data_dir, data_dir);
  replace_string (&self->listen, listen);
  if (port >= 0)
    {
      if (!check_port (port, error))
        return FALSE;
      self->port = port;
    }
  if (threads < 0 || threads > 256)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   _("The number of threads must be between 1 and 256"));
      return FALSE;
    }
  if (threads > 0)
    self->threads = threads;
  if (sandbox)
    self->sandbox = TRUE;

#define ACTION(value, kind) \
  if (value != NULL) \
    { n_actions++; self->action = kind; replace_string (&self->action_argument, value); }
  ACTION (create_operator, LK_CONFIG_ACTION_CREATE_OPERATOR);
  ACTION (add_teacher, LK_CONFIG_ACTION_ADD_TEACHER);
  ACTION (add_school, LK_CONFIG_ACTION_ADD_SCHOOL);
  ACTION (register_kiosk, LK_CONFIG_ACTION_REGISTER_KIOSK);
  ACTION (backup, LK_CONFIG_ACTION_BACKUP);
#undef ACTION

  if (n_actions > 1)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED,
                   _("Give only one of --create-operator, --add-teacher, --add-school, --register-kiosk and --backup"));
      return FALSE;
    }
  self->school_id = school_id;
  if ((self->action == LK_CONFIG_ACTION_ADD_TEACHER || self->action == LK_CONFIG_ACTION_REGISTER_KIOSK)
      && school_id <= 0)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED,
                   _("--add-teacher and --register-kiosk need --school-id"));
      return FALSE;
    }
  if (*argc > 1)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED,
                   _("Unexpected argument “%s”"), (*argv)[1]);
      return FALSE;
    }
  return TRUE;
}

LkConfigAction
lk_config_get_action (LkConfig *self)
{
  return self->action;
}

const char *
lk_config_get_action_argument (LkConfig *self)
{
  return self->action_argument;
}

gint64
lk_config_get_school_id (LkConfig *self)
{
  return self->school_id;
}

const char *
lk_config_get_listen (LkConfig *self)
{
  return self->listen;
}

guint
lk_config_get_port (LkConfig *self)
{
  return self->port;
}

const char *
lk_config_get_data_dir (LkConfig *self)
{
  return self->data_dir;
}

guint
lk_config_get_threads (LkConfig *self)
{
  return self->threads;
}

const char *
lk_config_get_tls_cert (LkConfig *self)
{
  return self->tls_cert;
}

const char *
lk_config_get_tls_key (LkConfig *self)
{
  return self->tls_key;
}

gint64
lk_config_get_fee_fen (LkConfig *self)
{
  return self->fee_fen;
}

gboolean
lk_config_get_sandbox (LkConfig *self)
{
  return self->sandbox;
}

const char *
lk_config_get_synchronous (LkConfig *self)
{
  return self->synchronous;
}

const char *
lk_config_get_digest_alg (LkConfig *self)
{
  return self->digest_alg;
}

guint
lk_config_get_digest_iterations (LkConfig *self)
{
  return self->digest_iterations;
}

guint
lk_config_get_password_iterations (LkConfig *self)
{
  return self->password_iterations;
}

const char *
lk_config_get_sms_provider (LkConfig *self)
{
  return self->sms_provider;
}

const char * const *
lk_config_get_payment_providers (LkConfig *self)
{
  return (const char * const *) self->payment_providers;
}

guint
lk_config_get_verify_burst (LkConfig *self)
{
  return self->verify_burst;
}

gdouble
lk_config_get_verify_refill_s (LkConfig *self)
{
  return self->verify_refill_s;
}

guint
lk_config_get_sms_retry_s (LkConfig *self)
{
  return self->sms_retry_s;
}


void
lk_config_set_listen (LkConfig   *self,
                      const char *listen)
{
  replace_string (&self->listen, listen);
}

void
lk_config_set_port (LkConfig *self,
                    guint     port)
{
  self->port = port;
}

void
lk_config_set_data_dir (LkConfig   *self,
                        const char *data_dir)
{
  replace_string (&self->data_dir, data_dir);
}

void
lk_config_set_threads (LkConfig *self,
                       guint     threads)
{
  self->threads = MAX (threads, 1);
}

void
lk_config_set_sandbox (LkConfig *self,
                       gboolean  sandbox)
{
  self->sandbox = sandbox;
}

void
lk_config_set_password_iterations (LkConfig *self,
                                   guint     iterations)
{
  self->password_iterations = iterations;
}

void
lk_config_set_sms_retry_s (LkConfig *self,
                           guint     seconds)
{
  self->sms_retry_s = MAX (seconds, 1);
}


void
lk_config_set_tls (LkConfig   *self,
                   const char *cert_file,
                   const char *key_file)
{
  g_free (self->tls_cert);
  g_free (self->tls_key);
  self->tls_cert = g_strdup (cert_file);
  self->tls_key = g_strdup (key_file);
}

void
lk_config_set_digest (LkConfig   *self,
                      const char *alg,
                      guint       iterations)
{
  replace_string (&self->digest_alg, alg);
  if (iterations > 0)
    self->digest_iterations = iterations;
}

void
lk_config_set_verify_limit (LkConfig *self,
                            guint     burst,
                            gdouble   refill_s)
{
  self->verify_burst = MAX (burst, 1);
  self->verify_refill_s = MAX (refill_s, 0.001);
}
