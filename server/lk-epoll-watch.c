/* lk-epoll-watch.c: many sockets watched through one epoll descriptor per main context
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "lingka-epoll"

#include "config.h"

#include <errno.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "lk-epoll-watch.h"

#define EVENTS_PER_DISPATCH 64

typedef struct
{
  GSource       source;
  GMainContext *context;       /* not a reference: the key in sources */
  int           epfd;
  guint         n_watches;     /* under sources_lock */
  gboolean      dispatching;
  GSList       *dead;          /* watches freed while dispatching, to free after */
} EpollSource;

struct _LkEpollWatch
{
  EpollSource *source;         /* a reference */
  int          fd;
  LkEpollFunc  func;
  gpointer     user_data;
  gboolean     dead;
};

/* GMainContext → its EpollSource, while that has watches. */
static GMutex sources_lock;
static GHashTable *sources;

static gboolean
epoll_source_dispatch (GSource     *source,
                       GSourceFunc  callback,
                       gpointer     user_data)
{
  EpollSource *es = (EpollSource *) source;
  struct epoll_event events[EVENTS_PER_DISPATCH];
  int n;

  n = epoll_wait (es->epfd, events, G_N_ELEMENTS (events), 0);
  if (n < 0 && errno != EINTR)
    g_warning ("epoll_wait: %s", g_strerror (errno));

  /* A callback may free any watch, its own or one whose event is further down the list, and
   * with the last watch the source itself: those are only marked here, and freed below. */
  g_source_ref (source);
  es->dispatching = TRUE;
  for (int i = 0; i < n; i++)
    {
      LkEpollWatch *watch = events[i].data.ptr;

      if (!watch->dead)
        watch->func (watch->user_data);
    }
  es->dispatching = FALSE;
  while (es->dead != NULL)
    {
      LkEpollWatch *watch = es->dead->data;

      es->dead = g_slist_delete_link (es->dead, es->dead);
      g_source_unref ((GSource *) watch->source);
      g_free (watch);
    }
  g_source_unref (source);
  return G_SOURCE_CONTINUE;
}

static void
epoll_source_finalize (GSource *source)
{
  EpollSource *es = (EpollSource *) source;

  close (es->epfd);
}

static GSourceFuncs epoll_source_funcs = {
  NULL, NULL, epoll_source_dispatch, epoll_source_finalize, NULL, NULL
};

/* Called with sources_lock held. */
static EpollSource *
epoll_source_new_locked (GMainContext *context)
{
  EpollSource *es;
  int epfd = epoll_create1 (EPOLL_CLOEXEC);

  if (epfd < 0)
    {
      g_warning ("epoll_create1: %s", g_strerror (errno));
      return NULL;
    }
  es = (EpollSource *) g_source_new (&epoll_source_funcs, sizeof (EpollSource));
  es->context = context;
  es->epfd = epfd;
  g_source_add_unix_fd ((GSource *) es, epfd, G_IO_IN);
  /* Nothing here runs a context recursively; an unblocked source spares GLib two eventfd
   * writes per dispatch (docs/server.md). */
  g_source_set_can_recurse ((GSource *) es, TRUE);
  g_source_set_static_name ((GSource *) es, "[lingka] epoll");
  g_source_attach ((GSource *) es, context);
  return es;
}

LkEpollWatch *
lk_epoll_watch_new (int          fd,
                    LkEpollFunc  func,
                    gpointer     user_data)
{
  GMainContext *context = g_main_context_get_thread_default ();
  LkEpollWatch *watch;
  EpollSource *es;
  struct epoll_event event = { 0 };

  g_return_val_if_fail (fd >= 0, NULL);
  g_return_val_if_fail (func != NULL, NULL);

  if (context == NULL)
    context = g_main_context_default ();

  g_mutex_lock (&sources_lock);
  if (sources == NULL)
    sources = g_hash_table_new (NULL, NULL);
  es = g_hash_table_lookup (sources, context);
  /* A destroyed one belonged to a context that is gone; this is a new one at its address. */
  if (es == NULL || g_source_is_destroyed ((GSource *) es))
    {
      es = epoll_source_new_locked (context);
      if (es == NULL)
        {
          g_mutex_unlock (&sources_lock);
          return NULL;
        }
      g_hash_table_insert (sources, context, es);
    }
  else
    g_source_ref ((GSource *) es);
  es->n_watches++;
  g_mutex_unlock (&sources_lock);

  watch = g_new0 (LkEpollWatch, 1);
  watch->source = es;          /* the reference taken (or made) above */
  watch->fd = fd;
  watch->func = func;
  watch->user_data = user_data;

  event.events = EPOLLIN;
  event.data.ptr = watch;
  if (epoll_ctl (es->epfd, EPOLL_CTL_ADD, fd, &event) < 0)
    {
      /* Out of kernel memory or over max_user_watches: the caller watches the fd itself. */
      g_warning ("epoll_ctl (ADD, %d): %s", fd, g_strerror (errno));
      lk_epoll_watch_free (watch);
      return NULL;
    }
  return watch;
}

void
lk_epoll_watch_free (LkEpollWatch *watch)
{
  EpollSource *es;

  if (watch == NULL)
    return;
  es = watch->source;
  g_return_if_fail (!watch->dead);

  /* ENOENT or EBADF would mean the descriptor was closed first; nothing is left to remove. */
  epoll_ctl (es->epfd, EPOLL_CTL_DEL, watch->fd, NULL);

  g_mutex_lock (&sources_lock);
  if (--es->n_watches == 0)
    {
      if (g_hash_table_lookup (sources, es->context) == es)
        g_hash_table_remove (sources, es->context);
      g_source_destroy ((GSource *) es);
    }
  g_mutex_unlock (&sources_lock);

  watch->dead = TRUE;
  if (es->dispatching)
    es->dead = g_slist_prepend (es->dead, watch);
  else
    {
      g_source_unref ((GSource *) es);
      g_free (watch);
    }
}

guint
lk_epoll_watch_n_sources (void)
{
  guint n;

  g_mutex_lock (&sources_lock);
  n = sources != NULL ? g_hash_table_size (sources) : 0;
  g_mutex_unlock (&sources_lock);
  return n;
}
