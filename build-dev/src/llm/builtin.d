build-dev/src/llm/builtin.o: src/llm/builtin.c src/llm/backend.h \
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
