# cometchat_webhooks, built with PGXS.  PG_CONFIG=/path/to/pg_config make
EXTENSION = cometchat_webhooks
EXTVERSION = 1.5

MODULE_big = $(EXTENSION)
OBJS = $(patsubst %.c,%.o,$(wildcard src/*.c))

# The install script is written once, by hand, and copied to its versioned
# name at build time; upgrade scripts (name--A--B.sql) live beside it.
DATA_built = $(EXTENSION)--$(EXTVERSION).sql
DATA = $(wildcard src/sql/$(EXTENSION)--*.sql)

PG_CPPFLAGS = -I$(srcdir)/src
PG_CFLAGS = -Wall -Wextra -Werror -Wno-unused-parameter -Wno-sign-compare -Wno-missing-field-initializers

# pg_regress: sql/NAME.sql against expected/NAME.out, in file-name order.
REGRESS = $(sort $(patsubst sql/%.sql,%,$(wildcard sql/*.sql)))
REGRESS_OPTS = --load-extension=$(EXTENSION)

# Isolation specs: test/isolation/specs/NAME.spec against test/isolation/expected/NAME.out.
ISOLATION = $(sort $(patsubst test/isolation/specs/%.spec,%,$(wildcard test/isolation/specs/*.spec)))
ISOLATION_OPTS = --inputdir=test/isolation --outputdir=output_iso --load-extension=$(EXTENSION)

EXTRA_CLEAN = output_iso results regression.diffs regression.out

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# Every object depends on the shared headers (PGXS tracks no dependencies
# here); after the include, so that the default goal stays PGXS's all.
$(OBJS): $(wildcard src/*.h)

$(EXTENSION)--$(EXTVERSION).sql: src/sql/$(EXTENSION).sql
	cp $< $@

.PHONY: test demo
test:
	test/run
demo:
	demo/run
