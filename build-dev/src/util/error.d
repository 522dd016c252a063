build-dev/src/util/error.o: src/util/error.c src/util/error.h \
 include/llmsyn/llmsyn.h
src/util/error.h:
include/llmsyn/llmsyn.h:
