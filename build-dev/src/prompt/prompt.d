build-dev/src/prompt/prompt.o: src/prompt/prompt.c src/prompt/prompt.h \
 src/core/record.h src/core/steps.h src/knowledge/kb.h src/util/error.h \
 include/llmsyn/llmsyn.h src/prior/prior.h src/util/rng.h src/util/buf.h
src/prompt/prompt.h:
src/core/record.h:
src/core/steps.h:
src/knowledge/kb.h:
src/util/error.h:
include/llmsyn/llmsyn.h:
src/prior/prior.h:
src/util/rng.h:
src/util/buf.h:
