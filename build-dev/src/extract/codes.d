build-dev/src/extract/codes.o: src/extract/codes.c src/extract/extract.h \
 src/core/record.h src/core/steps.h src/util/error.h \
 include/llmsyn/llmsyn.h src/codes/dict.h
src/extract/extract.h:
src/core/record.h:
src/core/steps.h:
src/util/error.h:
include/llmsyn/llmsyn.h:
src/codes/dict.h:
