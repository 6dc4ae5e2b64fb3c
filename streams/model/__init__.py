"""The online failure model: per-device features, a calibrated unsupervised score, a supervised model
taught by delayed labels, a federated fleet prior, drift handling and a versioned persistence envelope.
Framework-free: the Faust worker holds one `DeviceModel` per device and calls `update`.

`IMPLEMENTATION` says what this process runs: "compiled" (the mypyc extensions `make install` builds) or
"python" (their sources: nothing built, `FLEETPULSE_MODEL_PURE=1`, or a build older than its sources).
"""

from streams.model import native

IMPLEMENTATION = native.choose()
