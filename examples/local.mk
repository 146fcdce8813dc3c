# examples/: rules for this part (see the top-level Makefile.am).
