build-dev/src/cli/validate.o: src/cli/validate.c src/cli/cli.h \
 include/llmsyn/llmsyn.h src/fhir/check.h src/util/error.h
src/cli/cli.h:
include/llmsyn/llmsyn.h:
src/fhir/check.h:
src/util/error.h:
