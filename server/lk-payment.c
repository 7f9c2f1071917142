/* lk-payment.c: the payment provider interface and the sandbox provider
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "lingka-server"

#include "config.h"

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>

#include "lingka-common.h"
#include "lk-json-guard.h"
#include "lk-payment.h"

G_DEFINE_INTERFACE (LkPaymentProvider, lk_payment_provider, G_TYPE_OBJECT)

G_DEFINE_QUARK (lk-payment-error-quark, lk_payment_error)

static void
lk_payment_provider_default_init (LkPaymentProviderInterface *iface)
{
}

void
lk_payment_notice_clear (LkPaymentNotice *notice)
{
  g_clear_pointer (&notice->order_no, g_free);
  g_clear_pointer (&notice->provider_txn, g_free);
  notice->amount_fen = 0;
  notice->paid = FALSE;
}

const char *
lk_payment_provider_get_channel (LkPaymentProvider *self)
{
  g_return_val_if_fail (LK_IS_PAYMENT_PROVIDER (self), NULL);
  return LK_PAYMENT_PROVIDER_GET_IFACE (self)->get_channel (self);
}

char *
lk_payment_provider_create_order (LkPaymentProvider  *self,
                                  const char         *order_no,
                                  gint64              amount_fen,
                                  const char         *description,
                                  GError            **error)
{
  g_return_val_if_fail (LK_IS_PAYMENT_PROVIDER (self), NULL);
  return LK_PAYMENT_PROVIDER_GET_IFACE (self)->create_order (self, order_no, amount_fen,
                                                             description, error);
}

gboolean
lk_payment_provider_verify_notice (LkPaymentProvider  *self,
                                   SoupMessageHeaders *headers,
                                   GBytes             *body,
                                   LkPaymentNotice    *notice,
                                   GError            **error)
{
  g_return_val_if_fail (LK_IS_PAYMENT_PROVIDER (self), FALSE);
  return LK_PAYMENT_PROVIDER_GET_IFACE (self)->verify_notice (self, headers, body, notice, error);
}

/* --- sandbox --- */

struct _LkSandboxPayment
{
  GObject  parent_instance;
  guint8   key[32];
};

static void lk_sandbox_payment_iface_init (LkPaymentProviderInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (LkSandboxPayment, lk_sandbox_payment, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (LK_TYPE_PAYMENT_PROVIDER,
                                                      lk_sandbox_payment_iface_init))

static char *
sign (LkSandboxPayment *self,
      const char       *order_no,
      gint64            amount_fen,
      const char       *provider_txn,
      const char       *status)
{
  g_autofree char *text = g_strdup_printf ("lingka-sandbox-notice\n%s\n%" G_GINT64_FORMAT "\n%s\n%s",
                                           order_no, amount_fen, provider_txn, status);

  return g_compute_hmac_for_string (G_CHECKSUM_SHA256, self->key, sizeof self->key, text, -1);
}

static const char *
sandbox_get_channel (LkPaymentProvider *provider)
{
  return "sandbox";
}

static char *
sandbox_create_order (LkPaymentProvider  *provider,
                      const char         *order_no,
                      gint64              amount_fen,
                      const char         *description,
                      GError            **error)
{
  /* The "cashier" is the server itself: POST there to pay. */
  return g_strdup_printf ("/api/v1/sandbox/pay/%s", order_no);
}

static gboolean
sandbox_verify_notice (LkPaymentProvider  *provider,
                       SoupMessageHeaders *headers,
                       GBytes             *body,
                       LkPaymentNotice    *notice,
                       GError            **error)
{
  LkSandboxPayment *self = LK_SANDBOX_PAYMENT (provider);
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  g_autofree char *expected = NULL;
  const char *order_no, *txn, *status, *signature;
  JsonObject *object;
  JsonNode *amount;
  gsize len;
  const char *data = g_bytes_get_data (body, &len);

  if (data == NULL || len == 0 || len > 4096 || !g_utf8_validate_len (data, len, NULL)
      || !lk_json_depth_ok (data, len, LK_JSON_MAX_DEPTH)
      || !json_parser_load_from_data (parser, data, len, NULL)
      || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      g_set_error (error, LK_PAYMENT_ERROR, LK_PAYMENT_ERROR_MALFORMED, "The notice is not a JSON object");
      return FALSE;
    }
  object = json_node_get_object (json_parser_get_root (parser));
  order_no = json_object_get_string_member_with_default (object, "order_no", NULL);
  txn = json_object_get_string_member_with_default (object, "txn", NULL);
  status = json_object_get_string_member_with_default (object, "status", NULL);
  signature = json_object_get_string_member_with_default (object, "signature", NULL);
  amount = json_object_get_member (object, "amount_fen");
  if (order_no == NULL || txn == NULL || status == NULL || signature == NULL || amount == NULL
      || JSON_NODE_TYPE (amount) != JSON_NODE_VALUE || json_node_get_value_type (amount) != G_TYPE_INT64)
    {
      g_set_error (error, LK_PAYMENT_ERROR, LK_PAYMENT_ERROR_MALFORMED, "The notice lacks a member");
      return FALSE;
    }
  expected = sign (self, order_no, json_node_get_int (amount), txn, status);
  if (!lk_secure_str_equal (expected, signature))
    {
      g_set_error (error, LK_PAYMENT_ERROR, LK_PAYMENT_ERROR_BAD_SIGNATURE, "The notice's signature is wrong");
      return FALSE;
    }
  notice->order_no = g_strdup (order_no);
  notice->amount_fen = json_node_get_int (amount);
  notice->provider_txn = g_strdup (txn);
  notice->paid = g_str_equal (status, "paid");
  return TRUE;
}

static void
lk_sandbox_payment_iface_init (LkPaymentProviderInterface *iface)
{
  iface->get_channel = sandbox_get_channel;
  iface->create_order = sandbox_create_order;
  iface->verify_notice = sandbox_verify_notice;
}

static void
lk_sandbox_payment_finalize (GObject *object)
{
  LkSandboxPayment *self = (LkSandboxPayment *) object;

  memset (self->key, 0, sizeof self->key);
  G_OBJECT_CLASS (lk_sandbox_payment_parent_class)->finalize (object);
}

static void
lk_sandbox_payment_class_init (LkSandboxPaymentClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = lk_sandbox_payment_finalize;
}

static void
lk_sandbox_payment_init (LkSandboxPayment *self)
{
}

LkSandboxPayment *
lk_sandbox_payment_new (const guint8 *server_key,
                        gsize         key_len)
{
  LkSandboxPayment *self = g_object_new (LK_TYPE_SANDBOX_PAYMENT, NULL);
  g_autoptr(GHmac) hmac = g_hmac_new (G_CHECKSUM_SHA256, server_key, key_len);
  gsize len = sizeof self->key;

  /* A key of its own, so a sandbox notice can never stand for anything else. */
  g_hmac_update (hmac, (const guchar *) "lingka-sandbox-payment", -1);
  g_hmac_get_digest (hmac, self->key, &len);
  return self;
}

GBytes *
lk_sandbox_payment_sign_notice (LkSandboxPayment *self,
                                const char       *order_no,
                                gint64            amount_fen,
                                const char       *provider_txn)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *signature = sign (self, order_no, amount_fen, provider_txn, "paid");
  char *text;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "order_no");
  json_builder_add_string_value (builder, order_no);
  json_builder_set_member_name (builder, "amount_fen");
  json_builder_add_int_value (builder, amount_fen);
  json_builder_set_member_name (builder, "txn");
  json_builder_add_string_value (builder, provider_txn);
  json_builder_set_member_name (builder, "status");
  json_builder_add_string_value (builder, "paid");
  json_builder_set_member_name (builder, "signature");
  json_builder_add_string_value (builder, signature);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  text = lk_json_to_string (root);
  return g_bytes_new_take (text, strlen (text));
}
