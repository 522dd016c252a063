build-dev/src/fhir/ids.o: src/fhir/ids.c src/fhir/bundle.h \
 src/core/record.h src/util/error.h include/llmsyn/llmsyn.h
src/fhir/bundle.h:
src/core/record.h:
src/util/error.h:
include/llmsyn/llmsyn.h:
