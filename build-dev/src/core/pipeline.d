build-dev/src/core/pipeline.o: src/core/pipeline.c src/core/pipeline.h \
 src/core/record.h src/core/steps.h src/fhir/bundle.h src/util/error.h \
 include/llmsyn/llmsyn.h src/knowledge/kb.h src/llm/backend.h \
 src/prior/prior.h src/util/rng.h src/util/buf.h src/out/sink.h \
 src/prompt/prompt.h src/extract/extract.h
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
src/extract/extract.h:
