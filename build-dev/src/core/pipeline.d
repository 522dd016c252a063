build-dev/src/core/pipeline.o: src/core/pipeline.c src/core/pipeline.h \
 src/core/record.h src/codes/dict.h src/util/error.h \
 include/llmsyn/llmsyn.h src/core/steps.h src/fhir/bundle.h \
 src/knowledge/connect.h src/knowledge/medlineplus.h src/knowledge/kb.h \
 src/knowledge/retrieve.h src/util/buf.h src/llm/backend.h \
 src/prior/prior.h src/util/rng.h src/out/sink.h src/prompt/prompt.h \
 src/extract/extract.h
src/core/pipeline.h:
src/core/record.h:
src/codes/dict.h:
src/util/error.h:
include/llmsyn/llmsyn.h:
src/core/steps.h:
src/fhir/bundle.h:
src/knowledge/connect.h:
src/knowledge/medlineplus.h:
src/knowledge/kb.h:
src/knowledge/retrieve.h:
src/util/buf.h:
src/llm/backend.h:
src/prior/prior.h:
src/util/rng.h:
src/out/sink.h:
src/prompt/prompt.h:
src/extract/extract.h:
