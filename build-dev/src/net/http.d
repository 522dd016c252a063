build-dev/src/net/http.o: src/net/http.c src/net/http.h src/util/buf.h \
 src/util/error.h include/llmsyn/llmsyn.h
src/net/http.h:
src/util/buf.h:
src/util/error.h:
include/llmsyn/llmsyn.h:
