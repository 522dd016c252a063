build-dev/src/out/fsutil.o: src/out/fsutil.c src/out/sink_internal.h \
 src/util/error.h include/llmsyn/llmsyn.h src/out/sink.h \
 src/core/record.h src/util/buf.h
src/out/sink_internal.h:
src/util/error.h:
include/llmsyn/llmsyn.h:
src/out/sink.h:
src/core/record.h:
src/util/buf.h:
