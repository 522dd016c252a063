build-dev/src/llm/openai.o: src/llm/openai.c src/llm/backend.h \
 src/core/record.h src/core/steps.h src/knowledge/kb.h src/util/error.h \
 include/llmsyn/llmsyn.h src/prior/prior.h src/util/rng.h src/util/buf.h \
 src/net/http.h
src/llm/backend.h:
src/core/record.h:
src/core/steps.h:
src/knowledge/kb.h:
src/util/error.h:
include/llmsyn/llmsyn.h:
src/prior/prior.h:
src/util/rng.h:
src/util/buf.h:
src/net/http.h:
