build-dev/src/fhir/check.o: src/fhir/check.c src/fhir/check.h \
 src/util/error.h include/llmsyn/llmsyn.h src/util/buf.h
src/fhir/check.h:
src/util/error.h:
include/llmsyn/llmsyn.h:
src/util/buf.h:
