/* lk-student-item.c: one student as the server lists it, for list models
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>

#include "lk-admin-json.h"
#include "lk-mask.h"
#include "lk-student-item.h"

struct _LkStudentItem
{
  GObject     parent_instance;

  JsonObject *object;
  char       *masked_name;
};

G_DEFINE_FINAL_TYPE (LkStudentItem, lk_student_item, G_TYPE_OBJECT)

static void
lk_student_item_finalize (GObject *object)
{
  LkStudentItem *self = LK_STUDENT_ITEM (object);

  g_clear_pointer (&self->object, json_object_unref);
  g_clear_pointer (&self->masked_name, g_free);

  G_OBJECT_CLASS (lk_student_item_parent_class)->finalize (object);
}

static void
lk_student_item_class_init (LkStudentItemClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = lk_student_item_finalize;
}

static void
lk_student_item_init (LkStudentItem *self)
{
}

LkStudentItem *
lk_student_item_new (JsonObject *object)
{
  LkStudentItem *self;
  const char *name;

  g_return_val_if_fail (object != NULL, NULL);

  self = g_object_new (LK_TYPE_STUDENT_ITEM, NULL);
  self->object = json_object_ref (object);
  name = lk_admin_json_string (object, "name");
  self->masked_name = name != NULL ? lk_mask_name (name) : g_strdup ("");
  return self;
}

JsonObject *
lk_student_item_get_object (LkStudentItem *self)
{
  g_return_val_if_fail (LK_IS_STUDENT_ITEM (self), NULL);
  return self->object;
}

gint64
lk_student_item_get_id (LkStudentItem *self)
{
  g_return_val_if_fail (LK_IS_STUDENT_ITEM (self), 0);
  return lk_admin_json_int (self->object, "id", 0);
}

gint64
lk_student_item_get_school_id (LkStudentItem *self)
{
  g_return_val_if_fail (LK_IS_STUDENT_ITEM (self), 0);
  return lk_admin_json_int (self->object, "school_id", 0);
}

const char *
lk_student_item_get_name (LkStudentItem *self)
{
  g_return_val_if_fail (LK_IS_STUDENT_ITEM (self), NULL);
  return lk_admin_json_string (self->object, "name");
}

const char *
lk_student_item_get_masked_name (LkStudentItem *self)
{
  g_return_val_if_fail (LK_IS_STUDENT_ITEM (self), NULL);
  return self->masked_name;
}

const char *
lk_student_item_get_class (LkStudentItem *self)
{
  const char *klass;

  g_return_val_if_fail (LK_IS_STUDENT_ITEM (self), NULL);

  klass = lk_admin_json_string (self->object, "class");
  return klass != NULL ? klass : lk_admin_json_string (self->object, "class_name");
}

const char *
lk_student_item_get_student_no (LkStudentItem *self)
{
  g_return_val_if_fail (LK_IS_STUDENT_ITEM (self), NULL);
  return lk_admin_json_string (self->object, "student_no");
}

const char *
lk_student_item_get_card_no (LkStudentItem *self)
{
  g_return_val_if_fail (LK_IS_STUDENT_ITEM (self), NULL);
  return lk_admin_json_string (self->object, "card_no");
}

const char *
lk_student_item_get_status (LkStudentItem *self)
{
  const char *status;

  g_return_val_if_fail (LK_IS_STUDENT_ITEM (self), NULL);

  status = lk_admin_json_string (self->object, "status");
  return status != NULL ? status : lk_admin_json_string (self->object, "card_status");
}

const char *
lk_student_item_get_school (LkStudentItem *self)
{
  g_return_val_if_fail (LK_IS_STUDENT_ITEM (self), NULL);
  return lk_admin_json_string (self->object, "school");
}

const char *
lk_student_status_label (const char *status)
{
  if (status == NULL || g_str_equal (status, "none") || g_str_equal (status, "not_applied") ||
      g_str_equal (status, "cancelled"))
    return C_("card status", "Not applied");
  if (g_str_equal (status, "verified") || g_str_equal (status, "applied"))
    return C_("card status", "Applied");
  if (g_str_equal (status, "paid"))
    return C_("card status", "Paid");
  if (g_str_equal (status, "claimable"))
    return C_("card status", "Ready to collect");
  if (g_str_equal (status, "issued"))
    return C_("card status", "Card issued");
  return status;
}
