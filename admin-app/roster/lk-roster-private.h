/* lk-roster-private.h: what the roster reader's formats share, and what tests reach
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "lk-roster-reader.h"

G_BEGIN_DECLS

typedef enum
{
  LK_ROW_CONTINUE,
  LK_ROW_NEXT_SHEET,   /* this sheet is not the roster: stop reading it */
  LK_ROW_ERROR,
} LkRowResult;

/* Matches the header and turns the following rows of cell texts into LkImportRow. */
typedef struct _LkRosterBuilder LkRosterBuilder;

LkRosterBuilder *lk_roster_builder_new             (GCancellable         *cancellable,
                                                    LkRosterProgressFunc  progress,
                                                    gpointer              progress_data);
void             lk_roster_builder_free            (LkRosterBuilder      *self);
GCancellable    *lk_roster_builder_get_cancellable (LkRosterBuilder      *self);
void             lk_roster_builder_begin_sheet     (LkRosterBuilder      *self,
                                                    const char           *sheet_name);
gboolean         lk_roster_builder_has_header      (LkRosterBuilder      *self);
/* @cells: char * (or NULL for an empty cell) indexed by 0-based column. */
LkRowResult      lk_roster_builder_add_row         (LkRosterBuilder      *self,
                                                    guint                 sheet_row,
                                                    GPtrArray            *cells,
                                                    GError              **error);
void             lk_roster_builder_report_progress (LkRosterBuilder      *self,
                                                    double                fraction);

/* "2023001", "1.0E+5", "2.5E-1" → "2023001", "100000", "0.25": a stored number as the
 * decimal text a person typed. Text that is not a number is returned unchanged. */
char            *lk_roster_format_number           (const char           *text);

G_END_DECLS
