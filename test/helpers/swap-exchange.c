// The adversary of the bind-race test: swap two paths with renameat2(RENAME_EXCHANGE), as fast as
// it can, while a flag file exists. Each exchange is atomic, so both paths always exist: one is
// the real directory, the other the symlink, and a lookup sees one or the other, never neither.
// Usage: swap-exchange A B FLAG. It stops with A and B as they were when it started.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc != 4) return 2;
  unsigned long n = 0;
  while (access(argv[3], F_OK) == 0) {
    if (renameat2(AT_FDCWD, argv[1], AT_FDCWD, argv[2], RENAME_EXCHANGE) != 0) {
      perror("renameat2");
      return 1;
    }
    n++;
  }
  if (n % 2 == 1 && renameat2(AT_FDCWD, argv[1], AT_FDCWD, argv[2], RENAME_EXCHANGE) != 0) return 1;
  printf("%lu\n", n + n % 2);
  return 0;
}
