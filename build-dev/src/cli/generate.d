build-dev/src/cli/generate.o: src/cli/generate.c src/cli/cli.h \
 include/llmsyn/llmsyn.h
src/cli/cli.h:
include/llmsyn/llmsyn.h:
