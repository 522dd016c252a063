build-dev/src/out/fsutil.o: src/out/fsutil.c src/out/sink_internal.h \
 src/out/sink.h src/core/record.h include/llmsyn/llmsyn.h src/util/buf.h \
 src/util/error.h
src/out/sink_internal.h:
src/out/sink.h:
src/core/record.h:
include/llmsyn/llmsyn.h:
src/util/buf.h:
src/util/error.h:
