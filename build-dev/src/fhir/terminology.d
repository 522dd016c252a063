build-dev/src/fhir/terminology.o: src/fhir/terminology.c \
 src/fhir/terminology.h
src/fhir/terminology.h:
