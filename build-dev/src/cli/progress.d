build-dev/src/cli/progress.o: src/cli/progress.c src/cli/cli.h \
 include/llmsyn/llmsyn.h
src/cli/cli.h:
include/llmsyn/llmsyn.h:
