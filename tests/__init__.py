import os

# pytest-xdist's workers start with COLUMNS=80 and LINES=24 in their environment. rich (harken.terminal)
# takes a COLUMNS found when it is first imported as the width for good, and the CLI tests' own
# COLUMNS=200 would then not count: what the tests see must not depend on how they were started.
for _name in ("COLUMNS", "LINES"):
    os.environ.pop(_name, None)
