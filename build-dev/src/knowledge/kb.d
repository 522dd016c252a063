build-dev/src/knowledge/kb.o: src/knowledge/kb.c src/knowledge/kb.h \
 src/util/error.h include/llmsyn/llmsyn.h src/util/buf.h
src/knowledge/kb.h:
src/util/error.h:
include/llmsyn/llmsyn.h:
src/util/buf.h:
