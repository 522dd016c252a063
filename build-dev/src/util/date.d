build-dev/src/util/date.o: src/util/date.c src/util/date.h
src/util/date.h:
