build-dev/src/extract/extract.o: src/extract/extract.c \
 src/extract/extract.h src/core/record.h src/core/steps.h \
 src/util/error.h include/llmsyn/llmsyn.h
src/extract/extract.h:
src/core/record.h:
src/core/steps.h:
src/util/error.h:
include/llmsyn/llmsyn.h:
