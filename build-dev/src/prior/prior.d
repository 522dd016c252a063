build-dev/src/prior/prior.o: src/prior/prior.c src/prior/prior.h \
 src/util/error.h include/llmsyn/llmsyn.h src/util/rng.h src/util/buf.h
src/prior/prior.h:
src/util/error.h:
include/llmsyn/llmsyn.h:
src/util/rng.h:
src/util/buf.h:
