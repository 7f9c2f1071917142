/* lk-import-preview.c: a GListModel over the rows read from a roster, with their problems
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "lk-import-preview.h"

typedef struct
{
  GString  *text;
  gboolean  blocking;
} Problem;

struct _LkImportPreview
{
  GObject     parent_instance;

  GPtrArray  *rows;       /* LkImportRow */
  GPtrArray  *items;      /* LkImportPreviewRow or NULL, same length as rows */
  GHashTable *by_seq;     /* gint64 seq → row index + 1 */
  GHashTable *problems;   /* row index → Problem */
  GString    *general;
  guint       n_errors;
  guint       n_warnings;
  /* Rows shown to views so far: a list view pays for every row it is told about, so a
   * large file is handed over in slices, one per main-loop iteration. */
  guint       n_exposed;
  guint       expose_source;
};

/* Measured on a 2-core machine: rows past the visible ones cost a view microseconds each;
 * the first ~200, for which it creates widgets, cost about a millisecond each. */
#define EXPOSE_FIRST_ROWS 200
#define EXPOSE_FIRST_SLICE 50
#define EXPOSE_SLICE 5000

static void list_model_iface_init (GListModelInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (LkImportPreview, lk_import_preview, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_LIST_MODEL, list_model_iface_init))

static void
item_free (gpointer item)
{
  /* Slots of rows that were never shown hold NULL. */
  if (item != NULL)
    g_object_unref (item);
}

static void
problem_free (Problem *problem)
{
  g_string_free (problem->text, TRUE);
  g_free (problem);
}

static void
count_problems (LkImportPreview *self)
{
  GHashTableIter iter;
  gpointer value;

  self->n_errors = 0;
  self->n_warnings = 0;
  g_hash_table_iter_init (&iter, self->problems);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      if (((Problem *) value)->blocking)
        self->n_errors++;
      else
        self->n_warnings++;
    }
}

static void
add_problem (LkImportPreview  *self,
             const LkRowError *error,
             gboolean          blocking)
{
  gpointer index_plus_one = g_hash_table_lookup (self->by_seq, &error->seq);
  Problem *problem;

  if (index_plus_one == NULL)
    {
      if (self->general->len > 0)
        g_string_append_c (self->general, '\n');
      g_string_append (self->general, error->message);
      return;
    }

  problem = g_hash_table_lookup (self->problems, index_plus_one);
  if (problem == NULL)
    {
      problem = g_new0 (Problem, 1);
      problem->text = g_string_new (NULL);
      g_hash_table_insert (self->problems, index_plus_one, problem);
    }
  if (problem->text->len > 0)
    g_string_append_c (problem->text, '\n');
  g_string_append (problem->text, error->message);
  problem->blocking |= blocking;
}

static guint
affected_index (LkImportPreview  *self,
                const LkRowError *error)
{
  gpointer index_plus_one = g_hash_table_lookup (self->by_seq, &error->seq);

  return GPOINTER_TO_UINT (index_plus_one);
}

static gboolean
expose_slice_cb (gpointer user_data)
{
  LkImportPreview *self = user_data;
  gboolean from_idle = self->expose_source != 0;
  guint old = self->n_exposed;

  /* The first rows in small slices: they are the ones a view makes widgets for. */
  self->n_exposed = MIN (self->rows->len, old + (old < EXPOSE_FIRST_ROWS ? EXPOSE_FIRST_SLICE
                                                                          : EXPOSE_SLICE));
  g_list_model_items_changed (G_LIST_MODEL (self), old, 0, self->n_exposed - old);
  if (self->n_exposed < self->rows->len)
    return G_SOURCE_CONTINUE;

  if (from_idle)
    {
      self->expose_source = 0;
      g_object_notify (G_OBJECT (self), "loading");
    }
  return G_SOURCE_REMOVE;
}

static GType
lk_import_preview_get_item_type (GListModel *model)
{
  return LK_TYPE_IMPORT_PREVIEW_ROW;
}

static guint
lk_import_preview_get_n_items (GListModel *model)
{
  LkImportPreview *self = LK_IMPORT_PREVIEW (model);

  return self->n_exposed;
}

static gpointer
lk_import_preview_get_item (GListModel *model,
                            guint       position)
{
  LkImportPreview *self = LK_IMPORT_PREVIEW (model);
  LkImportPreviewRow *item;
  Problem *problem;

  if (self->rows == NULL || position >= self->n_exposed)
    return NULL;

  item = g_ptr_array_index (self->items, position);
  if (item == NULL)
    {
      problem = g_hash_table_lookup (self->problems, GUINT_TO_POINTER (position + 1));
      item = lk_import_preview_row_new (g_ptr_array_index (self->rows, position),
                                        problem != NULL ? problem->text->str : NULL,
                                        problem != NULL && problem->blocking);
      g_ptr_array_index (self->items, position) = item;
    }
  return g_object_ref (item);
}

static void
list_model_iface_init (GListModelInterface *iface)
{
  iface->get_item_type = lk_import_preview_get_item_type;
  iface->get_n_items = lk_import_preview_get_n_items;
  iface->get_item = lk_import_preview_get_item;
}

enum {
  PROP_0,
  PROP_LOADING,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
lk_import_preview_get_property (GObject    *object,
                                guint       prop_id,
                                GValue     *value,
                                GParamSpec *pspec)
{
  LkImportPreview *self = LK_IMPORT_PREVIEW (object);

  switch (prop_id)
    {
    case PROP_LOADING:
      g_value_set_boolean (value, lk_import_preview_get_loading (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
lk_import_preview_finalize (GObject *object)
{
  LkImportPreview *self = LK_IMPORT_PREVIEW (object);

  g_clear_handle_id (&self->expose_source, g_source_remove);
  g_clear_pointer (&self->rows, g_ptr_array_unref);
  g_clear_pointer (&self->items, g_ptr_array_unref);
  g_clear_pointer (&self->by_seq, g_hash_table_unref);
  g_clear_pointer (&self->problems, g_hash_table_unref);
  g_string_free (self->general, TRUE);

  G_OBJECT_CLASS (lk_import_preview_parent_class)->finalize (object);
}

static void
lk_import_preview_class_init (LkImportPreviewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = lk_import_preview_finalize;
  object_class->get_property = lk_import_preview_get_property;

  /**
   * LkImportPreview:loading:
   *
   * TRUE while the rows are still being handed to the views, slice by slice.
   */
  properties[PROP_LOADING] =
    g_param_spec_boolean ("loading", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
lk_import_preview_init (LkImportPreview *self)
{
  self->items = g_ptr_array_new_with_free_func (item_free);
  self->by_seq = g_hash_table_new (g_int64_hash, g_int64_equal);
  self->problems = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify) problem_free);
  self->general = g_string_new (NULL);
}

LkImportPreview *
lk_import_preview_new (void)
{
  return g_object_new (LK_TYPE_IMPORT_PREVIEW, NULL);
}

void
lk_import_preview_set_rows (LkImportPreview *self,
                            GPtrArray       *rows,
                            GPtrArray       *errors)
{
  guint removed;
  gboolean was_loading;

  g_return_if_fail (LK_IS_IMPORT_PREVIEW (self));

  was_loading = lk_import_preview_get_loading (self);
  g_clear_handle_id (&self->expose_source, g_source_remove);
  removed = self->n_exposed;
  self->n_exposed = 0;

  g_clear_pointer (&self->rows, g_ptr_array_unref);
  g_ptr_array_set_size (self->items, 0);
  g_hash_table_remove_all (self->by_seq);
  g_hash_table_remove_all (self->problems);
  g_string_truncate (self->general, 0);
  if (removed > 0)
    g_list_model_items_changed (G_LIST_MODEL (self), 0, removed, 0);

  if (rows != NULL)
    {
      self->rows = g_ptr_array_ref (rows);
      g_ptr_array_set_size (self->items, rows->len);
      for (guint i = 0; i < rows->len; i++)
        {
          LkImportRow *row = g_ptr_array_index (rows, i);

          /* The first row with a seq wins; a duplicate seq is itself a reported error. */
          if (!g_hash_table_contains (self->by_seq, &row->seq))
            g_hash_table_insert (self->by_seq, &row->seq, GUINT_TO_POINTER (i + 1));
        }
    }

  for (guint i = 0; errors != NULL && i < errors->len; i++)
    add_problem (self, g_ptr_array_index (errors, i), TRUE);
  count_problems (self);

  if (self->rows != NULL && self->rows->len > 0)
    {
      /* The first slice at once, so the preview is never empty; the rest when idle. */
      expose_slice_cb (self);
      if (self->n_exposed < self->rows->len)
        self->expose_source = g_idle_add (expose_slice_cb, self);
    }
  if (was_loading != lk_import_preview_get_loading (self))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LOADING]);
}

void
lk_import_preview_add_problems (LkImportPreview *self,
                                GPtrArray       *problems,
                                gboolean         blocking)
{
  g_return_if_fail (LK_IS_IMPORT_PREVIEW (self));

  if (problems == NULL || problems->len == 0)
    return;

  for (guint i = 0; i < problems->len; i++)
    add_problem (self, g_ptr_array_index (problems, i), blocking);
  count_problems (self);

  /* Items are made again, with their new problems, when a view asks. A few rows are
   * changed one by one; many at once in one go. */
  if (problems->len < 1000)
    {
      for (guint i = 0; i < problems->len; i++)
        {
          guint index_plus_one = affected_index (self, g_ptr_array_index (problems, i));

          if (index_plus_one == 0)
            continue;
          g_clear_object (&g_ptr_array_index (self->items, index_plus_one - 1));
          if (index_plus_one - 1 < self->n_exposed)
            g_list_model_items_changed (G_LIST_MODEL (self), index_plus_one - 1, 1, 1);
        }
    }
  else
    {
      guint n = self->rows->len;

      g_ptr_array_set_size (self->items, 0);
      g_ptr_array_set_size (self->items, n);
      if (self->n_exposed > 0)
        g_list_model_items_changed (G_LIST_MODEL (self), 0, self->n_exposed, self->n_exposed);
    }
}

void
lk_import_preview_clear (LkImportPreview *self)
{
  g_return_if_fail (LK_IS_IMPORT_PREVIEW (self));
  lk_import_preview_set_rows (self, NULL, NULL);
}

gboolean
lk_import_preview_get_loading (LkImportPreview *self)
{
  g_return_val_if_fail (LK_IS_IMPORT_PREVIEW (self), FALSE);
  return self->expose_source != 0;
}

GPtrArray *
lk_import_preview_get_rows (LkImportPreview *self)
{
  g_return_val_if_fail (LK_IS_IMPORT_PREVIEW (self), NULL);
  return self->rows;
}

guint
lk_import_preview_get_n_error_rows (LkImportPreview *self)
{
  g_return_val_if_fail (LK_IS_IMPORT_PREVIEW (self), 0);
  return self->n_errors;
}

guint
lk_import_preview_get_n_warning_rows (LkImportPreview *self)
{
  g_return_val_if_fail (LK_IS_IMPORT_PREVIEW (self), 0);
  return self->n_warnings;
}

const char *
lk_import_preview_get_general_problems (LkImportPreview *self)
{
  g_return_val_if_fail (LK_IS_IMPORT_PREVIEW (self), NULL);
  return self->general->len > 0 ? self->general->str : NULL;
}
