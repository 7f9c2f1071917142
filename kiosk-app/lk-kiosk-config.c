/* lk-kiosk-config.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "lk-kiosk-config.h"
#include "lk-kiosk-error.h"

#define GROUP "kiosk"
#define MAX_CARD_KEY_LEN 64

struct _LkKioskConfig
{
  GObject  parent_instance;

  char    *server_url;
  char    *sn;
  char    *secret;
  char    *serial_port;
  guint    dispenser_address;
  guint    baud;
  GBytes  *card_key;
  char    *language;
  char    *service_pin;
  char    *school_name;
  char    *data_dir;
};

G_DEFINE_FINAL_TYPE (LkKioskConfig, lk_kiosk_config, G_TYPE_OBJECT)

/* g_set_str() is GLib 2.76; the floor is 2.74. */
static void
set_str (char       **ptr,
         const char  *value)
{
  char *copy = g_strdup (value);

  g_free (*ptr);
  *ptr = copy;
}

static char *
get_string (GKeyFile   *kf,
            const char *key,
            gboolean    required,
            GError    **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autofree char *value = g_key_file_get_string (kf, GROUP, key, &local_error);

  if (value != NULL)
    g_strstrip (value);
  if (value == NULL || *value == '\0')
    {
      if (required)
        g_set_error (error, LK_KIOSK_ERROR, LK_KIOSK_ERROR_CONFIG,
                     "[%s] %s is required", GROUP, key);
      return NULL;
    }
  return g_steal_pointer (&value);
}

static gboolean
get_uint (GKeyFile   *kf,
          const char *key,
          guint       fallback,
          guint       max,
          guint      *out,
          GError    **error)
{
  g_autofree char *text = get_string (kf, key, FALSE, NULL);
  guint64 value;

  if (text == NULL)
    {
      *out = fallback;
      return TRUE;
    }
  if (!g_ascii_string_to_unsigned (text, 10, 0, max, &value, NULL))
    {
      g_set_error (error, LK_KIOSK_ERROR, LK_KIOSK_ERROR_CONFIG,
                   "[%s] %s must be a number from 0 to %u", GROUP, key, max);
      return FALSE;
    }
  *out = (guint) value;
  return TRUE;
}

static GBytes *
parse_hex (const char *hex,
           GError    **error)
{
  gsize len = strlen (hex);
  g_autofree guint8 *bytes = NULL;

  if (len == 0 || len % 2 != 0 || len / 2 > MAX_CARD_KEY_LEN)
    goto bad;
  bytes = g_malloc (len / 2);
  for (gsize i = 0; i < len / 2; i++)
    {
      int hi = g_ascii_xdigit_value (hex[2 * i]);
      int lo = g_ascii_xdigit_value (hex[2 * i + 1]);

      if (hi < 0 || lo < 0)
        goto bad;
      bytes[i] = (guint8) (hi << 4 | lo);
    }
  return g_bytes_new_take (g_steal_pointer (&bytes), len / 2);

bad:
  g_set_error (error, LK_KIOSK_ERROR, LK_KIOSK_ERROR_CONFIG,
               "[%s] card_key must be 2 to %d hex digits, an even number of them",
               GROUP, 2 * MAX_CARD_KEY_LEN);
  return NULL;
}

static gboolean
load_keyfile (LkKioskConfig *self,
              GKeyFile      *kf,
              GError       **error)
{
  g_autofree char *card_key = NULL;
  g_autofree char *pin = NULL;

  if (!g_key_file_has_group (kf, GROUP))
    {
      g_set_error (error, LK_KIOSK_ERROR, LK_KIOSK_ERROR_CONFIG,
                   "the config file has no [%s] group", GROUP);
      return FALSE;
    }

  if (!(self->server_url = get_string (kf, "server_url", TRUE, error)) ||
      !(self->sn = get_string (kf, "sn", TRUE, error)) ||
      !(self->secret = get_string (kf, "secret", TRUE, error)) ||
      !(self->serial_port = get_string (kf, "serial_port", TRUE, error)))
    return FALSE;

  if (!g_str_has_prefix (self->server_url, "http://") &&
      !g_str_has_prefix (self->server_url, "https://"))
    {
      g_set_error (error, LK_KIOSK_ERROR, LK_KIOSK_ERROR_CONFIG,
                   "[%s] server_url must start with http:// or https://", GROUP);
      return FALSE;
    }

  if (!get_uint (kf, "dispenser_address", 0, 15, &self->dispenser_address, error) ||
      !get_uint (kf, "baud", 9600, 115200, &self->baud, error))
    return FALSE;

  if ((card_key = get_string (kf, "card_key", FALSE, NULL)) != NULL &&
      !(self->card_key = parse_hex (card_key, error)))
    return FALSE;

  pin = get_string (kf, "service_pin", FALSE, NULL);
  if (pin != NULL)
    {
      for (const char *p = pin; *p; p++)
        if (!g_ascii_isdigit (*p))
          {
            g_set_error (error, LK_KIOSK_ERROR, LK_KIOSK_ERROR_CONFIG,
                         "[%s] service_pin must be digits", GROUP);
            return FALSE;
          }
      set_str (&self->service_pin, pin);
    }

  g_clear_pointer (&self->language, g_free);
  self->language = get_string (kf, "language", FALSE, NULL);
  if (self->language == NULL)
    self->language = g_strdup ("zh_CN");
  self->school_name = get_string (kf, "school_name", FALSE, NULL);
  {
    g_autofree char *dir = get_string (kf, "data_dir", FALSE, NULL);
    if (dir != NULL)
      set_str (&self->data_dir, dir);
  }
  return TRUE;
}

static void
lk_kiosk_config_finalize (GObject *object)
{
  LkKioskConfig *self = (LkKioskConfig *) object;

  g_clear_pointer (&self->server_url, g_free);
  g_clear_pointer (&self->sn, g_free);
  g_clear_pointer (&self->secret, g_free);
  g_clear_pointer (&self->serial_port, g_free);
  g_clear_pointer (&self->card_key, g_bytes_unref);
  g_clear_pointer (&self->language, g_free);
  g_clear_pointer (&self->service_pin, g_free);
  g_clear_pointer (&self->school_name, g_free);
  g_clear_pointer (&self->data_dir, g_free);

  G_OBJECT_CLASS (lk_kiosk_config_parent_class)->finalize (object);
}

static void
lk_kiosk_config_class_init (LkKioskConfigClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = lk_kiosk_config_finalize;
}

static void
lk_kiosk_config_init (LkKioskConfig *self)
{
  self->baud = 9600;
  self->language = g_strdup ("zh_CN");
  self->data_dir = g_build_filename (g_get_user_data_dir (), "lingka-kiosk", NULL);
}

LkKioskConfig *
lk_kiosk_config_new (void)
{
  return g_object_new (LK_TYPE_KIOSK_CONFIG, NULL);
}

LkKioskConfig *
lk_kiosk_config_new_from_data (const char  *data,
                               GError     **error)
{
  g_autoptr(LkKioskConfig) self = lk_kiosk_config_new ();
  g_autoptr(GKeyFile) kf = g_key_file_new ();

  g_return_val_if_fail (data != NULL, NULL);

  if (!g_key_file_load_from_data (kf, data, -1, G_KEY_FILE_NONE, error) ||
      !load_keyfile (self, kf, error))
    return NULL;
  return g_steal_pointer (&self);
}

LkKioskConfig *
lk_kiosk_config_new_from_file (const char  *path,
                               GError     **error)
{
  g_autoptr(LkKioskConfig) self = lk_kiosk_config_new ();
  g_autoptr(GKeyFile) kf = g_key_file_new ();

  g_return_val_if_fail (path != NULL, NULL);

  if (!g_key_file_load_from_file (kf, path, G_KEY_FILE_NONE, error) ||
      !load_keyfile (self, kf, error))
    {
      g_prefix_error (error, "%s: ", path);
      return NULL;
    }
  return g_steal_pointer (&self);
}

const char *
lk_kiosk_config_get_server_url (LkKioskConfig *self)
{
  g_return_val_if_fail (LK_IS_KIOSK_CONFIG (self), NULL);
  return self->server_url;
}

const char *
lk_kiosk_config_get_sn (LkKioskConfig *self)
{
  g_return_val_if_fail (LK_IS_KIOSK_CONFIG (self), NULL);
  return self->sn;
}

const char *
lk_kiosk_config_get_secret (LkKioskConfig *self)
{
  g_return_val_if_fail (LK_IS_KIOSK_CONFIG (self), NULL);
  return self->secret;
}

const char *
lk_kiosk_config_get_serial_port (LkKioskConfig *self)
{
  g_return_val_if_fail (LK_IS_KIOSK_CONFIG (self), NULL);
  return self->serial_port;
}

guint
lk_kiosk_config_get_dispenser_address (LkKioskConfig *self)
{
  g_return_val_if_fail (LK_IS_KIOSK_CONFIG (self), 0);
  return self->dispenser_address;
}

guint
lk_kiosk_config_get_baud (LkKioskConfig *self)
{
  g_return_val_if_fail (LK_IS_KIOSK_CONFIG (self), 0);
  return self->baud;
}

const guint8 *
lk_kiosk_config_get_card_key (LkKioskConfig *self,
                              gsize         *len)
{
  g_return_val_if_fail (LK_IS_KIOSK_CONFIG (self), NULL);
  g_return_val_if_fail (len != NULL, NULL);

  if (self->card_key == NULL)
    {
      *len = 0;
      return NULL;
    }
  return g_bytes_get_data (self->card_key, len);
}

const char *
lk_kiosk_config_get_language (LkKioskConfig *self)
{
  g_return_val_if_fail (LK_IS_KIOSK_CONFIG (self), NULL);
  return self->language;
}

const char *
lk_kiosk_config_get_service_pin (LkKioskConfig *self)
{
  g_return_val_if_fail (LK_IS_KIOSK_CONFIG (self), NULL);
  return self->service_pin;
}

const char *
lk_kiosk_config_get_school_name (LkKioskConfig *self)
{
  g_return_val_if_fail (LK_IS_KIOSK_CONFIG (self), NULL);
  return self->school_name;
}

const char *
lk_kiosk_config_get_data_dir (LkKioskConfig *self)
{
  g_return_val_if_fail (LK_IS_KIOSK_CONFIG (self), NULL);
  return self->data_dir;
}

void
lk_kiosk_config_set_server_url (LkKioskConfig *self,
                                const char    *url)
{
  g_return_if_fail (LK_IS_KIOSK_CONFIG (self));
  set_str (&self->server_url, url);
}

void
lk_kiosk_config_set_credentials (LkKioskConfig *self,
                                 const char    *sn,
                                 const char    *secret)
{
  g_return_if_fail (LK_IS_KIOSK_CONFIG (self));
  set_str (&self->sn, sn);
  set_str (&self->secret, secret);
}

void
lk_kiosk_config_set_serial_port (LkKioskConfig *self,
                                 const char    *port)
{
  g_return_if_fail (LK_IS_KIOSK_CONFIG (self));
  set_str (&self->serial_port, port);
}

void
lk_kiosk_config_set_data_dir (LkKioskConfig *self,
                              const char    *dir)
{
  g_return_if_fail (LK_IS_KIOSK_CONFIG (self));
  set_str (&self->data_dir, dir);
}

void
lk_kiosk_config_set_school_name (LkKioskConfig *self,
                                 const char    *name)
{
  g_return_if_fail (LK_IS_KIOSK_CONFIG (self));
  set_str (&self->school_name, name);
}

void
lk_kiosk_config_set_service_pin (LkKioskConfig *self,
                                 const char    *pin)
{
  g_return_if_fail (LK_IS_KIOSK_CONFIG (self));
  set_str (&self->service_pin, pin);
}

gboolean
lk_kiosk_config_set_card_key_hex (LkKioskConfig  *self,
                                  const char     *hex,
                                  GError        **error)
{
  GBytes *key;

  g_return_val_if_fail (LK_IS_KIOSK_CONFIG (self), FALSE);

  if (!(key = parse_hex (hex, error)))
    return FALSE;
  g_clear_pointer (&self->card_key, g_bytes_unref);
  self->card_key = key;
  return TRUE;
}
