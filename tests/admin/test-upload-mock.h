/* test-upload-mock.h: a small in-process libsoup server that speaks the import contract
 *
 * It stands in for lingka-server where a test needs to misbehave on purpose: corrupt the
 * echo, answer 500, drop the connection. It really parses the frame (lk_import_frame_parse),
 * validates the rows, keeps batches and applies a committed batch to its "students".
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <libsoup/soup.h>

G_BEGIN_DECLS

#define MOCK_USER "teacher"
#define MOCK_PASSWORD "correct-horse-9"
#define MOCK_TOKEN "mock-token-0123456789"

typedef struct
{
  SoupServer *server;
  char       *base_url;

  /* misbehaviour, consumed one per frame */
  guint       corrupt_echo;      /* echo a changed row, with the checksum of the sent rows */
  guint       corrupt_checksum;  /* echo the rows, with a wrong checksum */
  guint       fail_500;          /* answer 500 */
  guint       drop_connection;   /* close the connection without an answer */
  guint       fail_commit_500;   /* answer the commit with 500 */
  gboolean    reject_all;        /* answer 401 to everything but the login */

  /* what happened */
  guint       frames;
  guint       commits;
  guint       logins;
  GPtrArray  *batches;           /* GPtrArray of LkImportRow, by batch id - 1 */
  GHashTable *students;          /* student_no → LkImportRow (copies) */
  char       *last_authorization;
} MockServer;

MockServer *mock_server_new  (void);
void        mock_server_free (MockServer *mock);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MockServer, mock_server_free)

G_END_DECLS
