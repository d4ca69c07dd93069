// errfs: a tiny libfuse3 filesystem for the live tests. It answers a chosen errno for statfs or
// for every lookup, so the tests see each probe outcome on a real FUSE connection:
//   errfs <errno-number> <statfs|lookup> <mountpoint>    (runs in the foreground)
// With errno 0 it is healthy: statfs succeeds and every name is ENOENT.
#define FUSE_USE_VERSION 31
#include <errno.h>
#include <fuse.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int answer;       // the errno to answer, 0 for none
static int on_statfs;    // 1: statfs fails; 0: lookups fail

static int e_getattr(const char *path, struct stat *st, struct fuse_file_info *fi) {
  (void)fi;
  memset(st, 0, sizeof *st);
  if (strcmp(path, "/") == 0) {
    st->st_mode = S_IFDIR | 0755;
    st->st_nlink = 2;
    return 0;
  }
  return on_statfs || answer == 0 ? -ENOENT : -answer;
}

static int e_statfs(const char *path, struct statvfs *s) {
  (void)path;
  if (on_statfs && answer != 0) return -answer;
  memset(s, 0, sizeof *s);
  s->f_bsize = 4096;
  s->f_namemax = 255;
  return 0;
}

static int e_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off, struct fuse_file_info *fi,
                     enum fuse_readdir_flags flags) {
  (void)path;
  (void)off;
  (void)fi;
  (void)flags;
  fill(buf, ".", NULL, 0, 0);
  fill(buf, "..", NULL, 0, 0);
  return 0;
}

static const struct fuse_operations ops = {
    .getattr = e_getattr,
    .statfs = e_statfs,
    .readdir = e_readdir,
};

int main(int argc, char **argv) {
  if (argc != 4) return 2;
  answer = atoi(argv[1]);
  on_statfs = strcmp(argv[2], "statfs") == 0;
  char *fargv[] = {argv[0], argv[3], "-f", "-s", "-o", "fsname=errfs,subtype=errfs", NULL};
  return fuse_main(6, fargv, &ops, NULL);
}
