build-dev/src/fhir/bundle.o: src/fhir/bundle.c src/fhir/bundle.h \
 src/core/record.h src/util/error.h include/llmsyn/llmsyn.h \
 src/fhir/terminology.h src/util/date.h
src/fhir/bundle.h:
src/core/record.h:
src/util/error.h:
include/llmsyn/llmsyn.h:
src/fhir/terminology.h:
src/util/date.h:
