build-dev/src/cli/messages.o: src/cli/messages.c src/cli/cli.h \
 include/llmsyn/llmsyn.h
src/cli/cli.h:
include/llmsyn/llmsyn.h:
