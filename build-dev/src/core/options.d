build-dev/src/core/options.o: src/core/options.c include/llmsyn/llmsyn.h
include/llmsyn/llmsyn.h:
