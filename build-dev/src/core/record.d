build-dev/src/core/record.o: src/core/record.c src/core/record.h
src/core/record.h:
