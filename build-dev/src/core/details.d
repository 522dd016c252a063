build-dev/src/core/details.o: src/core/details.c src/core/pipeline.h \
 src/core/record.h src/core/steps.h src/fhir/bundle.h src/util/error.h \
 include/llmsyn/llmsyn.h src/knowledge/kb.h src/llm/backend.h \
 src/prior/prior.h src/util/rng.h src/util/buf.h src/out/sink.h \
 src/prompt/prompt.h src/util/date.h
src/core/pipeline.h:
src/core/record.h:
src/core/steps.h:
src/fhir/bundle.h:
src/util/error.h:
include/llmsyn/llmsyn.h:
src/knowledge/kb.h:
src/llm/backend.h:
src/prior/prior.h:
src/util/rng.h:
src/util/buf.h:
src/out/sink.h:
src/prompt/prompt.h:
src/util/date.h:
