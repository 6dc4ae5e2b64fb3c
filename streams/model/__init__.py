"""The online failure model: per-device features, a calibrated unsupervised score, a supervised model
taught by delayed labels, a federated fleet prior, drift handling and a versioned persistence envelope.
Framework-free: the Faust worker holds one `DeviceModel` per device and calls `update`."""
