"""The Faust stream worker: validate readings, score them, reject bad input to the dead-letter topic.

`IMPLEMENTATION` says what this process runs of the stream processor's per-reading modules: "compiled" (the
mypyc extensions `make install` builds, streams/native.py) or "python" (their sources).
"""

from streams import native

IMPLEMENTATION = native.PROCESSOR.choose()
