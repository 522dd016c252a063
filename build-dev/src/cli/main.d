build-dev/src/cli/main.o: src/cli/main.c src/cli/cli.h \
 include/llmsyn/llmsyn.h
src/cli/cli.h:
include/llmsyn/llmsyn.h:
