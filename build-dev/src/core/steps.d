build-dev/src/core/steps.o: src/core/steps.c src/core/steps.h \
 src/core/record.h
src/core/steps.h:
src/core/record.h:
