build-dev/src/llm/backend.o: src/llm/backend.c src/llm/backend.h \
 src/core/record.h src/core/steps.h src/knowledge/kb.h src/util/error.h \
 include/llmsyn/llmsyn.h src/prior/prior.h src/util/rng.h src/util/buf.h
src/llm/backend.h:
src/core/record.h:
src/core/steps.h:
src/knowledge/kb.h:
src/util/error.h:
include/llmsyn/llmsyn.h:
src/prior/prior.h:
src/util/rng.h:
src/util/buf.h:
